// One request from the edge: connect, hello (model fingerprint, split, context, sampling), then per step:
// run the edge layers on the new tokens (the prompt block first, then one token at a time), encode, send,
// wait for the token. A step whose split schedule gives fewer layers than the last step's runs its own layers, then
// sends the KV of the layers it hands over (one kv_move frame each) ahead of its block. At the end the server's
// per-step timings come back in a stats frame and are merged into the step records. The request's clock starts
// after the handshake (the simulator has no handshake).
#include "executor/edge.hpp"

#include <fmt/format.h>

#include <cstring>

#include "core/error.hpp"
#include "core/formats/kv_move.hpp"
#include "executor/forward.hpp"
#include "executor/generate.hpp"
#include "executor/tokenizer.hpp"

namespace splitsim {

namespace {

Frame json_frame(FrameType t, const nlohmann::json& j) {
  std::string s = j.dump();
  return {t, 0, std::vector<uint8_t>(s.begin(), s.end())};
}

// The kv_move payload handing layers [to, from) to the server: their cached keys and values of the first
// `positions` tokens, through the session's wire codec (core/formats/kv_move.hpp).
void kv_move_payload(const KvCache& cache, int64_t positions, int64_t kv_dim, int64_t to, int64_t from,
                     const CodecSpec& codec, Eigen::MatrixXf& rows, std::vector<uint8_t>& wire,
                     std::vector<uint8_t>& out) {
  const KvMoveHeader h{to, from, positions};
  rows.resize(kv_dim, h.rows());  // one column per row of the block
  for (int64_t l = to; l < from; ++l)
    for (int64_t p = 0; p < h.positions; ++p) {
      std::copy_n(cache.key(l, p), kv_dim, rows.col(kv_move_row(h, l, false, p)).data());
      std::copy_n(cache.value(l, p), kv_dim, rows.col(kv_move_row(h, l, true, p)).data());
    }
  wire_encode(rows, codec, wire);
  out.resize(static_cast<size_t>(kKvMoveHeaderBytes) + wire.size());
  write_kv_move_header(h, out.data());
  std::copy(wire.begin(), wire.end(), out.begin() + kKvMoveHeaderBytes);
}

[[noreturn]] void refused(const Frame& f, const char* when) {
  if (f.type == FrameType::error)
    throw InputError(fmt::format("server refused the session ({}): {}", when,
                                 std::string(f.payload.begin(), f.payload.end())));
  throw InputError(fmt::format("server: expected a reply to {}, got a {} frame", when, frame_type_name(f.type)));
}

}  // namespace

EdgeResult run_edge_request(const ModelWeights& w, const EdgeOptions& o, std::span<const int32_t> prompt,
                            int64_t request, int64_t device, double run_start,
                            const std::function<void(int32_t)>& on_token) {
  const ModelSpec& m = w.spec;
  if (prompt.empty()) throw InputError("prompt: expected at least one token (BOS), got none");
  const int64_t context = context_for(m, static_cast<int64_t>(prompt.size()), o.steps);
  if (static_cast<int64_t>(prompt.size()) >= m.max_seq_len)
    throw InputError(fmt::format("prompt: expected fewer than {} tokens, got {}", m.max_seq_len, prompt.size()));
  EdgeResult r;
  Socket sock = connect_tcp(o.host, o.port);
  LinkShape link = o.link;
  if (link.trace && link.origin <= 0) link.origin = now_s();  // the trace's time 0: this client's start
  ShapedSender up(sock, link);
  ShapedReceiver down(sock, link);

  const SplitSchedule schedule = o.effective_schedule();
  const auto P = static_cast<int64_t>(prompt.size());
  if (schedule.first() > w.part.layer_end)
    throw InputError(fmt::format("split {}: the edge holds layers [0, {}) only", schedule.first(), w.part.layer_end));
  nlohmann::json hello{{"fingerprint", w.fingerprint},
                       {"split", schedule.at(P - 1)},
                       {"context", context},
                       {"temperature", o.sampling.temperature},
                       {"top_p", o.sampling.top_p},
                       {"seed", o.sampling.seed}};
  if (schedule.moves()) hello["schedule"] = schedule.to_string();
  Frame f = json_frame(FrameType::hello, hello);
  up.send(f);
  r.control_bytes_up += static_cast<double>(f.wire_bytes());
  if (!down.receive(f)) throw InputError("server closed the connection during the handshake");
  if (f.type != FrameType::hello_ack) refused(f, "hello");
  r.control_bytes_down += static_cast<double>(f.wire_bytes());
  {
    auto ack = nlohmann::json::parse(f.payload.begin(), f.payload.end(), nullptr, false);
    if (ack.is_object()) {
      r.server_weights_bytes = ack.value("server_weights_bytes", 0.0);
      r.server_kv_bytes = ack.value("server_kv_bytes", 0.0);
    }
  }

  KvCache cache(m, ModelPart::edge(schedule.first()), context);
  if (o.start_gate) o.start_gate();
  Workspace ws;
  Eigen::MatrixXf x;  // (d, T)
  Eigen::MatrixXf kv_rows;  // (kv_dim, rows) of a kv_move block
  std::vector<uint8_t> wire, kv_wire;
  int64_t split = schedule.at(P - 1);  // the prompt's: its last position's
  SplitTracker own;
  SplitTracker* tracker = nullptr;  // a reacting schedule's
  if (o.reaction && schedule.reacts()) {
    tracker = o.tracker;
    if (!tracker) own = SplitTracker(&*o.schedule, *o.reaction), tracker = &own;
    tracker->start_request(P - 1);
  }
  std::vector<int32_t> block(prompt.begin(), prompt.end());
  RequestRecord& rec = r.record;
  rec.request = request;
  rec.device = device;
  rec.group = "exec";
  rec.prompt_tokens = static_cast<int64_t>(prompt.size());
  const double arrival = now_s();
  rec.arrival = arrival - run_start;
  double first_token_at = 0, last_token_at = arrival;

  for (int64_t step = 0;; ++step) {
    TokenRecord tr;
    tr.request = request;
    tr.step = step;
    // The step runs at the split of its last position; layers [next_split, split) go to the server first: after
    // this step's own layers, one kv_move frame per layer (top layer first), then the block, back to back.
    const int64_t cached = cache.pos, position = cached + static_cast<int64_t>(block.size()) - 1;
    if (tracker && step > 0) tracker->advance(position);
    const int64_t next_split = tracker ? tracker->split() : schedule.at(position);
    tr.split = next_split;
    const double t0 = now_s();
    embed(w, block, x);  // (d, T)
    Segment seg{&cache, static_cast<int64_t>(block.size())};
    forward_layers(w, {&seg, 1}, x, ws, next_split);
    const double t1 = now_s();
    std::vector<Frame> moves;
    for (; split > next_split; --split) {
      moves.push_back({FrameType::kv_move, 0, {}});
      kv_move_payload(cache, cached, m.kv_dim(), split - 1, split, o.wire, kv_rows, kv_wire, moves.back().payload);
    }
    wire_encode(x, o.wire, wire);
    const double t2 = now_s(), carried = up.serialized();
    for (const Frame& move : moves) {
      up.send(move);
      tr.bytes_moved += move.wire_bytes();
    }
    Frame hidden{FrameType::hidden, 0, wire};
    up.send(hidden);
    tr.bytes_up = hidden.wire_bytes();
    if (tracker) tracker->observe(static_cast<double>(tr.bytes_up + tr.bytes_moved), up.serialized() - carried);
    double arrived = 0, delivered = 0;
    if (!down.receive(f, &arrived, &delivered)) throw InputError("server closed the connection mid-request");
    if (f.type == FrameType::error &&
        std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()).starts_with(kSessionTimedOut)) {
      // The server closed the silent session (a link outage outlasted its session timeout): the request fails with
      // the tokens it got; the client goes on with its next request. Any other error frame is a refusal.
      r.failure = std::string(f.payload.begin(), f.payload.end());
      rec.failed = true;
      rec.bytes_up += static_cast<double>(tr.bytes_up + tr.bytes_moved);
      rec.bytes_moved += static_cast<double>(tr.bytes_moved);
      rec.bytes_down += static_cast<double>(f.wire_bytes());
      last_token_at = delivered;
      break;
    }
    if (f.type != FrameType::token || f.payload.size() != 4) refused(f, "a hidden block");
    tr.edge_compute = t1 - t0;
    tr.encode = t2 - t1;
    tr.uplink = up.wait_delivered() - t2;  // the moves and the block: the link carries them back to back
    tr.downlink = delivered - arrived;
    tr.bytes_down = f.wire_bytes();
    r.steps.push_back(tr);
    int32_t token = 0;
    std::memcpy(&token, f.payload.data(), 4);
    if (token < 0 || token >= m.vocab_size) throw InputError(fmt::format("server: token id {} out of range", token));
    if (token == kBosToken) break;  // end of text
    r.tokens.push_back(token);
    if (on_token) on_token(token);
    if (r.tokens.size() > 1) rec.tbt_max = std::max(rec.tbt_max, delivered - last_token_at);
    last_token_at = delivered;
    if (r.tokens.size() == 1) first_token_at = delivered;
    if (static_cast<int64_t>(r.tokens.size()) >= o.steps || cache.pos + 1 > cache.capacity()) break;
    block.assign(1, token);
  }

  // The server's per-step timings come back in its stats frame; a session it closed sends none.
  std::vector<ServerStep> server_steps;
  if (!rec.failed) {
    f = {FrameType::end, 0, {}};
    up.send(f);
    r.control_bytes_up += static_cast<double>(f.wire_bytes());
    if (!down.receive(f)) throw InputError("server closed the connection before its stats");
    if (f.type != FrameType::stats) refused(f, "end");
    r.control_bytes_down += static_cast<double>(f.wire_bytes());
    auto stats = nlohmann::json::parse(f.payload.begin(), f.payload.end(), nullptr, false);
    if (stats.is_discarded() || !stats.contains("steps")) throw InputError("stats frame: expected a JSON object with steps");
    server_steps = steps_from_json(stats["steps"]);
    if (server_steps.size() != r.steps.size())
      throw InputError(fmt::format("stats frame: expected {} steps, got {}", r.steps.size(), server_steps.size()));
  }

  for (size_t i = 0; i < r.steps.size(); ++i) {
    TokenRecord& tr = r.steps[i];
    if (!server_steps.empty()) {
      const ServerStep& ss = server_steps[i];
      tr.server_queue = ss.queue;
      tr.decode = ss.decode;
      tr.server_compute = ss.compute;
      r.server_busy_share += ss.decode + ss.compute / static_cast<double>(std::max<int64_t>(ss.batch, 1));
      r.server_batch.push_back(ss.batch);
    }
    rec.edge_compute += tr.edge_compute;
    rec.encode += tr.encode;
    rec.uplink += tr.uplink;
    rec.server_queue += tr.server_queue;
    rec.server_decode += tr.decode;
    rec.server_compute += tr.server_compute;
    rec.downlink += tr.downlink;
    rec.bytes_up += static_cast<double>(tr.bytes_up + tr.bytes_moved);
    rec.bytes_moved += static_cast<double>(tr.bytes_moved);
    rec.bytes_down += static_cast<double>(tr.bytes_down);
  }
  rec.output_tokens = static_cast<int64_t>(r.tokens.size());
  rec.ttft = r.tokens.empty() ? 0 : first_token_at - arrival;
  rec.e2e = last_token_at - arrival;
  rec.tpot = rec.output_tokens > 1 ? (rec.e2e - rec.ttft) / static_cast<double>(rec.output_tokens - 1) : 0;
  r.edge_weights_bytes = w.bytes();
  r.edge_kv_bytes = cache.bytes();
  r.edge_workspace_bytes = ws.bytes() + static_cast<double>(x.size() * 4 + static_cast<int64_t>(wire.capacity()));
  rec.edge_memory_peak = r.edge_weights_bytes + r.edge_kv_bytes + r.edge_workspace_bytes;
  return r;
}

}  // namespace splitsim
