// The split server's memory stays bounded whatever clients declare or do: frame buffers grow as bytes
// arrive and never above the session's limit, all payloads together stay within the in-flight budget, and
// the threads of closed connections are joined, and KV caches are reserved in a budget before they exist. Measured with
// the process's own counters (VmRSS, VmSize, threads) and the server's (in-flight bytes peak, live readers). Under an
// address-space limit that leaves room for only a few threads, connections without a thread are refused alone and the
// server serves on.
#include <catch2/catch.hpp>

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "core/formats/frame.hpp"
#include "exec_test_util.hpp"
#include "executor/forward.hpp"
#include "executor/generate.hpp"
#include "executor/local_run.hpp"
#include "executor/tokenizer.hpp"
#include "models/model_spec.hpp"

using namespace splitsim;

namespace {

// A field of /proc/<pid>/status in kB ("VmRSS", "VmSize") or a count ("Threads").
int64_t proc_status(const std::string& field, const std::string& pid = "self") {
  std::ifstream in("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  return -1;
}

constexpr int64_t MiB_kB = 1024;  // kB per MiB

// The whole model beside its two halves at one split.
struct SplitModel {
  ModelWeights whole, edge, server;
};

SplitModel random_halves(int64_t s) {
  const ModelSpec spec = load_model("stories260k");
  SplitModel h{random_weights(spec, 1, ModelPart::whole(spec)), {}, {}};
  test::Halves split = test::split_weights(h.whole, s);
  h.edge = std::move(split.edge);
  h.server = std::move(split.server);
  return h;
}

std::string hello_of(const ModelWeights& w, int64_t split, int64_t context) {
  return nlohmann::json{{"fingerprint", w.fingerprint}, {"split", split}, {"context", context}}.dump();
}

// Connects, says hello and reads the answer (its type into `answer`).
Socket hello(int port, const ModelWeights& w, int64_t split, int64_t context, FrameType* answer = nullptr) {
  Socket s = connect_tcp("127.0.0.1", port);
  const std::string h = hello_of(w, split, context);
  write_frame(s, {FrameType::hello, 0, std::vector<uint8_t>(h.begin(), h.end())});
  Frame f;
  const FrameType got = read_frame(s, f) ? f.type : FrameType::error;
  if (answer) *answer = got;
  return s;
}

void header_only(Socket& s, FrameType t, uint32_t length) {
  uint8_t hdr[kFrameHeaderBytes];
  write_frame_header({t, 0, length}, hdr);
  s.write_all(hdr, sizeof(hdr));
}

bool readable(const Socket& s, int timeout_ms) {
  pollfd p{s.fd(), POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

void wait_readers_joined(const SplitServer& server) {
  for (int i = 0; i < 300 && server.totals().readers_live > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

// One request of a well-behaved client; its tokens must be the unsplit model's.
void check_served(const SplitModel& h, int port, int64_t split) {
  EdgeOptions o;
  o.split = split;
  o.steps = 6;
  o.port = port;
  const std::vector<int32_t> prompt{kBosToken};
  CHECK(run_edge_request(h.edge, o, prompt, 0, 0, now_s()).tokens == generate_unsplit(h.whole, prompt, 6, o.sampling));
}

}  // namespace

TEST_CASE("server: memory stays bounded under oversized headers and connect/close churn", "[server][limits]") {
  // The C library gives threads their own malloc arenas (64 MiB of address space each, up to 8 per core);
  // four keep the address-space measurement the same on any machine.
  mallopt(M_ARENA_MAX, 4);
  const int64_t S = 2, context = 512;
  SplitModel h = random_halves(S);
  SplitServer server(h.server, S, ServerOptions{});
  server.start();
  const int port = server.port();
  const int64_t rss0 = proc_status("VmRSS"), vm0 = proc_status("VmSize"), threads0 = proc_status("Threads");
  const int64_t limit = max_block_bytes(context, h.whole.spec.dim);

  // Held open at once: 16 hellos declaring 64 MiB, 16 sessions declaring a 64 MiB hidden block, 16 sessions
  // declaring their whole limit and sending 100 KB of it. Before, the first two kinds reserved (and zeroed)
  // their declared size at once: 2 GiB.
  std::vector<Socket> held;
  int refused = 0;
  for (int i = 0; i < 16; ++i) {
    held.push_back(connect_tcp("127.0.0.1", port));
    header_only(held.back(), FrameType::hello, 64u << 20);
  }
  for (int i = 0; i < 16; ++i) {
    held.push_back(hello(port, h.edge, S, context));
    header_only(held.back(), FrameType::hidden, 64u << 20);
  }
  for (int i = 0; i < 16; ++i) {
    held.push_back(hello(port, h.edge, S, context));
    header_only(held.back(), FrameType::hidden, static_cast<uint32_t>(limit));
    const std::vector<uint8_t> part(100'000, 0);
    held.back().write_all(part.data(), part.size());
  }
  for (size_t i = 0; i < 32; ++i) {  // the declared 64 MiB are refused at the header
    Frame f;
    REQUIRE(read_frame(held[i], f));
    CHECK(f.type == FrameType::error);
    refused += f.type == FrameType::error;
  }
  CHECK(refused == 32);
  for (size_t i = 32; i < held.size(); ++i) CHECK_FALSE(readable(held[i], 0));  // still being received
  const int64_t rss_held = proc_status("VmRSS");
  INFO("RSS " << rss0 / 1024 << " MiB before, " << rss_held / 1024 << " MiB with 48 oversized frames pending");
  CHECK(rss_held - rss0 < 48 * MiB_kB);
  CHECK(server.totals().inflight_bytes_peak <= 16 * 2 * static_cast<int64_t>(kPayloadChunk) + 16 * (128 << 10));
  held.clear();

  // Connections opened and closed, every other one after its hello. Before, each left an unjoined thread
  // and its 8 MiB stack mapped: 20 GB of address space for 2,500; now the address space must not grow with the
  // number of connections.
  auto churn = [&](int n) {
    for (int i = 0; i < n; ++i) {
      if (i % 2) {
        FrameType t{};
        Socket s = hello(port, h.edge, S, 16, &t);
        REQUIRE(t == FrameType::hello_ack);
      } else {
        Socket s = connect_tcp("127.0.0.1", port);
      }
    }
    wait_readers_joined(server);
  };
  churn(500);
  const int64_t vm1 = proc_status("VmSize");
  churn(2000);
  const auto t = server.totals();
  CHECK(t.readers_live == 0);
  CHECK(t.sessions_opened >= 2548);
  const int64_t vm2 = proc_status("VmSize"), rss2 = proc_status("VmRSS"), threads2 = proc_status("Threads");
  INFO("VmSize " << vm0 / 1024 << " -> " << vm1 / 1024 << " -> " << vm2 / 1024 << " MiB, RSS " << rss0 / 1024
                 << " -> " << rss2 / 1024 << " MiB, threads " << threads0 << " -> " << threads2);
  CHECK(vm2 - vm0 < 512 * MiB_kB);  // four arenas and a few stacks
  CHECK(vm2 - vm1 < 64 * MiB_kB);
  CHECK(rss2 - rss0 < 48 * MiB_kB);
  CHECK(threads2 <= threads0 + 2);
  check_served(h, port, S);
  server.stop();
}

TEST_CASE("server: payloads of all sessions together stay within the in-flight budget", "[server][limits]") {
  const int64_t S = 2, context = 512;
  SplitModel h = random_halves(S);
  ServerOptions so;
  so.max_inflight_bytes = 512 << 10;
  SplitServer server(h.server, S, so);
  server.start();
  const int port = server.port();
  const int64_t limit = max_block_bytes(context, h.whole.spec.dim);  // about 260 KB: one fits, not two
  std::vector<Socket> held;
  const std::vector<uint8_t> body(static_cast<size_t>(limit - 1), 0);
  for (int i = 0; i < 6; ++i) {
    held.push_back(hello(port, h.edge, S, context));
    header_only(held.back(), FrameType::hidden, static_cast<uint32_t>(limit));
    try {
      held.back().write_all(body.data(), body.size());  // all but the last byte
    } catch (const std::exception&) {
      // refused while sending: the server closed this connection
    }
  }
  // One session can hold its whole block within the budget, two cannot: the others are refused as busy.
  std::vector<bool> answered(held.size(), false);
  int busy = 0, answers = 0;
  for (int round = 0; round < 300 && answers < static_cast<int>(held.size()) - 1; ++round) {
    for (size_t i = 0; i < held.size(); ++i) {
      if (answered[i] || !readable(held[i], 0)) continue;
      answered[i] = true;
      ++answers;
      Frame f;
      if (read_frame(held[i], f) && f.type == FrameType::error)
        busy += std::string(f.payload.begin(), f.payload.end()).find("server: busy") != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(busy >= 4);
  CHECK(server.totals().inflight_bytes_peak <= so.max_inflight_bytes);
  held.clear();
  wait_readers_joined(server);
  check_served(h, port, S);  // the budget came back
  server.stop();
}

TEST_CASE("server: KV caches of all sessions together stay within the KV budget", "[server][limits]") {
  const int64_t S = 2, context = 512;
  SplitModel h = random_halves(S);
  ServerOptions so;
  const double one = KvCache::bytes_for(h.server.spec, h.server.part, context);
  so.max_kv_bytes = 3 * one;
  SplitServer server(h.server, S, so);
  server.start();
  std::vector<Socket> held;
  int acked = 0;
  for (int i = 0; i < 5; ++i) {
    Socket s = connect_tcp("127.0.0.1", server.port());
    const std::string hl = hello_of(h.edge, S, context);
    write_frame(s, {FrameType::hello, 0, std::vector<uint8_t>(hl.begin(), hl.end())});
    Frame f;
    REQUIRE(read_frame(s, f));
    if (f.type == FrameType::hello_ack)
      ++acked;
    else
      CHECK_THAT(std::string(f.payload.begin(), f.payload.end()),
                 Catch::Matchers::StartsWith("server: busy: a KV cache"));
    held.push_back(std::move(s));
  }
  CHECK(acked == 3);
  CHECK(server.totals().kv_bytes_peak <= so.max_kv_bytes);
  held.clear();
  wait_readers_joined(server);
  check_served(h, server.port(), S);  // the budget came back
  server.stop();
}

TEST_CASE("server: silent connections time out, a session waiting for its token does not", "[server][limits]") {
  // stories15M-shaped random weights: a 200-token prompt block takes the server tens of milliseconds or more,
  // several times the idle timeout below.
  const ModelSpec spec = load_model("stories15m");
  const int64_t S = 2, T = 200;
  ModelWeights whole = random_weights(spec, 1, ModelPart::whole(spec));
  ModelWeights edge = whole, srv = whole;
  edge.keep_only(ModelPart::edge(S));
  srv.keep_only(ModelPart::server(spec, S));
  ServerOptions so;
  so.handshake_timeout = 0.05;
  so.idle_timeout = 0.01;
  SplitServer server(srv, S, so);
  server.start();
  auto error_of = [](Socket& s) {
    Frame f;
    if (!read_frame(s, f)) return std::string("closed");
    return f.type == FrameType::error ? std::string(f.payload.begin(), f.payload.end()) : std::string(frame_type_name(f.type));
  };
  {
    Socket s = connect_tcp("127.0.0.1", server.port());  // never says hello
    CHECK_THAT(error_of(s), Catch::Matchers::Contains("timed out"));
  }
  {
    Socket s = hello(server.port(), edge, S, T + 1);  // says hello, then nothing
    CHECK_THAT(error_of(s), Catch::Matchers::Contains("timed out"));
  }
  {
    // Hello and the prompt block back to back (no gap of the client's own), then a long wait for the token.
    std::vector<int32_t> prompt(T);
    for (int64_t i = 0; i < T; ++i) prompt[static_cast<size_t>(i)] = static_cast<int32_t>(1 + (i * 7919) % 30000);
    Eigen::MatrixXf x;
    embed(edge, prompt, x);
    KvCache cache(spec, edge.part, T + 1);
    Workspace ws;
    Segment seg{&cache, T};
    forward_layers(edge, {&seg, 1}, x, ws);
    std::vector<uint8_t> wire;
    wire_encode(x, CodecSpec{WireCodec::fp32}, wire);
    Socket s = connect_tcp("127.0.0.1", server.port());
    const std::string hl = hello_of(edge, S, T + 1);
    write_frame(s, {FrameType::hello, 0, std::vector<uint8_t>(hl.begin(), hl.end())});
    write_frame(s, {FrameType::hidden, 0, wire});
    CHECK(error_of(s) == "hello_ack");
    CHECK(error_of(s) == "token");
  }
  server.stop();
}

#ifdef SPLITSIM_BIN
namespace {

// `splitsim exec server` as a child process, optionally under an address-space limit; its port is read from
// the line it prints when it listens.
struct ChildServer {
  pid_t pid = -1;
  int port = 0;
  ChildServer(const std::string& out, int64_t address_space_bytes) {
    std::filesystem::create_directories(out);
    const std::string log = out + "/stderr.log";
    std::filesystem::remove(log);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (!std::freopen(log.c_str(), "w", stderr) || !std::freopen("/dev/null", "w", stdout)) _exit(127);
      if (address_space_bytes > 0) {
        rlimit r{static_cast<rlim_t>(address_space_bytes), static_cast<rlim_t>(address_space_bytes)};
        setrlimit(RLIMIT_AS, &r);
      }
      execl(SPLITSIM_BIN, SPLITSIM_BIN, "exec", "server", "--model", "stories260k", "--split", "2", "--port", "0",
            "--out", out.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500 && port == 0; ++i) {
      std::ifstream in(log);
      std::string l;
      if (std::getline(in, l) && l.find(" (Ctrl-C") != std::string::npos) {
        const auto colon = l.rfind(':', l.find(" (Ctrl-C"));
        port = std::atoi(l.c_str() + colon + 1);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }
  int stop() {
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~ChildServer() {  // a failed REQUIRE must not leave the server running
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace

TEST_CASE("server: without room for more threads, a connection is refused alone", "[server][limits]") {
  const int64_t S = 2;
  SplitModel h = random_halves(S);
  const std::string out =
      (std::filesystem::temp_directory_path() / ("splitsim-thread-limit-" + std::to_string(getpid()))).string();
  int64_t vm = 0;
  {
    ChildServer probe(out, 0);
    REQUIRE(probe.port > 0);
    vm = proc_status("VmSize", std::to_string(probe.pid));
    CHECK(probe.stop() == 0);
  }
  // Room for about four more 8 MiB thread stacks beyond what the idle server maps.
  ChildServer server(out, (vm + 40 * MiB_kB) * 1024);
  REQUIRE(server.port > 0);
  std::vector<Socket> held;
  int acked = 0, no_thread = 0;
  for (int i = 0; i < 64; ++i) {  // more than fit even with small thread stacks
    Socket s = connect_tcp("127.0.0.1", server.port);
    const std::string hl = hello_of(h.edge, S, 16);
    try {
      write_frame(s, {FrameType::hello, 0, std::vector<uint8_t>(hl.begin(), hl.end())});
      Frame f;
      if (read_frame(s, f)) {
        acked += f.type == FrameType::hello_ack;
        no_thread += f.type == FrameType::error &&
                     std::string(f.payload.begin(), f.payload.end()).find("cannot start a thread") != std::string::npos;
      }
    } catch (const std::exception&) {
    }
    held.push_back(std::move(s));
  }
  INFO(acked << " sessions acknowledged, " << no_thread << " refused for want of a thread");
  CHECK(acked >= 1);
  CHECK(no_thread >= 1);
  held.clear();
  // Once the held connections are gone their threads are joined, and a client is served again.
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    try {
      EdgeOptions o;
      o.split = S;
      o.steps = 6;
      o.port = server.port;
      const std::vector<int32_t> prompt{kBosToken};
      served =
          run_edge_request(h.edge, o, prompt, 0, 0, now_s()).tokens == generate_unsplit(h.whole, prompt, 6, o.sampling);
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  CHECK(served);
  CHECK(server.stop() == 0);  // not an abort on an uncaught std::system_error
  std::ifstream summary(out + "/server_summary.json");
  const auto j = nlohmann::json::parse(summary, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["server"]["sessions_refused"].get<int64_t>() >= 1);
  std::filesystem::remove_all(out);
}
#endif
