// The split server: one process, many edge sessions over TCP. It holds layers [S,L), the final norm and the
// head; each session has its own KV cache and sampler. Decode steps of different sessions that arrive within
// a short window run as one batch (the weights are streamed once for all of them). A malformed frame, a
// corrupt wire block or a vanished client closes that session only.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "executor/forward.hpp"
#include "executor/records.hpp"
#include "executor/sampler.hpp"
#include "executor/transport.hpp"
#include "executor/weights.hpp"

namespace splitsim {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;               // 0: an ephemeral port (see SplitServer::port)
  double batch_window = 2e-3; // s a batch waits for more sessions' steps after its first one arrived
  int64_t max_batch = 64;     // sequences per batch
  nlohmann::json to_json() const;
};

struct ServerTotals {
  double busy = 0;              // s spent decoding blocks and computing batches
  int64_t batches = 0, steps = 0;
  int64_t sessions_opened = 0, sessions_completed = 0, sessions_failed = 0;
  double weights_bytes = 0, kv_bytes_peak = 0;
  int64_t max_batch_seen = 0;
  nlohmann::json to_json() const;
};

class SplitServer {
 public:
  // `w` holds the server part (layers [split, L), final norm, head); it must outlive the server.
  SplitServer(const ModelWeights& w, int64_t split, ServerOptions o);
  ~SplitServer();
  SplitServer(const SplitServer&) = delete;
  SplitServer& operator=(const SplitServer&) = delete;

  int port() const { return listener_.port(); }
  void start();
  void stop();  // closes every session and joins the threads
  ServerTotals totals() const;
  std::vector<std::string> session_errors() const;  // one line per session closed by an error

 private:
  struct Session;
  struct Work {
    std::shared_ptr<Session> session;
    std::vector<uint8_t> wire;
    double received = 0;
  };
  void accept_loop();
  void reader_loop(std::shared_ptr<Session> s);
  void schedule_loop();
  void run_batch(std::vector<Work>& batch, double started);
  void fail(Session& s, const std::string& why);
  void send(Session& s, const Frame& f);

  const ModelWeights& w_;
  int64_t split_;
  ServerOptions opt_;
  Listener listener_;
  std::atomic<bool> stop_{false};
  std::thread acceptor_, scheduler_;
  std::vector<std::thread> readers_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::map<uint32_t, std::shared_ptr<Session>> sessions_;
  std::deque<Work> queue_;
  uint32_t next_session_ = 1;
  ServerTotals totals_;
  double kv_bytes_live_ = 0;
  std::vector<std::string> errors_;
  Workspace ws_;  // scheduler thread only
};

}  // namespace splitsim
