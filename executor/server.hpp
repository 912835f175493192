// The split server: one process, many edge sessions over TCP. It holds layers [S,L), the final norm and the
// head; each session has its own KV cache and sampler. Decode steps of different sessions that arrive within
// a short window run as one batch (the weights are streamed once for all of them). A malformed frame, a
// corrupt wire block, a refused setting or a vanished client closes that session only.
//
// What one client can hold, and so what it can take from the others (README, "Bad input"):
//  - one of max_sessions slots (more connections are refused with an error frame), and one reader thread,
//    joined as soon as its connection ends;
//  - the payload of the frame it is sending, grown as its bytes arrive and never above the session's limit
//    (kMaxHelloBytes before the hello, max_block_bytes(context, d) after it), and at most one queued block;
//    all sessions' payloads together stay within max_inflight_bytes (a frame that would go over is refused);
//    a kv_move frame (one layer's KV for its context) is applied as it arrives, never queued;
//  - a KV cache for the context it asked for (at most the model's max_seq_len) and for every layer its split
//    schedule will hand over, allocated only when all
//    sessions' KV caches together stay within max_kv_bytes (a hello that would go over is refused);
//  - a slot for at most handshake_timeout before its hello and idle_timeout between frames; a write to it
//    blocks the server for at most send_timeout;
//  - the batch window of others' steps only while it is active: a session silent for idle_after is not
//    waited for.
// Text it sends is echoed cut (quoted_input); at most kMaxKeptErrors error lines are kept.
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
  int64_t max_sessions = 256;                       // connections served at once
  int64_t max_inflight_bytes = int64_t{256} << 20;  // B of frame payloads held at once, every session together
  double max_kv_bytes = 8.0 * (1 << 30);            // B of KV caches held at once, every session together
  double idle_after = 0.25;                         // s without a step after which a session is not waited for
  double handshake_timeout = 10;                    // s a connection may take to send its hello
  double idle_timeout = 120;                        // s a session may stay silent between frames
  double send_timeout = 10;                         // s a write to a client may block
  nlohmann::json to_json() const;
};

constexpr uint32_t kMaxHelloBytes = 16 << 10;  // a hello is a short JSON object
constexpr size_t kMaxKeptErrors = 100;         // session error lines kept (and written to summaries)
constexpr size_t kMaxErrorBytes = 512;         // longest session error line kept or sent

// Largest wire block of T tokens of width d that any codec can produce (core/formats/wire_block.hpp): a
// TAB-Q token header, codes of up to 32 bits and every value an outlier. A hidden frame above it is refused
// at its header.
int64_t max_block_bytes(int64_t T, int64_t d);

struct ServerTotals {
  double busy = 0;              // s spent decoding blocks and computing batches
  int64_t batches = 0, steps = 0;
  int64_t sessions_opened = 0, sessions_completed = 0, sessions_failed = 0;
  double weights_bytes = 0, kv_bytes_peak = 0;
  int64_t max_batch_seen = 0;
  int64_t sessions_refused = 0;     // connections turned away: the session limit, or no thread for them
  int64_t batches_at_deadline = 0;  // batches whose gathering the window ended (not every expected step came)
  int64_t inflight_bytes_peak = 0;  // most frame payload bytes held at once
  int64_t readers_live = 0;         // reader threads not yet joined
  int64_t errors_dropped = 0;       // session errors beyond kMaxKeptErrors (counted, not kept)
  int64_t kv_moves = 0;             // layers handed over by sessions' split schedules
  nlohmann::json to_json() const;
};

class SplitServer {
 public:
  // `w` holds the server part (layers [split, L), final norm, head); it must outlive the server. It serves edges
  // that split at `split` or above, and split schedules that never go below it.
  SplitServer(const ModelWeights& w, int64_t split, ServerOptions o);
  ~SplitServer();
  SplitServer(const SplitServer&) = delete;
  SplitServer& operator=(const SplitServer&) = delete;

  int port() const { return listener_.port(); }
  void start();
  void stop();  // closes every session and joins the threads
  ServerTotals totals() const;
  // One line per session closed by an error (the first kMaxKeptErrors).
  std::vector<std::string> session_errors() const;

 private:
  struct Session;
  // Bytes of the in-flight budget held by one frame payload; given back when it is destroyed.
  class Budget;
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Budget* b, int64_t bytes) : budget_(b), bytes_(bytes) {}
    Reservation(Reservation&& o) noexcept : budget_(o.budget_), bytes_(o.bytes_) { o.bytes_ = 0; }
    Reservation& operator=(Reservation&& o) noexcept;
    ~Reservation() { release(); }
    void add(int64_t bytes) { bytes_ += bytes; }
    void release();

   private:
    Budget* budget_ = nullptr;
    int64_t bytes_ = 0;
  };
  struct Work {
    std::shared_ptr<Session> session;
    std::vector<uint8_t> wire;
    Reservation reserved;
    double received = 0;
  };
  void accept_loop();
  void admit(Socket sock);
  void reclaim_readers();
  void reader_loop(std::shared_ptr<Session> s);
  void read_hello(Session& s, const std::vector<uint8_t>& payload);
  void apply_kv_move(Session& s, const std::vector<uint8_t>& payload);
  uint32_t frame_limit(const Session& s, const FrameHeader& h) const;  // throws InputError for a refused frame
  void schedule_loop();
  void run_batch(std::vector<Work>& batch, double started);
  void fail(Session& s, const std::string& why);
  void record_error(std::string line);  // with mu_ held
  void send(Session& s, const Frame& f);

  const ModelWeights& w_;
  int64_t split_;
  ServerOptions opt_;
  Listener listener_;
  std::atomic<bool> stop_{false};
  std::thread acceptor_, scheduler_;
  std::unique_ptr<Budget> budget_;
  std::map<uint32_t, std::thread> readers_;  // acceptor thread (and stop) only

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::map<uint32_t, std::shared_ptr<Session>> sessions_;
  std::deque<Work> queue_;
  uint32_t next_session_ = 1;
  ServerTotals totals_;
  double kv_bytes_live_ = 0;
  std::vector<std::string> errors_;
  std::vector<uint32_t> finished_readers_;  // reader threads that ended and wait to be joined
  Workspace ws_;  // scheduler thread only
};

}  // namespace splitsim
