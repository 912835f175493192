// One client cannot take the split server down for the others: while a hostile client sends every bad
// setting, oversized headers, NaN hidden states, slow and idle traffic, two well-behaved clients finish with
// the unsplit model's text (greedy and sampled), the hostile sessions end with error frames, and what the
// server keeps of them is cut. An idle session that finished its handshake is not waited for by batches.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "core/formats/frame.hpp"
#include "exec_test_util.hpp"
#include "executor/generate.hpp"
#include "executor/local_run.hpp"

using namespace splitsim;

namespace {

using test::Halves;

void send_raw(Socket& s, FrameType t, const std::string& payload) {
  write_frame(s, {t, 0, std::vector<uint8_t>(payload.begin(), payload.end())});
}

// The hello a real edge sends, as JSON text with `extra` fields replacing or adding to it.
std::string hello_text(const ModelWeights& w, int64_t split, const std::string& extra = "") {
  std::string j = nlohmann::json{{"fingerprint", w.fingerprint}, {"split", split}, {"context", 32}}.dump();
  if (!extra.empty()) j = j.substr(0, j.size() - 1) + "," + extra + "}";
  return j;
}

// Reads the next frame; the error text when it is an error frame, "" otherwise (and "closed" at end of stream).
std::string answer(Socket& s, FrameType* type = nullptr) {
  Frame f;
  if (!read_frame(s, f)) return "closed";
  if (type) *type = f.type;
  return f.type == FrameType::error ? std::string(f.payload.begin(), f.payload.end()) : "";
}

Socket handshaken(int port, const ModelWeights& w, int64_t split, const std::string& extra = "") {
  Socket s = connect_tcp("127.0.0.1", port);
  send_raw(s, FrameType::hello, hello_text(w, split, extra));
  FrameType t{};
  REQUIRE(answer(s, &t).empty());
  REQUIRE(t == FrameType::hello_ack);
  return s;
}

std::vector<uint8_t> block_of(const Eigen::MatrixXf& x) {
  std::vector<uint8_t> wire;
  wire_encode(x, CodecSpec{WireCodec::fp32}, wire);
  return wire;
}

}  // namespace

TEST_CASE("server: a hostile client cannot stop two well-behaved clients from finishing", "[server][hostile][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  const int64_t S = 2, steps = 24;
  const ModelWeights& whole = rm->weights;
  const int64_t d = whole.spec.dim;
  Halves h = test::split_weights(whole, S);
  ServerOptions so;
  so.batch_window = 2e-3;
  SplitServer server(h.server, S, so);
  server.start();
  const int port = server.port();
  const std::vector<int32_t> prompt = rm->tokenizer->encode("Once upon a time");
  const SamplingConfig greedy{0.0, 0.9, 3}, hot{1.2, 0.95, 77};
  const auto want_greedy = generate_unsplit(whole, prompt, steps, greedy);
  const auto want_hot = generate_unsplit(whole, prompt, steps, hot);

  // Sessions that stay open, idle or half-sent, while the good clients run.
  std::vector<Socket> held;
  held.push_back(connect_tcp("127.0.0.1", port));  // connected, never says hello
  held.push_back(handshaken(port, h.edge, S));     // handshaken, then silent
  {
    Socket s = handshaken(port, h.edge, S);  // a hidden header declaring its whole limit, then a few bytes
    uint8_t hdr[kFrameHeaderBytes];
    write_frame_header({FrameType::hidden, 0, static_cast<uint32_t>(max_block_bytes(32, d))}, hdr);
    s.write_all(hdr, sizeof(hdr));
    const uint8_t some[100] = {};
    s.write_all(some, sizeof(some));
    held.push_back(std::move(s));
  }

  std::vector<std::string> refusals;  // what the hostile client was told, in order
  std::thread hostile([&] {
    // Each bad setting in the hello: refused with an error frame, that session only.
    for (const std::string& extra :
         {std::string("\"temperature\":1e999"), std::string("\"temperature\":-1"),
          std::string("\"temperature\":\"hot\""), std::string("\"top_p\":-1e999"), std::string("\"top_p\":null"),
          std::string("\"seed\":-5"), std::string("\"context\":1e300"), std::string("\"context\":0"),
          std::string("\"context\":99999999999"), std::string("\"split\":2.5"),
          std::string("\"split\":18446744073709551615")}) {
      Socket s = connect_tcp("127.0.0.1", port);
      send_raw(s, FrameType::hello, hello_text(h.edge, S, extra));
      refusals.push_back(extra + " -> " + answer(s));
    }
    // A fingerprint of 10 KiB (echoed cut), then hellos that are not JSON objects.
    {
      Socket s = connect_tcp("127.0.0.1", port);
      send_raw(s, FrameType::hello,
               nlohmann::json{{"fingerprint", std::string(10 << 10, 'f')}, {"split", S}, {"context", 8}}.dump());
      refusals.push_back("long fingerprint -> " + answer(s));
    }
    for (const std::string& junk : {std::string("[1,2]"), std::string("{\"fingerprint\":"), std::string("\xff\xfe")}) {
      Socket s = connect_tcp("127.0.0.1", port);
      send_raw(s, FrameType::hello, junk);
      refusals.push_back("junk hello -> " + answer(s));
    }
    // A hello header declaring 200 MB: refused at the header, before any payload.
    {
      Socket s = connect_tcp("127.0.0.1", port);
      uint8_t hdr[kFrameHeaderBytes];
      write_frame_header({FrameType::hello, 0, 200u << 20}, hdr);
      s.write_all(hdr, sizeof(hdr));
      refusals.push_back("huge hello -> " + answer(s));
    }
    // After the hello: a hidden header above the session's limit, an end frame with a payload.
    {
      Socket s = handshaken(port, h.edge, S);
      uint8_t hdr[kFrameHeaderBytes];
      write_frame_header({FrameType::hidden, 0, static_cast<uint32_t>(max_block_bytes(32, d) + 1)}, hdr);
      s.write_all(hdr, sizeof(hdr));
      refusals.push_back("oversized hidden -> " + answer(s));
    }
    {
      Socket s = handshaken(port, h.edge, S);
      send_raw(s, FrameType::end, "x");
      refusals.push_back("end with payload -> " + answer(s));
    }
    // Hidden states of NaN and of +inf with a sampling temperature: logits no token comes from.
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      Socket s = handshaken(port, h.edge, S, "\"temperature\":0.8,\"top_p\":0.9");
      write_frame(s, {FrameType::hidden, 0, block_of(Eigen::MatrixXf::Constant(d, 1, bad))});
      refusals.push_back("non-finite hidden -> " + answer(s));
    }
    // Degenerate but valid settings are served: a temperature of 1e-38, and of 1e300 with a tiny top-p.
    for (const std::string& extra :
         {std::string("\"temperature\":1e-38"), std::string("\"temperature\":1e300,\"top_p\":1e-9")}) {
      Socket s = handshaken(port, h.edge, S, extra);
      write_frame(s, {FrameType::hidden, 0, block_of(Eigen::MatrixXf::Ones(d, 1))});
      FrameType t{};
      const std::string e = answer(s, &t);
      refusals.push_back(extra + (t == FrameType::token ? " -> token" : " -> " + e));
    }
    // Slow traffic: a valid one-token block sent a few bytes at a time, then its token comes back.
    {
      Socket s = handshaken(port, h.edge, S);
      const auto b = block_of(Eigen::MatrixXf::Ones(d, 1));
      std::vector<uint8_t> bytes(static_cast<size_t>(kFrameHeaderBytes) + b.size());
      write_frame_header({FrameType::hidden, 0, static_cast<uint32_t>(b.size())}, bytes.data());
      std::copy(b.begin(), b.end(), bytes.begin() + kFrameHeaderBytes);
      for (size_t i = 0; i < bytes.size(); i += 16) {
        s.write_all(bytes.data() + i, std::min<size_t>(16, bytes.size() - i));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      FrameType t{};
      const std::string e = answer(s, &t);
      refusals.push_back(t == FrameType::token ? "slow block -> token" : "slow block -> " + e);
    }
  });

  std::vector<std::vector<int32_t>> got(2);
  std::vector<std::thread> good;
  for (int c = 0; c < 2; ++c)
    good.emplace_back([&, c] {
      EdgeOptions o;
      o.split = S;
      o.steps = steps;
      o.port = port;
      o.sampling = c == 0 ? greedy : hot;
      got[static_cast<size_t>(c)] = run_edge_request(h.edge, o, prompt, c, c, now_s()).tokens;
    });
  for (auto& t : good) t.join();
  hostile.join();
  CHECK(got[0] == want_greedy);
  CHECK(got[1] == want_hot);

  REQUIRE(refusals.size() == 23);
  auto said = [&](size_t i, const char* what) {
    INFO(refusals[i]);
    CHECK_THAT(refusals[i], Catch::Matchers::Contains(what));
  };
  said(0, "hello: expected a JSON object");  // JSON has no infinity: 1e999 does not parse
  said(1, "hello: temperature: expected a finite number");
  said(2, "hello: temperature: expected a number");
  said(3, "hello: expected a JSON object");
  said(4, "hello: top_p: expected a number");
  said(5, "hello: seed: expected an integer >= 0");
  said(6, "hello: context: expected an integer");
  said(7, "expected a context in 1..");
  said(8, "expected a context in 1..");
  said(9, "hello: split: expected an integer");
  said(10, "hello: split: expected an integer");
  said(11, "(10240 bytes)) are not the server's");
  CHECK(refusals[11].size() < 400);  // the 10 KiB fingerprint is echoed cut
  said(12, "hello: expected a JSON object");
  said(13, "hello: expected a JSON object");
  said(14, "hello: expected a JSON object");
  said(15, "hello: expected a payload of at most 16384 B");
  said(16, "hidden: expected a payload of at most");
  said(17, "end: expected a payload of at most 0 B");
  said(18, "sampling: logits: expected finite values");
  said(19, "sampling: logits: expected finite values");
  said(20, "-> token");
  said(21, "-> token");
  said(22, "slow block -> token");

  held.clear();
  // Every connection is closed: its reader thread is joined (within the acceptor's next turns).
  for (int i = 0; i < 200 && server.totals().readers_live > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto t = server.totals();
  CHECK(t.readers_live == 0);
  CHECK(t.sessions_completed == 2);
  CHECK(t.sessions_failed >= 20);
  server.stop();
  for (const auto& e : server.session_errors()) CHECK(e.size() <= kMaxErrorBytes + 16);
}

TEST_CASE("server: an idle session that finished its handshake is not waited for", "[server][hostile]") {
  // Random weights of the stories260K shape: no model files needed.
  const ModelSpec spec = load_model("stories260k");
  const int64_t S = 2, steps = 8;
  ModelWeights whole = random_weights(spec, 3, ModelPart::whole(spec));
  Halves h = test::split_weights(whole, S);
  ServerOptions so;
  so.batch_window = 30.0;  // a batch that waited for the idle session would take 30 s
  so.idle_after = 0.05;
  SplitServer server(h.server, S, so);
  server.start();
  Socket idle = handshaken(server.port(), h.edge, S);
  EdgeOptions o;
  o.split = S;
  o.steps = steps;
  o.port = server.port();
  const std::vector<int32_t> prompt{kBosToken};
  const auto r = run_edge_request(h.edge, o, prompt, 0, 0, now_s());
  CHECK(r.tokens == generate_unsplit(whole, prompt, steps, o.sampling));
  // The server counts a batch after its tokens are sent: stop it (joining its threads) before reading the totals.
  idle.close();
  server.stop();
  const auto t = server.totals();
  CHECK(t.batches == static_cast<int64_t>(r.steps.size()));
  CHECK(t.batches_at_deadline == 0);  // every batch closed because no other step was expected, none by the window
}
