// Split runs over TCP on loopback: every split point with fp32 weights and the lossless fp32 wire gives the
// unsplit greedy tokens, for 1 and 3 concurrent clients (batched on the server); the framing counts the bytes
// the simulator counts; a killed client or a corrupt frame closes only its own session.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <thread>

#include "core/formats/frame.hpp"
#include "executor/generate.hpp"
#include "executor/local_run.hpp"
#include "exec_test_util.hpp"
#include "core/formats/wire_block.hpp"

using namespace splitsim;

using test::Halves;
using test::split_weights;

TEST_CASE("split at every S with a lossless wire equals the unsplit model, 1 and 3 clients", "[split][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  const ModelWeights& whole = rm->weights;
  const std::vector<int32_t> prompt = rm->tokenizer->encode("Once upon a time");
  const int64_t steps = 12;
  SamplingConfig greedy{0.0, 0.9, 5};
  const auto want = generate_unsplit(whole, prompt, steps, greedy);
  REQUIRE(want.size() == static_cast<size_t>(steps));
  test::check_every_split(whole, 32, prompt, steps, greedy, want, [&](const LocalRunResult& r, int64_t) {
      for (const auto& e : r.requests) {
        // Bytes on the wire: one prompt block + one block per further token up, one token frame per token down.
        const double up = static_cast<double>(kFrameHeaderBytes + encoded_size_dense(WireCodec::fp32, static_cast<int64_t>(prompt.size()), whole.spec.dim)) +
                          static_cast<double>(steps - 1) * static_cast<double>(kFrameHeaderBytes + encoded_size_dense(WireCodec::fp32, 1, whole.spec.dim));
        CHECK(e.record.bytes_up == up);
        CHECK(e.record.bytes_down == static_cast<double>(steps * (kFrameHeaderBytes + kTokenPayloadBytes)));
        CHECK(e.steps.size() == static_cast<size_t>(steps));
        CHECK(e.record.output_tokens == steps);
        CHECK(e.record.ttft > 0);
        CHECK(e.record.e2e >= e.record.ttft);
      }
  });
}

TEST_CASE("split generation with temperature sampling follows the unsplit sampler", "[split][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  SamplingConfig hot{0.8, 0.9, 1234};
  const std::vector<int32_t> prompt{kBosToken};
  auto want = generate_unsplit(rm->weights, prompt, 10, hot);
  Halves h = split_weights(rm->weights, 3);
  EdgeOptions o;
  o.split = 3;
  o.steps = 10;
  o.sampling = hot;
  auto r = run_local_split(h.edge, h.server, o, ServerOptions{}, 1, 1, prompt);
  CHECK(r.requests[0].tokens == want);
}

namespace {

// A client that speaks the protocol by hand: hello, then whatever the test wants.
Socket hello_client(int port, const ModelWeights& w, int64_t split, int64_t context) {
  Socket s = connect_tcp("127.0.0.1", port);
  std::string hello = nlohmann::json{{"fingerprint", w.fingerprint}, {"split", split}, {"context", context}}.dump();
  write_frame(s, {FrameType::hello, 0, std::vector<uint8_t>(hello.begin(), hello.end())});
  Frame f;
  REQUIRE(read_frame(s, f));
  REQUIRE(f.type == FrameType::hello_ack);
  return s;
}

}  // namespace

TEST_CASE("a killed client or a corrupt frame closes only its own session", "[split][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  const int64_t S = 2, steps = 10;
  Halves h = split_weights(rm->weights, S);
  SplitServer server(h.server, S, ServerOptions{});
  server.start();
  const std::vector<int32_t> prompt{kBosToken};
  const auto want = generate_unsplit(rm->weights, prompt, steps, SamplingConfig{});

  // 1. A client that sends a prompt block and disappears before its token.
  {
    Socket s = hello_client(server.port(), h.edge, S, 16);
    Eigen::MatrixXf x = Eigen::MatrixXf::Ones(rm->weights.spec.dim, 1);
    std::vector<uint8_t> wire;
    wire_encode(x, CodecSpec{WireCodec::fp32}, wire);
    write_frame(s, {FrameType::hidden, 0, wire});
    s.close();
  }
  // 2. Garbage instead of a frame header.
  {
    Socket s = hello_client(server.port(), h.edge, S, 16);
    uint8_t junk[16] = {'G', 'A', 'R', 'B', 'A', 'G', 'E', 0, 1, 2, 3, 4, 5, 6, 7, 8};
    s.write_all(junk, sizeof(junk));
    Frame f;
    REQUIRE(read_frame(s, f));
    CHECK(f.type == FrameType::error);
    CHECK(std::string(f.payload.begin(), f.payload.end()).find("magic") != std::string::npos);
    CHECK_FALSE(read_frame(s, f));  // closed
  }
  // 3. A valid frame carrying a corrupt wire block, and a hidden frame before any hello.
  {
    Socket s = hello_client(server.port(), h.edge, S, 16);
    std::vector<uint8_t> bad(40, 0x5a);
    write_frame(s, {FrameType::hidden, 0, bad});
    Frame f;
    REQUIRE(read_frame(s, f));
    CHECK(f.type == FrameType::error);
    CHECK(std::string(f.payload.begin(), f.payload.end()).find("wire block") != std::string::npos);
    Socket t = connect_tcp("127.0.0.1", server.port());
    write_frame(t, {FrameType::hidden, 0, bad});
    REQUIRE(read_frame(t, f));
    CHECK(f.type == FrameType::error);
  }
  // 4. Wrong weights are refused at hello.
  {
    Socket s = connect_tcp("127.0.0.1", server.port());
    std::string hello = nlohmann::json{{"fingerprint", "not-these"}, {"split", S}, {"context", 8}}.dump();
    write_frame(s, {FrameType::hello, 0, std::vector<uint8_t>(hello.begin(), hello.end())});
    Frame f;
    REQUIRE(read_frame(s, f));
    CHECK(f.type == FrameType::error);
  }
  // Meanwhile and afterwards, real clients are served correctly.
  std::vector<std::vector<int32_t>> got(2);
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c)
    clients.emplace_back([&, c] {
      EdgeOptions o;
      o.split = S;
      o.steps = steps;
      o.port = server.port();
      got[static_cast<size_t>(c)] = run_edge_request(h.edge, o, prompt, c, c, now_s()).tokens;
    });
  for (auto& t : clients) t.join();
  for (const auto& g : got) CHECK(g == want);
  server.stop();
  auto totals = server.totals();
  CHECK(totals.sessions_completed == 2);
  // killed, garbage header, corrupt wire block, hidden before hello, wrong weights
  CHECK(totals.sessions_failed == 5);
  auto errors = server.session_errors();
  CHECK(errors.size() == 5);
  auto mentions = [&](const char* what) {
    return std::any_of(errors.begin(), errors.end(), [&](const std::string& e) { return e.find(what) != std::string::npos; });
  };
  CHECK(mentions("client connection lost"));
  CHECK(mentions("magic"));
  CHECK(mentions("wire block"));
  CHECK(mentions("weights"));
}
