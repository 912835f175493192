// Split schedules executed for real: the edge hands layers (and their KV, through the wire format) to the server
// mid-sequence and the generated text stays token for token the unsplit model's, at several move points, for one
// and several clients, with clients at different splits batched together; the bytes moved are exactly the
// kv_move frames'; a client that moves wrongly is closed alone.
#include <catch2/catch.hpp>

#include <thread>

#include "core/formats/frame.hpp"
#include "core/formats/kv_move.hpp"
#include "core/formats/wire_block.hpp"
#include "exec_test_util.hpp"
#include "executor/generate.hpp"
#include "executor/local_run.hpp"

using namespace splitsim;

namespace {

// The bytes of the kv_move frames one request sends, the layers moved, and the split of every step, replayed from
// the schedule: step 0 (the prompt) runs at the split of position prompt - 1, step k >= 1 at that of prompt + k - 1,
// which is also how many positions a move at step k carries.
struct Expected {
  double bytes_moved = 0;
  int64_t layers_moved = 0;
  std::vector<int64_t> splits;
};
Expected expected_moves(const SplitSchedule& s, int64_t prompt, int64_t steps, int64_t kv_dim) {
  Expected e;
  int64_t split = s.at(prompt - 1);
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t pos = prompt + k - 1;
    for (; split > s.at(pos); --split, ++e.layers_moved)
      e.bytes_moved += static_cast<double>(kFrameHeaderBytes + kKvMoveHeaderBytes +
                                           encoded_size_dense(WireCodec::fp32, 2 * pos, kv_dim));
    e.splits.push_back(split);
  }
  return e;
}

}  // namespace

TEST_CASE("a split schedule moves layers mid-sequence and the tokens stay the unsplit model's, 1 and 3 clients",
          "[split][schedule][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  const ModelWeights& whole = rm->weights;
  const ModelSpec& m = whole.spec;
  const std::vector<int32_t> prompt = rm->tokenizer->encode("Once upon a time");
  const auto P = static_cast<int64_t>(prompt.size());
  const int64_t steps = 24;
  const SamplingConfig greedy{0.0, 0.9, 5};
  const auto want = generate_unsplit(whole, prompt, steps, greedy);
  REQUIRE(want.size() == static_cast<size_t>(steps));
  // A prompt that starts below the first band, a move right after the prompt, moves at several later points,
  // several layers at once, everything (down to the embedding alone) and a move of the top layer only.
  REQUIRE(P == 5);
  for (const char* text : {"0:5,2:3,10:1", "0:5,5:4", "0:4,8:2,16:1", "0:3,12:1", "0:5,10:0", "0:2,20:1",
                           "0:4,6:3,7:2,9:0"}) {
    const SplitSchedule sched = SplitSchedule::parse(text, m.n_layers, "test");
    const Expected exp = expected_moves(sched, P, steps, m.kv_dim());
    REQUIRE(exp.layers_moved > 0);
    for (int clients : {1, 3}) {
      INFO("schedule " << text << ", " << clients << " clients");
      test::Halves h = test::split_weights(whole, sched.first());
      h.server = whole;
      h.server.keep_only(ModelPart::server(m, sched.lowest()));
      EdgeOptions o;
      o.schedule = sched;
      o.steps = steps;
      o.sampling = greedy;
      ServerOptions so;
      so.batch_window = 5e-3;
      const LocalRunResult r = run_local_split(h.edge, h.server, o, so, clients, 1, prompt);
      REQUIRE(r.requests.size() == static_cast<size_t>(clients));
      CHECK(r.server.sessions_completed == clients);
      CHECK(r.server.kv_moves == clients * exp.layers_moved);
      for (const auto& e : r.requests) {
        CHECK(e.tokens == want);
        CHECK(e.record.bytes_moved == exp.bytes_moved);
        REQUIRE(e.steps.size() == exp.splits.size());
        for (size_t k = 0; k < e.steps.size(); ++k) CHECK(e.steps[k].split == exp.splits[k]);
      }
    }
  }
}

TEST_CASE("a reacting split schedule moves early on a link observed fast enough and at its deadlines otherwise, and the "
          "tokens stay the unsplit model's", "[split][schedule][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  const ModelWeights& whole = rm->weights;
  const ModelSpec& m = whole.spec;
  const std::vector<int32_t> prompt = rm->tokenizer->encode("Once upon a time");
  const auto P = static_cast<int64_t>(prompt.size());
  const int64_t steps = 24;
  const SamplingConfig greedy{0.0, 0.9, 5};
  const auto want = generate_unsplit(whole, prompt, steps, greedy);
  const SplitSchedule reacting = SplitSchedule::parse("0:5,8-12:3,14-20:1", m.n_layers, "test");
  const SplitSchedule early = SplitSchedule::parse("0:5,8:3,14:1", m.n_layers, "test");
  const SplitSchedule late = SplitSchedule::parse("0:5,12:3,20:1", m.n_layers, "test");
  struct Case {
    double uplink;  // B/s, 0: unshaped (an upload takes no link time: infinitely fast)
    double react;   // B/s
    const SplitSchedule* as;
  };
  for (const Case& c : {Case{0, 1e12, &early}, Case{1e6, 5e5, &early}, Case{1e6, 2e6, &late}}) {
    INFO("uplink " << c.uplink << " B/s, react at " << c.react << " B/s");
    const Expected exp = expected_moves(*c.as, P, steps, m.kv_dim());
    test::Halves h = test::split_weights(whole, reacting.first());
    h.server = whole;
    h.server.keep_only(ModelPart::server(m, reacting.lowest()));
    EdgeOptions o;
    o.schedule = reacting;
    o.reaction = SplitReaction{c.react, 1};
    o.link.uplink_rate = c.uplink;
    o.steps = steps;
    o.sampling = greedy;
    const LocalRunResult r = run_local_split(h.edge, h.server, o, ServerOptions{}, 2, 2, prompt);
    REQUIRE(r.requests.size() == 4);
    CHECK(r.server.kv_moves == 4 * exp.layers_moved);
    for (const auto& e : r.requests) {
      CHECK(e.tokens == want);
      CHECK(e.record.bytes_moved == exp.bytes_moved);
      REQUIRE(e.steps.size() == exp.splits.size());
      for (size_t k = 0; k < e.steps.size(); ++k) CHECK(e.steps[k].split == exp.splits[k]);
    }
  }
}

TEST_CASE("clients at different splits and schedules share the server's batches and all get the unsplit tokens",
          "[split][schedule][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  const ModelWeights& whole = rm->weights;
  const ModelSpec& m = whole.spec;
  const std::vector<int32_t> prompt{kBosToken};
  const int64_t steps = 20;
  const auto want = generate_unsplit(whole, prompt, steps, SamplingConfig{});
  ModelWeights server = whole, edge = whole;
  server.keep_only(ModelPart::server(m, 1));  // serves splits 1..L
  edge.keep_only(ModelPart::edge(m.n_layers));
  ServerOptions so;
  so.batch_window = 20e-3;  // long enough that the three clients' steps meet in one batch
  SplitServer srv(server, 1, so);
  srv.start();
  std::vector<EdgeOptions> opts(3);
  opts[0].split = 4;
  opts[1].schedule = SplitSchedule::parse("0:5,6:3,12:1", m.n_layers, "test");
  opts[2].split = 1;
  std::vector<EdgeResult> got(3);
  std::vector<std::thread> threads;
  for (size_t c = 0; c < 3; ++c)
    threads.emplace_back([&, c] {
      opts[c].steps = steps;
      opts[c].port = srv.port();
      got[c] = run_edge_request(edge, opts[c], prompt, static_cast<int64_t>(c), static_cast<int64_t>(c), now_s());
    });
  for (auto& t : threads) t.join();
  srv.stop();
  for (const auto& g : got) CHECK(g.tokens == want);
  const ServerTotals t = srv.totals();
  CHECK(t.sessions_completed == 3);
  CHECK(t.kv_moves == 4);
  CHECK(t.max_batch_seen >= 2);  // blocks entering at different layers were batched
}

namespace {

Socket hello_with(int port, const ModelWeights& w, int64_t split, const char* schedule, Frame& reply) {
  Socket s = connect_tcp("127.0.0.1", port);
  nlohmann::json j{{"fingerprint", w.fingerprint}, {"split", split}, {"context", 32}};
  if (schedule) j["schedule"] = schedule;
  const std::string hello = j.dump();
  write_frame(s, {FrameType::hello, 0, std::vector<uint8_t>(hello.begin(), hello.end())});
  REQUIRE(read_frame(s, reply));
  return s;
}

// A hidden block of `T` tokens (any values) and its token back.
void one_step(Socket& s, int64_t d, int64_t T) {
  Eigen::MatrixXf x = Eigen::MatrixXf::Constant(d, T, 0.1f);
  std::vector<uint8_t> wire;
  wire_encode(x, CodecSpec{WireCodec::fp32}, wire);
  write_frame(s, {FrameType::hidden, 0, wire});
  Frame f;
  REQUIRE(read_frame(s, f));
  REQUIRE(f.type == FrameType::token);
}

std::vector<uint8_t> move_payload(int64_t begin, int64_t end, int64_t positions, int64_t kv_dim) {
  std::vector<uint8_t> p(kKvMoveHeaderBytes);
  write_kv_move_header({begin, end, positions}, p.data());
  if (positions > 0) {
    std::vector<uint8_t> wire;
    wire_encode(Eigen::MatrixXf::Zero(kv_dim, 2 * (end - begin) * positions), CodecSpec{WireCodec::fp32}, wire);
    p.insert(p.end(), wire.begin(), wire.end());
  }
  return p;
}

std::string expect_error(Socket& s) {
  Frame f;
  REQUIRE(read_frame(s, f));
  CHECK(f.type == FrameType::error);
  return std::string(f.payload.begin(), f.payload.end());
}

}  // namespace

TEST_CASE("server: a client that moves its split wrongly is closed alone, with the reason", "[server][schedule][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  const ModelWeights& whole = rm->weights;
  const ModelSpec& m = whole.spec;
  const int64_t d = m.dim, kvd = m.kv_dim();
  ModelWeights server = whole;
  server.keep_only(ModelPart::server(m, 2));
  SplitServer srv(server, 2, ServerOptions{});
  srv.start();
  Frame f;
  // Refused at hello: a split below the server's layers, a schedule reaching below them, a schedule that does not
  // start at the split, a malformed one.
  {
    Socket s = hello_with(srv.port(), whole, 1, nullptr, f);
    CHECK(f.type == FrameType::error);
    CHECK(std::string(f.payload.begin(), f.payload.end()).find("hello: split: expected 2..5") != std::string::npos);
  }
  for (const char* bad : {"0:4,10:1", "0:3,10:2", "0:4;10:2"}) {
    Socket s = hello_with(srv.port(), whole, 4, bad, f);
    CHECK(f.type == FrameType::error);
    CHECK(std::string(f.payload.begin(), f.payload.end()).find("hello: schedule") != std::string::npos);
  }
  // A move without a schedule; a move of the wrong layer; a move of the wrong number of positions; a move whose
  // block is short. Each after a 3-token prompt block at split 4 and its token.
  auto move_after_prompt = [&](const char* schedule, std::vector<uint8_t> payload) {
    Socket s = hello_with(srv.port(), whole, 4, schedule, f);
    REQUIRE(f.type == FrameType::hello_ack);
    one_step(s, d, 3);
    write_frame(s, {FrameType::kv_move, 0, std::move(payload)});
    return expect_error(s);
  };
  std::vector<std::string> why;
  why.push_back(move_after_prompt(nullptr, move_payload(3, 4, 3, kvd)));
  why.push_back(move_after_prompt("0:4,2:2", move_payload(2, 3, 3, kvd)));
  why.push_back(move_after_prompt("0:4,2:2", move_payload(3, 4, 2, kvd)));
  auto short_block = move_payload(3, 4, 3, kvd);
  short_block.resize(short_block.size() - 8);
  why.push_back(move_after_prompt("0:4,2:2", short_block));
  // A well-behaved client with a schedule, after all that.
  ModelWeights edge = whole;
  edge.keep_only(ModelPart::edge(4));
  EdgeOptions o;
  o.schedule = SplitSchedule::parse("0:4,3:3,6:2", m.n_layers, "test");
  o.steps = 12;
  o.port = srv.port();
  const std::vector<int32_t> prompt{kBosToken};
  const auto r = run_edge_request(edge, o, prompt, 0, 0, now_s());
  CHECK(r.tokens == generate_unsplit(whole, prompt, 12, SamplingConfig{}));
  srv.stop();
  REQUIRE(why.size() == 4);
  CHECK(why[0].find("kv_move: the session is at split 4, the lowest its schedule declared") != std::string::npos);
  CHECK(why[1].find("kv_move: expected layers [3, 4)") != std::string::npos);
  CHECK(why[2].find("kv_move: expected the 3 positions the session has cached, got 2") != std::string::npos);
  CHECK(why[3].find("wire block") != std::string::npos);
  const ServerTotals t = srv.totals();
  CHECK(t.sessions_completed == 1);
  CHECK(t.kv_moves == 2);
}
