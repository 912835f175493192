// The executor's link shaping along a trace: a frame's serialization follows the trace's fractions exactly as
// the simulator's transfer does (CostModel::transfer), and the shaped sender and receiver schedule frames by it
// (the due times are computed, so the checks do not depend on this host's scheduling; a frame is never early).
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/scenario.hpp"
#include "core/toml_reader.hpp"
#include "exec_test_util.hpp"
#include "executor/edge.hpp"
#include "executor/server.hpp"
#include "executor/transport.hpp"
#include "hwprofiles/cost_model.hpp"
#include "hwprofiles/system.hpp"

using namespace splitsim;

namespace {

std::shared_ptr<const LinkTrace> slow_then_fast() {
  // A quarter of the peak for the first second, then all of it; the period is long enough for the test.
  const auto p = std::filesystem::temp_directory_path() / "splitsim-test-shaping-trace.csv";
  std::ofstream(p) << "time_s,uplink,downlink\n0,0.25,0.5\n1,1,1\n1000,1,1\n";
  return std::make_shared<const LinkTrace>(read_link_trace(p.string()));
}

}  // namespace

TEST_CASE("shaping: a frame's serialization along a trace is the simulator's transfer", "[executor][shaping]") {
  // The seeded lte-varying link, and lte-outages, the same with outages (down from 129 to 130 s and from 134 s for
  // 24 s), one device: CostModel::transfer (the simulator's closed form) against the executor's LinkShape with the
  // same peaks, delay (access + backbone latency) and phase. A frame sent in an outage waits for the link.
  for (const char* link : {"lte-varying", "lte-outages"}) {
  INFO(link);
  const System sys = resolve_system(scenario_from_source(parse_toml_text(std::string(R"(name = "t"
model = "llama2-7b"
[edge]
profile = "jetson-xavier-nx"
link = ")") + link + R"("
count = 1
[server]
profile = "a6000"
[split]
strategy = "opsc"
layer = 16
[workload]
prompt_tokens = 100
output_tokens = 8
)", "t")));
  const CostModel cost(sys);
  const LinkProfile& a = sys.fleet[0].link;
  LinkShape l;
  l.uplink_rate = a.uplink.value, l.downlink_rate = a.downlink.value;
  l.delay = a.latency.value + sys.backbone.latency.value;
  l.trace = a.trace;
  l.phase = 37.5;
  for (double start : {0.0, 3.2, 41.0, 91.6, 96.4, 599.9}) {  // + 37.5: 129.1 and 133.9, an outage and its eve
    INFO("start " << start);
    for (bool up : {true, false})
      CHECK(l.delay + l.serialization(up, start, 3e5) == Approx(cost.transfer(0, up, 3e5, start, 37.5)).epsilon(1e-12));
  }
  if (a.trace->goes_down()) CHECK(l.serialization(true, 96.4, 3e5) > 24.0);  // waits out the 24 s outage
  }
}

TEST_CASE("shaping: the shaped sender and receiver follow the trace", "[executor][shaping]") {
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  Socket a(fds[0]), b(fds[1]);
  LinkShape link;
  link.uplink_rate = 1e6, link.downlink_rate = 1e6, link.delay = 0.01;
  link.trace = slow_then_fast();
  link.origin = now_s();
  Frame f;
  f.type = FrameType::hidden;
  f.payload.assign(25000 - kFrameHeaderBytes, 7);
  {
    // Uplink in the first second: 25,000 B at a quarter of 1 MB/s take 0.1 s, then the 10 ms delay.
    ShapedSender up(a, link);
    const double before = now_s();
    const double due = up.send(f);
    CHECK(due - before == Approx(0.11).margin(0.005));
    Frame g;
    REQUIRE(read_frame(b, g));
    CHECK(now_s() - before >= 0.109);  // never before it is due (later only by this host's scheduling)
  }
  {
    // Downlink (half the peak in the first second): handed over 50 ms + 10 ms after it arrives.
    ShapedReceiver down(b, link);
    write_frame(a, f);
    Frame g;
    double arrived = 0, delivered = 0;
    REQUIRE(down.receive(g, &arrived, &delivered));
    CHECK(delivered - arrived == Approx(0.06).margin(0.005));
  }
}

TEST_CASE("shaping: an outage longer than the session timeout fails that request alone, a shorter one resumes it",
          "[executor][shaping][session]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  // Client A's link is down from 0.15 s to 1.15 s of its clock, mid-request; client B's never is.
  const auto p = std::filesystem::temp_directory_path() /
                 ("splitsim-test-outage-" + std::to_string(getpid()) + ".csv");
  std::ofstream(p) << "time_s,uplink,downlink\n0,1,1\n0.15,0,0\n1.15,1,1\n600,1,1\n";
  const auto outage = std::make_shared<const LinkTrace>(read_link_trace(p.string()));
  const int64_t S = 2, steps = 80;
  const std::vector<int32_t> prompt{kBosToken};
  const auto want = generate_unsplit(rm->weights, prompt, steps, SamplingConfig{});
  test::Halves h = test::split_weights(rm->weights, S);
  for (double timeout : {0.3, 5.0}) {
    INFO("session timeout " << timeout << " s");
    ServerOptions so;
    so.idle_timeout = timeout;
    SplitServer srv(h.server, S, so);
    srv.start();
    std::vector<EdgeResult> got(2);
    std::vector<std::thread> threads;
    for (size_t c = 0; c < 2; ++c)
      threads.emplace_back([&, c] {
        EdgeOptions o;
        o.split = S;
        o.steps = steps;
        o.port = srv.port();
        o.link.uplink_rate = o.link.downlink_rate = 50e6 / 8;
        o.link.delay = 2e-3;
        if (c == 0) o.link.trace = outage;
        got[c] = run_edge_request(h.edge, o, prompt, static_cast<int64_t>(c), static_cast<int64_t>(c), now_s());
      });
    for (auto& t : threads) t.join();
    srv.stop();
    const EdgeResult& a = got[0];
    CHECK(got[1].tokens == want);  // the other client never noticed
    CHECK_FALSE(got[1].record.failed);
    CHECK(a.record.e2e > 0.9);     // A waited for its link either way
    if (timeout < 1) {
      CHECK(a.record.failed);
      CHECK_THAT(a.failure, Catch::Matchers::Contains("session timed out"));
      CHECK(a.tokens.size() > 0);
      CHECK(static_cast<int64_t>(a.tokens.size()) < steps);
      CHECK(std::equal(a.tokens.begin(), a.tokens.end(), want.begin()));
      CHECK(a.record.output_tokens == static_cast<int64_t>(a.tokens.size()));
      CHECK(srv.totals().sessions_failed == 1);
    } else {
      CHECK_FALSE(a.record.failed);
      CHECK(a.tokens == want);
      CHECK(srv.totals().sessions_failed == 0);
    }
  }
}
