// The split server. Threads: an acceptor, one reader per session (frames in, protocol checks), and one
// scheduler that forms batches and runs them. A session's life: hello -> hello_ack; then (hidden -> token)*;
// then end -> stats. The reader refuses a second hidden block before the token of the first was sent, a frame
// of the wrong type, or a malformed header; the scheduler refuses a wire block that does not decode or does
// not fit the session's context. Each refusal sends an error frame and closes that session alone.
#include "executor/server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "executor/wire.hpp"

namespace splitsim {

nlohmann::json ServerOptions::to_json() const {
  return {{"host", host}, {"port", port}, {"batch_window_s", batch_window}, {"max_batch", max_batch}};
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
          {"weights_bytes", weights_bytes},
          {"kv_bytes_peak", kv_bytes_peak}};
}

struct SplitServer::Session {
  uint32_t id = 0;
  Socket socket;
  std::mutex send_mu;
  std::atomic<bool> alive{true};
  std::atomic<bool> awaiting{false};  // a hidden block is queued or running; the next may come after its token
  std::atomic<bool> ready{false};     // hello accepted
  KvCache cache;
  std::unique_ptr<Sampler> sampler;
  std::mutex steps_mu;
  std::vector<ServerStep> steps;
  double kv_bytes = 0;
};

SplitServer::SplitServer(const ModelWeights& w, int64_t split, ServerOptions o)
    : w_(w), split_(split), opt_(std::move(o)), listener_(opt_.host, opt_.port) {
  totals_.weights_bytes = w_.bytes();
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
  for (auto& t : readers_)
    if (t.joinable()) t.join();
  listener_.close();
}

ServerTotals SplitServer::totals() const {
  std::lock_guard lk(mu_);
  return totals_;
}

std::vector<std::string> SplitServer::session_errors() const {
  std::lock_guard lk(mu_);
  return errors_;
}

void SplitServer::accept_loop() {
  while (!stop_) {
    Socket sock = listener_.accept(0.05);
    if (!sock.valid()) continue;
    auto s = std::make_shared<Session>();
    s->socket = std::move(sock);
    {
      std::lock_guard lk(mu_);
      s->id = next_session_++;
      sessions_[s->id] = s;
      ++totals_.sessions_opened;
    }
    readers_.emplace_back([this, s] { reader_loop(s); });
  }
}

void SplitServer::send(Session& s, const Frame& f) {
  std::lock_guard lk(s.send_mu);
  write_frame(s.socket, f);
}

// Sends an error frame (best effort) and closes the session; other sessions are untouched.
void SplitServer::fail(Session& s, const std::string& why) {
  if (!s.alive.exchange(false)) return;
  try {
    Frame f{FrameType::error, s.id, std::vector<uint8_t>(why.begin(), why.end())};
    send(s, f);
  } catch (const std::exception&) {
  }
  s.socket.shutdown();
  std::lock_guard lk(mu_);
  errors_.push_back(fmt::format("session {}: {}", s.id, why));
  ++totals_.sessions_failed;
  cv_.notify_all();
}

void SplitServer::reader_loop(std::shared_ptr<Session> s) {
  Session& ss = *s;
  auto finish = [&] {
    std::lock_guard lk(mu_);
    kv_bytes_live_ -= ss.kv_bytes;
    ss.kv_bytes = 0;
    sessions_.erase(ss.id);
    cv_.notify_all();
  };
  try {
    Frame f;
    while (ss.alive) {
      if (!read_frame(ss.socket, f)) {  // the client went away
        if (ss.alive.exchange(false)) {
          std::lock_guard lk(mu_);
          if (ss.ready) {
            errors_.push_back(fmt::format("session {}: client connection lost (closed mid-request)", ss.id));
            ++totals_.sessions_failed;
          }
        }
        break;
      }
      if (f.type == FrameType::hello && !ss.ready) {
        auto j = nlohmann::json::parse(f.payload.begin(), f.payload.end(), nullptr, false);
        if (j.is_discarded() || !j.is_object()) throw InputError("hello: expected a JSON object");
        const std::string fp = j.value("fingerprint", "");
        if (fp != w_.fingerprint)
          throw InputError(fmt::format("hello: the edge's weights ({}) are not the server's ({}): start both with the "
                                       "same --model/--seed or --checkpoint",
                                       fp, w_.fingerprint));
        if (j.value("split", int64_t{-1}) != split_)
          throw InputError(fmt::format("hello: the edge splits at {}, this server at {}", j.value("split", int64_t{-1}), split_));
        const int64_t context = j.value("context", int64_t{0});
        if (context < 1 || context > w_.spec.max_seq_len)
          throw InputError(fmt::format("hello: expected a context in 1..{}, got {}", w_.spec.max_seq_len, context));
        SamplingConfig sc;
        sc.temperature = j.value("temperature", 0.0);
        sc.top_p = j.value("top_p", 0.9);
        sc.seed = j.value("seed", uint64_t{42});
        ss.sampler = std::make_unique<Sampler>(sc);
        ss.cache = KvCache(w_.spec, w_.part, context);
        ss.ready = true;
        {
          std::lock_guard lk(mu_);
          ss.kv_bytes = ss.cache.bytes();
          kv_bytes_live_ += ss.kv_bytes;
          totals_.kv_bytes_peak = std::max(totals_.kv_bytes_peak, kv_bytes_live_);
        }
        std::string ack = nlohmann::json{{"session", ss.id}, {"server_weights_bytes", w_.bytes()},
                                         {"server_kv_bytes", ss.kv_bytes}}
                              .dump();
        send(ss, {FrameType::hello_ack, ss.id, std::vector<uint8_t>(ack.begin(), ack.end())});
      } else if (f.type == FrameType::hidden && ss.ready) {
        if (ss.awaiting.exchange(true)) throw InputError("hidden: a second block before the token of the first");
        std::lock_guard lk(mu_);
        queue_.push_back({s, std::move(f.payload), now_s()});
        f.payload = {};
        cv_.notify_all();
      } else if (f.type == FrameType::end && ss.ready && !ss.awaiting) {
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
      } else {
        throw InputError(fmt::format("frame: unexpected {} frame in this state of the session", frame_type_name(f.type)));
      }
    }
  } catch (const std::exception& e) {
    fail(ss, e.what());
  }
  finish();
}

void SplitServer::schedule_loop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (stop_) break;
    // Gather: wait up to the window for the other live sessions' steps; a session cannot send two.
    const double deadline = queue_.front().received + opt_.batch_window;
    while (!stop_) {
      int64_t live = 0;
      for (auto& [id, s] : sessions_) live += (s->alive && s->ready) ? 1 : 0;
      if (static_cast<int64_t>(queue_.size()) >= std::min(live, opt_.max_batch) || now_s() >= deadline) break;
      cv_.wait_for(lk, std::chrono::duration<double>(std::max(0.0, deadline - now_s())));
    }
    std::vector<Work> batch;
    while (!queue_.empty() && static_cast<int64_t>(batch.size()) < opt_.max_batch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lk.unlock();
    run_batch(batch, now_s());
    lk.lock();
  }
}

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
    decode_s[i] = now_s() - t0;
    busy += decode_s[i];
  }
  if (ok.empty()) {
    std::lock_guard lk(mu_);
    totals_.busy += busy;
    return;
  }
  // One forward pass for all sequences: x (d, sum of block lengths).
  const double t0 = now_s();
  int64_t n = 0;
  for (size_t i : ok) n += blocks[i].cols();
  Eigen::MatrixXf x(m.dim, n), logits;
  std::vector<Segment> segs;
  std::vector<int64_t> last;
  int64_t col = 0;
  for (size_t i : ok) {
    x.middleCols(col, blocks[i].cols()) = blocks[i];
    segs.push_back({&batch[i].session->cache, blocks[i].cols()});
    col += blocks[i].cols();
    last.push_back(col - 1);
  }
  forward_layers(w_, segs, x, ws_);
  forward_head(w_, x, last, logits, ws_);  // (V, sequences)
  std::vector<int32_t> tokens(ok.size());
  for (size_t k = 0; k < ok.size(); ++k)
    tokens[k] = batch[ok[k]].session->sampler->sample({logits.col(static_cast<Eigen::Index>(k)).data(),
                                                       static_cast<size_t>(m.vocab_size)});
  const double compute = now_s() - t0;
  busy += compute;
  for (size_t k = 0; k < ok.size(); ++k) {
    Session& s = *batch[ok[k]].session;
    {
      std::lock_guard lk(s.steps_mu);
      s.steps.push_back({started - batch[ok[k]].received, decode_s[ok[k]], compute, static_cast<int64_t>(ok.size())});
    }
    uint8_t tok[4];
    std::memcpy(tok, &tokens[k], 4);
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
