// The split server. Threads: an acceptor, one reader per session (frames in, protocol checks), and one
// scheduler that forms batches and runs them. A session's life: hello -> hello_ack; then (hidden -> token)*;
// then end -> stats. A session whose split schedule moves sends, between a token and its next hidden block, one
// kv_move frame per layer it hands over (top layer first); the reader applies each to the session's cache while
// no block of the session is queued, so the scheduler never sees a half-moved session. The reader judges every
// frame at its header, before a payload byte is read: a frame of
// the wrong type for the session's state, a second hidden block before the token of the first, or a payload
// above the session's limit is refused there. The scheduler refuses a wire block that does not decode or
// does not fit the session's context, and logits no token can be sampled from. Each refusal sends an error
// frame and closes that session alone; server.hpp lists what one client can hold.
#include "executor/server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <system_error>

#include "core/error.hpp"
#include "core/formats/kv_move.hpp"
#include "core/split_schedule.hpp"
#include "core/units.hpp"
#include "executor/wire.hpp"

namespace splitsim {

nlohmann::json ServerOptions::to_json() const {
  return {{"host", host},
          {"port", port},
          {"batch_window_s", batch_window},
          {"max_batch", max_batch},
          {"max_sessions", max_sessions},
          {"max_inflight_bytes", max_inflight_bytes},
          {"max_kv_bytes", max_kv_bytes},
          {"idle_after_s", idle_after},
          {"handshake_timeout_s", handshake_timeout},
          {"idle_timeout_s", idle_timeout},
          {"send_timeout_s", send_timeout}};
}

nlohmann::json ServerTotals::to_json() const {
  return {{"busy_s", busy},
          {"batches", batches},
          {"steps", steps},
          {"mean_batch", batches > 0 ? static_cast<double>(steps) / static_cast<double>(batches) : 0.0},
          {"max_batch", max_batch_seen},
          {"sessions_opened", sessions_opened},
          {"sessions_completed", sessions_completed},
          {"sessions_failed", sessions_failed},
          {"sessions_refused", sessions_refused},
          {"batches_at_deadline", batches_at_deadline},
          {"inflight_bytes_peak", inflight_bytes_peak},
          {"errors_dropped", errors_dropped},
          {"kv_moves", kv_moves},
          {"weights_bytes", weights_bytes},
          {"kv_bytes_peak", kv_bytes_peak}};
}

int64_t max_block_bytes(int64_t T, int64_t d) {
  const int64_t per_token =
      kTabqTokenHeaderBytes + packed_code_bytes(d, 32) + kOutlierBytes * std::min<int64_t>(d, 65535);
  return kWireHeaderBytes + T * per_token;
}

// ---------------------------------------------------------------------------------------------- budget

// The bytes of frame payloads held at once, all sessions together. Its own mutex: reservations are given
// back from wherever a payload dies, sometimes with the server's mutex held.
class SplitServer::Budget {
 public:
  explicit Budget(int64_t cap) : cap_(cap) {}
  void take(int64_t n) {
    std::lock_guard lk(mu_);
    if (used_ + n > cap_)
      throw InputError(
          fmt::format("server: busy: frames in flight would exceed the server's limit of {} for all "
                      "sessions; retry later",
                      format_bytes(static_cast<double>(cap_))));
    used_ += n;
    peak_ = std::max(peak_, used_);
  }
  void give(int64_t n) {
    std::lock_guard lk(mu_);
    used_ -= n;
  }
  int64_t peak() const {
    std::lock_guard lk(mu_);
    return peak_;
  }

 private:
  mutable std::mutex mu_;
  int64_t cap_, used_ = 0, peak_ = 0;
};

SplitServer::Reservation& SplitServer::Reservation::operator=(Reservation&& o) noexcept {
  if (this != &o) {
    release();
    budget_ = o.budget_;
    bytes_ = o.bytes_;
    o.bytes_ = 0;
  }
  return *this;
}

void SplitServer::Reservation::release() {
  if (budget_ && bytes_ > 0) budget_->give(bytes_);
  bytes_ = 0;
}

// ---------------------------------------------------------------------------------------------- sessions

struct SplitServer::Session {
  uint32_t id = 0;
  Socket socket;
  std::mutex send_mu;
  std::atomic<bool> alive{true};
  std::atomic<bool> awaiting{false};  // a hidden block is queued or running; the next may come after its token
  std::atomic<bool> ready{false};     // hello accepted
  std::atomic<double> last_active{0};  // now_s() of the hello_ack or the last token sent
  KvCache cache;          // layers [lowest, L)
  int64_t split = 0;      // the edge's current split: this session's blocks enter at this layer
  int64_t lowest = 0;     // the lowest split its schedule reaches
  double move_decode = 0;  // s the reader spent applying kv_move frames since the session's last step
  int64_t max_block = 0;  // B: the largest hidden payload this session may send
  int64_t max_move = 0;   // B: the largest kv_move payload (one layer of the whole context)
  std::unique_ptr<Sampler> sampler;
  std::mutex steps_mu;
  std::vector<ServerStep> steps;
  double kv_bytes = 0;
};

SplitServer::SplitServer(const ModelWeights& w, int64_t split, ServerOptions o)
    : w_(w),
      split_(split),
      opt_(std::move(o)),
      listener_(opt_.host, opt_.port),
      budget_(std::make_unique<Budget>(opt_.max_inflight_bytes)) {
  totals_.weights_bytes = w_.bytes();
  if (split_ != w_.part.layer_begin)
    throw std::logic_error("SplitServer: the split must be the first layer of the server's part");
}

SplitServer::~SplitServer() { stop(); }

void SplitServer::start() {
  acceptor_ = std::thread([this] { accept_loop(); });
  scheduler_ = std::thread([this] { schedule_loop(); });
}

void SplitServer::stop() {
  if (stop_.exchange(true)) return;
  cv_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  if (scheduler_.joinable()) scheduler_.join();
  {
    std::lock_guard lk(mu_);
    for (auto& [id, s] : sessions_) s->socket.shutdown();
  }
  for (auto& [id, t] : readers_)
    if (t.joinable()) t.join();
  readers_.clear();
  {
    std::lock_guard lk(mu_);
    queue_.clear();
    totals_.readers_live = 0;
  }
  listener_.close();
}

ServerTotals SplitServer::totals() const {
  std::lock_guard lk(mu_);
  ServerTotals t = totals_;
  t.inflight_bytes_peak = budget_->peak();
  return t;
}

std::vector<std::string> SplitServer::session_errors() const {
  std::lock_guard lk(mu_);
  return errors_;
}

void SplitServer::record_error(std::string line) {
  if (errors_.size() >= kMaxKeptErrors) {
    ++totals_.errors_dropped;
    return;
  }
  if (line.size() > kMaxErrorBytes) line = line.substr(0, kMaxErrorBytes) + "... (cut)";
  errors_.push_back(std::move(line));
}

// ---------------------------------------------------------------------------------------------- acceptor

void SplitServer::accept_loop() {
  while (!stop_) {
    reclaim_readers();
    Socket sock = listener_.accept(0.05);
    if (!sock.valid()) continue;
    try {
      admit(std::move(sock));
    } catch (const std::exception&) {
      // Out of memory for the session itself: the socket is closed with it; the server goes on.
      std::lock_guard lk(mu_);
      ++totals_.sessions_refused;
    }
  }
}

// Joins the reader threads whose connections ended, so that neither threads nor their stacks pile up over
// many connections.
void SplitServer::reclaim_readers() {
  std::vector<uint32_t> done;
  {
    std::lock_guard lk(mu_);
    done.swap(finished_readers_);
  }
  for (uint32_t id : done) {
    auto it = readers_.find(id);
    if (it == readers_.end()) continue;
    if (it->second.joinable()) it->second.join();
    readers_.erase(it);
    std::lock_guard lk(mu_);
    --totals_.readers_live;
  }
}

void SplitServer::admit(Socket sock) {
  auto refuse = [&](Socket& s, const std::string& why) {
    try {
      s.set_timeouts(0, 1);
      Frame f{FrameType::error, 0, std::vector<uint8_t>(why.begin(), why.end())};
      write_frame(s, f);
    } catch (const std::exception&) {
    }
    std::lock_guard lk(mu_);
    ++totals_.sessions_refused;
  };
  auto s = std::make_shared<Session>();
  bool full = false;
  {
    std::lock_guard lk(mu_);
    full = static_cast<int64_t>(sessions_.size()) >= opt_.max_sessions;
    if (!full) {
      s->id = next_session_++;
      sessions_[s->id] = s;
    }
  }
  if (full) {
    refuse(sock, fmt::format("server: at its limit of {} sessions; retry later", opt_.max_sessions));
    return;
  }
  s->socket = std::move(sock);
  s->socket.set_timeouts(opt_.handshake_timeout, opt_.send_timeout);
  try {
    readers_.emplace(s->id, std::thread([this, s] { reader_loop(s); }));
  } catch (const std::system_error&) {
    // No thread for this connection (thread or address-space limits): refuse it alone.
    {
      std::lock_guard lk(mu_);
      sessions_.erase(s->id);
    }
    refuse(s->socket, "server: cannot start a thread for this connection now; retry later");
    return;
  }
  std::lock_guard lk(mu_);
  ++totals_.sessions_opened;
  ++totals_.readers_live;
}

// ---------------------------------------------------------------------------------------------- readers

void SplitServer::send(Session& s, const Frame& f) {
  std::lock_guard lk(s.send_mu);
  write_frame(s.socket, f);
}

// Sends an error frame (best effort) and closes the session; other sessions are untouched.
void SplitServer::fail(Session& s, const std::string& why_in) {
  if (!s.alive.exchange(false)) return;
  std::string why = why_in.size() > kMaxErrorBytes ? why_in.substr(0, kMaxErrorBytes) + "... (cut)" : why_in;
  try {
    Frame f{FrameType::error, s.id, std::vector<uint8_t>(why.begin(), why.end())};
    send(s, f);
  } catch (const std::exception&) {
  }
  s.socket.shutdown();
  std::lock_guard lk(mu_);
  record_error(fmt::format("session {}: {}", s.id, why));
  ++totals_.sessions_failed;
  cv_.notify_all();
}

// The payload limit of a frame in this state of the session; InputError when the frame is not allowed at all.
uint32_t SplitServer::frame_limit(const Session& s, const FrameHeader& h) const {
  const char* what = frame_type_name(h.type);
  if (h.type == FrameType::hello && !s.ready) return kMaxHelloBytes;
  if (h.type == FrameType::hidden && s.ready) {
    if (s.awaiting) throw InputError("hidden: a second block before the token of the first");
    return static_cast<uint32_t>(std::min<int64_t>(s.max_block, kMaxFramePayload));
  }
  if (h.type == FrameType::end && s.ready && !s.awaiting) return 0;
  if (h.type == FrameType::kv_move && s.ready && !s.awaiting) {
    if (s.split <= s.lowest)
      throw InputError(fmt::format("kv_move: the session is at split {}, the lowest its schedule declared", s.split));
    return static_cast<uint32_t>(std::min<int64_t>(s.max_move, kMaxFramePayload));
  }
  throw InputError(fmt::format("frame: unexpected {} frame in this state of the session", what));
}

namespace {

// A hello field: absent gives the fallback; present, it must have the right JSON type.
const nlohmann::json* hello_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string json_echo(const nlohmann::json& v) {
  return quoted_input(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 40);
}

int64_t hello_int(const nlohmann::json& j, const char* key, int64_t fallback) {
  const auto* v = hello_field(j, key);
  if (!v) return fallback;
  if (!v->is_number_integer())
    throw InputError(fmt::format("hello: {}: expected an integer, got {}", key, json_echo(*v)));
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    throw InputError(fmt::format("hello: {}: expected an integer, got {}", key, json_echo(*v)));
  return v->get<int64_t>();
}

double hello_number(const nlohmann::json& j, const char* key, double fallback) {
  const auto* v = hello_field(j, key);
  if (!v) return fallback;
  if (!v->is_number()) throw InputError(fmt::format("hello: {}: expected a number, got {}", key, json_echo(*v)));
  return v->get<double>();
}

}  // namespace

void SplitServer::read_hello(Session& ss, const std::vector<uint8_t>& payload) {
  auto j = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw InputError("hello: expected a JSON object");
  const auto* fpv = hello_field(j, "fingerprint");
  if (!fpv || !fpv->is_string()) throw InputError("hello: fingerprint: expected a string");
  const std::string& fp = fpv->get_ref<const std::string&>();
  if (fp != w_.fingerprint)
    throw InputError(
        fmt::format("hello: the edge's weights ({}) are not the server's ({}): start both with the "
                    "same --model/--seed or --checkpoint",
                    quoted_input(fp, 64), w_.fingerprint));
  const ModelSpec& m = w_.spec;
  const int64_t split = hello_int(j, "split", -1);
  if (split < split_ || split > m.n_layers)
    throw InputError(fmt::format("hello: split: expected {}..{} (this server holds layers [{}, {})), got {}", split_,
                                 m.n_layers, split_, m.n_layers, split));
  int64_t lowest = split;
  if (const auto* sv = hello_field(j, "schedule")) {
    if (!sv->is_string()) throw InputError(fmt::format("hello: schedule: expected a string, got {}", json_echo(*sv)));
    const SplitSchedule sched = SplitSchedule::parse(sv->get<std::string>(), m.n_layers, "hello: schedule");
    if (split > sched.first() || split < sched.lowest())
      throw InputError(fmt::format("hello: schedule: expected splits around the split {}, got {}", split,
                                   sched.to_string()));
    if (sched.lowest() < split_)
      throw InputError(fmt::format("hello: schedule: it reaches split {}; this server holds layers [{}, {}) only",
                                   sched.lowest(), split_, m.n_layers));
    lowest = sched.lowest();
  }
  const int64_t context = hello_int(j, "context", 0);
  if (context < 1 || context > w_.spec.max_seq_len)
    throw InputError(fmt::format("hello: expected a context in 1..{}, got {}", w_.spec.max_seq_len, context));
  SamplingConfig sc;
  sc.temperature = hello_number(j, "temperature", 0.0);
  sc.top_p = hello_number(j, "top_p", 0.9);
  if (const auto* seed = hello_field(j, "seed")) {
    if (!seed->is_number_unsigned())
      throw InputError(fmt::format("hello: seed: expected an integer >= 0, got {}", json_echo(*seed)));
    sc.seed = seed->get<uint64_t>();
  }
  check_sampling(sc, "hello: temperature", "hello: top_p");
  ss.sampler = std::make_unique<Sampler>(sc);
  // The KV cache is reserved in the budget before it is allocated (and zeroed): a hello asking for a long
  // context may not take memory that the sessions already served need.
  // A schedule's session reserves the KV of every layer it will ever hold: a move never waits for memory.
  const ModelPart part{lowest, m.n_layers, false, true};
  const double need = KvCache::bytes_for(m, part, context);
  {
    std::lock_guard lk(mu_);
    if (kv_bytes_live_ + need > opt_.max_kv_bytes)
      throw InputError(
          fmt::format("server: busy: a KV cache of {} for a context of {} would take the sessions' KV "
                      "memory above the server's limit of {}; retry later or ask for a shorter context",
                      format_bytes(need), context, format_bytes(opt_.max_kv_bytes)));
    ss.kv_bytes = need;
    kv_bytes_live_ += need;
    totals_.kv_bytes_peak = std::max(totals_.kv_bytes_peak, kv_bytes_live_);
  }
  ss.cache = KvCache(m, part, context);
  ss.split = split;
  ss.lowest = lowest;
  ss.max_block = max_block_bytes(context, m.dim);
  ss.max_move = kKvMoveHeaderBytes + max_block_bytes(2 * context, m.kv_dim());
  std::string ack =
      nlohmann::json{{"session", ss.id}, {"server_weights_bytes", w_.bytes()}, {"server_kv_bytes", ss.kv_bytes}}.dump();
  ss.socket.set_timeouts(opt_.idle_timeout, opt_.send_timeout);
  ss.last_active = now_s();
  ss.ready = true;
  send(ss, {FrameType::hello_ack, ss.id, std::vector<uint8_t>(ack.begin(), ack.end())});
}

// One layer handed over by the session's edge: [split - 1, split) with the keys and values of every position
// the session has cached. The session's blocks enter one layer lower from then on.
void SplitServer::apply_kv_move(Session& ss, const std::vector<uint8_t>& payload) {
  const double t0 = now_s();
  const KvMoveHeader h = read_kv_move_header(payload);
  if (h.layer_end != ss.split || h.layer_begin != ss.split - 1)
    throw InputError(fmt::format("kv_move: expected layers [{}, {}) (one layer, just below the session's split), "
                                 "got [{}, {})",
                                 ss.split - 1, ss.split, h.layer_begin, h.layer_end));
  if (h.positions != ss.cache.pos)
    throw InputError(fmt::format("kv_move: expected the {} positions the session has cached, got {}", ss.cache.pos,
                                 h.positions));
  const int64_t kvd = w_.spec.kv_dim();
  Eigen::MatrixXf rows;  // (kv_dim, rows)
  const std::span<const uint8_t> block(payload.data() + kKvMoveHeaderBytes, payload.size() - kKvMoveHeaderBytes);
  if (h.positions > 0) {
    wire_decode(block, kvd, rows);
    if (rows.cols() != h.rows())
      throw InputError(fmt::format("kv_move: expected a block of {} rows, got {}", h.rows(), rows.cols()));
  } else if (!block.empty()) {
    throw InputError("kv_move: expected no block for an empty cache");
  }
  for (int64_t p = 0; p < h.positions; ++p) {
    std::copy_n(rows.col(kv_move_row(h, h.layer_begin, false, p)).data(), kvd, ss.cache.key(h.layer_begin, p));
    std::copy_n(rows.col(kv_move_row(h, h.layer_begin, true, p)).data(), kvd, ss.cache.value(h.layer_begin, p));
  }
  ss.split = h.layer_begin;
  const double spent = now_s() - t0;
  ss.move_decode += spent;
  std::lock_guard lk(mu_);
  totals_.busy += spent;
  ++totals_.kv_moves;
}

void SplitServer::reader_loop(std::shared_ptr<Session> s) {
  Session& ss = *s;
  try {
    Frame f;
    while (ss.alive) {
      uint8_t h[kFrameHeaderBytes];
      bool more = false;
      // A session's silence counts from the last frame the server sent it (hello_ack or a token): the read waits
      // for what is left of the idle timeout, so the session closes exactly idle_timeout after that frame.
      if (ss.ready)
        ss.socket.set_timeouts(ss.awaiting ? opt_.idle_timeout
                                           : std::max(1e-3, opt_.idle_timeout - (now_s() - ss.last_active)),
                               opt_.send_timeout);
      try {
        more = ss.socket.read_exact(h, sizeof(h));
      } catch (const SocketTimeout& t) {
        // A client waiting for its token is silent by right, however long the batch takes; only a client
        // that owes the next frame is timed out.
        if (t.bytes_read == 0 && ss.awaiting) continue;
        if (t.bytes_read == 0 && ss.ready) {
          const double silent = now_s() - ss.last_active;
          if (silent < opt_.idle_timeout) continue;  // its token went out while this read waited
          throw InputError(fmt::format("{}: silent for {:.2f} s, beyond the server's session timeout of {:g} s; its "
                                       "KV cache is freed",
                                       kSessionTimedOut, silent, opt_.idle_timeout));
        }
        throw;
      }
      if (!more) {  // the client went away
        if (ss.alive.exchange(false)) {
          std::lock_guard lk(mu_);
          if (ss.ready) {
            record_error(fmt::format("session {}: client connection lost (closed mid-request)", ss.id));
            ++totals_.sessions_failed;
          }
        }
        break;
      }
      const FrameHeader hdr = parse_frame_header(h);
      const uint32_t limit = frame_limit(ss, hdr);
      if (hdr.length > limit)
        throw InputError(
            fmt::format("{}: expected a payload of at most {} B in this session, got a header declaring {} B",
                        frame_type_name(hdr.type), limit, hdr.length));
      f.type = hdr.type;
      f.session = hdr.session;
      Reservation held(budget_.get(), 0);
      read_payload(ss.socket, hdr.length, f.payload, [&](size_t more) {
        budget_->take(static_cast<int64_t>(more));
        held.add(static_cast<int64_t>(more));
      });
      if (f.type == FrameType::hello) {
        read_hello(ss, f.payload);
      } else if (f.type == FrameType::kv_move) {
        apply_kv_move(ss, f.payload);
        f.payload = {};
      } else if (f.type == FrameType::hidden) {
        ss.awaiting = true;
        std::lock_guard lk(mu_);
        queue_.push_back({s, std::move(f.payload), std::move(held), now_s()});
        f.payload = {};
        cv_.notify_all();
      } else {  // end
        std::string stats;
        {
          std::lock_guard lk(ss.steps_mu);
          stats = nlohmann::json{{"steps", steps_to_json(ss.steps)}}.dump();
        }
        send(ss, {FrameType::stats, ss.id, std::vector<uint8_t>(stats.begin(), stats.end())});
        ss.alive = false;
        std::lock_guard lk(mu_);
        ++totals_.sessions_completed;
        break;
      }
    }
  } catch (const std::exception& e) {
    fail(ss, e.what());
  }
  std::lock_guard lk(mu_);
  kv_bytes_live_ -= ss.kv_bytes;
  ss.kv_bytes = 0;
  sessions_.erase(ss.id);
  finished_readers_.push_back(ss.id);
  cv_.notify_all();
}

// ---------------------------------------------------------------------------------------------- scheduler

void SplitServer::schedule_loop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (stop_) break;
    // Gather: wait up to the window for the steps of the sessions that are active — a block queued, or a
    // hello or token sent less than idle_after ago (a session cannot send two). A session silent for longer
    // is not waited for, so an idle client does not cost every batch the whole window.
    const double deadline = queue_.front().received + opt_.batch_window;
    while (!stop_) {
      const double now = now_s();
      int64_t expected = 0;
      double wake = deadline;
      for (auto& [id, s] : sessions_) {
        if (!(s->alive && s->ready)) continue;
        if (s->awaiting) {
          ++expected;
          continue;
        }
        const double idle_at = s->last_active + opt_.idle_after;
        if (idle_at > now) {
          ++expected;
          wake = std::min(wake, idle_at);
        }
      }
      if (static_cast<int64_t>(queue_.size()) >= std::min(expected, opt_.max_batch)) break;
      if (now >= deadline) {
        ++totals_.batches_at_deadline;
        break;
      }
      cv_.wait_for(lk, std::chrono::duration<double>(std::max(0.0, wake - now)));
    }
    std::vector<Work> batch;
    while (!queue_.empty() && static_cast<int64_t>(batch.size()) < opt_.max_batch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lk.unlock();
    run_batch(batch, now_s());
    batch.clear();  // gives the payloads' bytes back before the lock is taken again
    lk.lock();
  }
}

// Long on purpose: one server iteration (decode the blocks, one pass over the batch, sample, reply, release) on
// the hot path, with the records each step writes.
void SplitServer::run_batch(std::vector<Work>& batch, double started) {
  const ModelSpec& m = w_.spec;
  // Decode every block; a block that does not decode or does not fit closes its session only.
  std::vector<Eigen::MatrixXf> blocks(batch.size());
  std::vector<double> decode_s(batch.size(), 0.0);
  std::vector<size_t> ok;
  double busy = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    Session& s = *batch[i].session;
    if (!s.alive) continue;
    const double t0 = now_s();
    try {
      wire_decode(batch[i].wire, m.dim, blocks[i]);
      if (s.cache.pos + blocks[i].cols() > s.cache.capacity())
        throw InputError(fmt::format("hidden: {} more tokens exceed the session's context of {}", blocks[i].cols(),
                                     s.cache.capacity()));
      ok.push_back(i);
    } catch (const std::exception& e) {
      fail(s, e.what());
    }
    batch[i].wire = {};
    batch[i].reserved.release();
    decode_s[i] = now_s() - t0;
    busy += decode_s[i];
  }
  if (ok.empty()) {
    std::lock_guard lk(mu_);
    totals_.busy += busy;
    return;
  }
  // One forward pass for all sequences: x (d, sum of block lengths), the sessions that enter at the lowest layer
  // first (forward_layers runs each layer over a leading block of columns).
  std::stable_sort(ok.begin(), ok.end(),
                   [&](size_t a, size_t b) { return batch[a].session->split < batch[b].session->split; });
  const double t0 = now_s();
  int64_t n = 0;
  for (size_t i : ok) n += blocks[i].cols();
  Eigen::MatrixXf x(m.dim, n), logits;
  std::vector<Segment> segs;
  std::vector<int64_t> last;
  int64_t col = 0;
  for (size_t i : ok) {
    x.middleCols(col, blocks[i].cols()) = blocks[i];
    segs.push_back({&batch[i].session->cache, blocks[i].cols(), batch[i].session->split});
    col += blocks[i].cols();
    last.push_back(col - 1);
  }
  forward_layers(w_, segs, x, ws_);
  forward_head(w_, x, last, logits, ws_);  // (V, sequences)
  // Logits no token can be sampled from (a model with NaN weights) end that session's request alone.
  std::vector<int32_t> tokens(ok.size(), -1);
  std::vector<std::string> sample_errors(ok.size());
  for (size_t k = 0; k < ok.size(); ++k) {
    try {
      tokens[k] = batch[ok[k]].session->sampler->sample(
          {logits.col(static_cast<Eigen::Index>(k)).data(), static_cast<size_t>(m.vocab_size)});
    } catch (const std::exception& e) {
      sample_errors[k] = fmt::format("sampling: {}", e.what());
    }
  }
  const double compute = now_s() - t0;
  busy += compute;
  for (size_t k = 0; k < ok.size(); ++k) {
    Session& s = *batch[ok[k]].session;
    if (tokens[k] < 0) {
      fail(s, sample_errors[k]);
      continue;
    }
    {
      std::lock_guard lk(s.steps_mu);
      // A kv_move applied before this step is decoding the session's upload too: it counts with the block's.
      s.steps.push_back({started - batch[ok[k]].received, decode_s[ok[k]] + s.move_decode, compute,
                         static_cast<int64_t>(ok.size())});
      s.move_decode = 0;
    }
    uint8_t tok[4];
    std::memcpy(tok, &tokens[k], 4);
    s.last_active = now_s();
    s.awaiting = false;  // before sending: the client may answer at once
    try {
      send(s, {FrameType::token, s.id, std::vector<uint8_t>(tok, tok + 4)});
    } catch (const std::exception& e) {
      fail(s, fmt::format("client connection lost ({})", e.what()));
    }
  }
  std::lock_guard lk(mu_);
  totals_.busy += busy;
  totals_.batches += 1;
  totals_.steps += static_cast<int64_t>(ok.size());
  totals_.max_batch_seen = std::max<int64_t>(totals_.max_batch_seen, static_cast<int64_t>(ok.size()));
}

}  // namespace splitsim
