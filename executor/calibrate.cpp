// Executor-level calibration: times the executor's own operators on this host and writes them as tables.
//
// What is measured, and why this way:
//  - Layers: the whole stack of a random-weight model of the given shape (weights at the given bits, embedding
//    fp32 as in the executor) is run and the time divided by the layer count, so each layer sees the cache state
//    of a real forward pass (a layer timed alone would sit in the caches; in a split run the server's head and
//    the other layers evict it). Prefill: T tokens from an empty cache. Decode: B sequences of one token each at
//    two context lengths; the difference gives the attention cost per cached position, the rest is the base.
//  - Head: final norm + LM head + greedy sampling of B columns, as the server runs it per batch.
//  - Codecs: wire_encode / wire_decode of the executor on hidden states produced by the model itself.
//  - Transport: real local split runs (server + one client over loopback, shaped link) of a tiny model; what a
//    request takes beyond its measured compute, codec and shaped-link times is the per-message overhead of the
//    framed TCP path (socket calls, thread hand-offs). Prompts of several lengths give the per-byte term.
// Timing: every figure is the mean of single calls, each after a short idle wait, as a split run's steps follow
// network waits (time_per_call). Several clients and the server sharing the host's cores are not measured
// here: the simulator shares the cores itself (server.shared_cores), so one table serves any client count.
// On a shared host, interference from other processes slows runs and these samples alike; calibrating just
// before validating (`splitsim validate --calibrate`, or per scenario with `--calibrate-each`) compares like
// with like.
#include "executor/calibrate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "core/output.hpp"
#include "executor/forward.hpp"
#include "executor/linear.hpp"
#include "executor/local_run.hpp"
#include "executor/sampler.hpp"
#include "executor/transport.hpp"
#include "executor/weights.hpp"
#include "executor/wire.hpp"
#include "hwprofiles/measured_tables.hpp"
#include "models/model_spec.hpp"

namespace splitsim {

namespace {

constexpr const char* kBlockBegin = "# >>> executor calibration (splitsim calibrate-executor; this block is rewritten) >>>";
constexpr const char* kBlockEnd = "# <<< executor calibration <<<";

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string toml_list(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += fmt::format("{}{:.6g}", i ? ", " : "", v[i]);
  return s + "]";
}

// Mean seconds per call of f, timed as the executor's steps run: one call at a time, each after an idle wait of
// kIdleWait (in a split run every step follows a wait on the network, so the thread wakes on a core that idled
// or served others, with cold caches and predictors), over at least `window` seconds and `min_calls` calls after
// one warm-up call. The mean, not the median: a run's TPOT and end-to-end are sums over steps, so on a shared
// host they include the slow episodes that a median would discard (measured here: the mean of a 10-layer
// stories110M step is 1.07-1.15x its median, and a tiny model's step after a wait 1.6x the same step looped).
constexpr double kIdleWait = 2e-3;

double time_per_call(const std::function<void()>& f, double window, int min_calls) {
  f();
  double total = 0;
  int64_t calls = 0;
  const double start = now_s();
  while (calls < min_calls || now_s() - start < window) {
    std::this_thread::sleep_for(std::chrono::duration<double>(kIdleWait));
    const double t0 = now_s();
    f();
    total += now_s() - t0;
    ++calls;
  }
  return total / static_cast<double>(calls);
}

struct Settings {
  double window;  // s of timed calls per figure (time_per_call)
  int samples;    // and at least this many calls
  std::vector<int64_t> prefill_tokens, batches, codec_tokens, transport_prompts;
  std::vector<double> wake_delays;  // one-way link delays (s) of the wake runs (measure_wake), the first 0
  int wake_requests, wake_steps;
};

Settings settings_for(bool quick) {
  if (quick) return {0.06, 5, {1, 4, 16, 32}, {1, 2, 4}, {1, 16, 64}, {1, 128}, {0, 2e-3, 10e-3}, 1, 16};
  return {0.2, 5, {1, 2, 4, 8, 16, 32, 64}, {1, 2, 4, 8}, {1, 4, 16, 64}, {1, 32, 128, 256},
          {0, 1e-3, 3e-3, 10e-3, 30e-3}, 2, 24};
}

// ---------------------------------------------------------------------------------------------- layers

std::string measure_layers(const ModelWeights& w, int bits, int group_size, const Settings& st,
                           const std::string& source, const Eigen::MatrixXf& x0, LayerTable& out) {
  const ModelSpec& m = w.spec;
  const double L = static_cast<double>(m.n_layers);
  const int64_t ctx_lo = std::min<int64_t>(16, m.max_seq_len / 4);
  const int64_t ctx_hi = std::min<int64_t>(256, m.max_seq_len - 1);
  int64_t tmax = 0;
  for (auto t : st.prefill_tokens) tmax = std::max(tmax, std::min<int64_t>(t, m.max_seq_len / 2));
  Workspace ws;
  Eigen::MatrixXf x;

  // Prefill: T tokens from an empty cache.
  std::vector<double> pt, ps;
  KvCache cache(m, w.part, std::max(tmax, ctx_hi + 1));
  for (int64_t T : st.prefill_tokens) {
    if (T > m.max_seq_len / 2) continue;
    const double s = time_per_call(
        [&] {
          cache.pos = 0;
          x = x0.leftCols(T);
          Segment seg{&cache, T};
          forward_layers(w, {&seg, 1}, x, ws);
        },
        st.window, st.samples);
    pt.push_back(static_cast<double>(T));
    ps.push_back(s / L);
  }

  // Decode: B sequences, one token each, at two contexts.
  int64_t bmax = 0;
  for (auto b : st.batches) bmax = std::max(bmax, b);
  std::vector<KvCache> caches;
  for (int64_t b = 0; b < bmax; ++b) caches.emplace_back(m, w.part, ctx_hi + 1);
  auto decode = [&](int64_t B, int64_t ctx) {
    return time_per_call(
               [&] {
                 std::vector<Segment> segs;
                 for (int64_t b = 0; b < B; ++b) {
                   caches[static_cast<size_t>(b)].pos = ctx - 1;  // the new token attends ctx positions
                   segs.push_back({&caches[static_cast<size_t>(b)], 1});
                 }
                 x = x0.leftCols(B);
                 forward_layers(w, segs, x, ws);
               },
               st.window, st.samples) /
           L;
  };
  std::vector<double> db, lo, hi;
  double slope_sum = 0;
  for (int64_t B : st.batches) {
    db.push_back(static_cast<double>(B));
    lo.push_back(decode(B, ctx_lo));
    hi.push_back(decode(B, ctx_hi));
    slope_sum += std::max(0.0, hi.back() - lo.back()) / static_cast<double>(B * (ctx_hi - ctx_lo));
  }
  const double per_context = slope_sum / static_cast<double>(db.size());
  std::vector<double> base;
  for (size_t i = 0; i < db.size(); ++i) base.push_back(std::max(0.0, lo[i] - per_context * db[i] * static_cast<double>(ctx_lo)));

  // Head + greedy sampling of B columns.
  std::vector<double> hs;
  Eigen::MatrixXf logits;
  for (int64_t B : st.batches) {
    std::vector<int64_t> cols;
    for (int64_t b = 0; b < B; ++b) cols.push_back(b);
    Eigen::MatrixXf xb = x0.leftCols(B);
    hs.push_back(time_per_call(
        [&] {
          forward_head(w, xb, cols, logits, ws);
          for (int64_t b = 0; b < B; ++b)
            (void)argmax({logits.col(static_cast<Eigen::Index>(b)).data(), static_cast<size_t>(m.vocab_size)});
        },
        st.window, st.samples));
  }

  out.decode_base = Curve{db, base};
  out.decode_per_context = per_context;
  out.head = Curve{db, hs};
  std::string t = "\n[[executor.layers]]\n";
  t += fmt::format("model = \"{}\"\ndim = {}\nn_layers = {}\nbits = {}\ngroup_size = {}\nsource = \"{}\"\n", m.name,
                   m.dim, m.n_layers, bits, group_size, source);
  t += fmt::format("prefill_tokens = {}\nprefill_s = {}  # one layer, T tokens from an empty cache\n", toml_list(pt),
                   toml_list(ps));
  t += fmt::format("decode_batch = {}\ndecode_s = {}  # one layer, B sequences at zero context\n", toml_list(db),
                   toml_list(base));
  t += fmt::format("decode_s_per_context = {:.6g}  # per layer, per cached position of each sequence (contexts {} and {})\n",
                   per_context, ctx_lo, ctx_hi);
  t += fmt::format("head_batch = {}\nhead_s = {}  # final norm + LM head + greedy sampling of B columns\n", toml_list(db),
                   toml_list(hs));
  return t;
}

// ---------------------------------------------------------------------------------------------- codecs

std::string measure_codec(const std::string& codec, const Eigen::MatrixXf& h, const Settings& st,
                          const std::string& source, CodecTable& out) {
  CodecSpec c;
  c.codec = parse_wire_codec(codec, "--codecs", "");
  const int64_t d = h.rows();
  std::vector<double> ts, enc, dec;
  std::vector<uint8_t> wire;
  Eigen::MatrixXf y;
  for (int64_t T : st.codec_tokens) {
    if (T > h.cols()) continue;
    Eigen::MatrixXf x = h.leftCols(T);
    ts.push_back(static_cast<double>(T));
    enc.push_back(time_per_call([&] { wire_encode(x, c, wire); }, st.window, st.samples));
    wire_encode(x, c, wire);
    dec.push_back(time_per_call([&] { wire_decode(wire, d, y); }, st.window, st.samples));
  }
  out.encode = Curve{ts, enc};
  out.decode = Curve{ts, dec};
  std::string t = "\n[[executor.codecs]]\n";
  t += fmt::format("codec = \"{}\"\ndim = {}\nsource = \"{}\"\n", codec, d, source);
  t += fmt::format("tokens = {}\nencode_s = {}\ndecode_s = {}\n", toml_list(ts), toml_list(enc), toml_list(dec));
  return t;
}

// ---------------------------------------------------------------------------------------------- memory

// Weight-streaming bandwidth of main memory with one thread and with every core's thread at once: each thread
// runs the executor's own fp32 matrix-vector product (matmul_fp32, how a memory-bound step reads its weights) over
// its own 128 MiB matrix, four times the last-level cache, all released together. The simulator shares the
// second among the steps that stream weights at the same time on the host's shared cores (two fp32 stories110M
// steps at once take 1.23x as long each here, two 4-bit ones do not). A plain read loop is no substitute: without
// wide vector instructions it is bound by its additions, not by memory (10 GB/s here against the product's 23).
std::string measure_memory(const Settings& st, const std::string& source, int cores, bool progress) {
  const int64_t rows = 4096, cols = 8192;  // 128 MiB of fp32 per thread
  std::vector<std::vector<float>> mats(static_cast<size_t>(cores), std::vector<float>(static_cast<size_t>(rows * cols), 0.5f));
  std::vector<float> x(static_cast<size_t>(cols), 1.0f);
  std::vector<std::vector<float>> ys(static_cast<size_t>(cores), std::vector<float>(static_cast<size_t>(rows)));
  const size_t n = static_cast<size_t>(rows * cols);
  auto read = [&](int i) {
    matmul_fp32(mats[static_cast<size_t>(i)].data(), rows, cols, x.data(), 1, ys[static_cast<size_t>(i)].data());
  };
  const double bytes = static_cast<double>(n * sizeof(float));
  const int rounds = st.samples;
  auto bandwidth = [&](int threads) {
    double total = 0;
    for (int r = 0; r <= rounds; ++r) {  // round 0 warms up
      std::barrier start(threads + 1);
      std::vector<std::thread> ts;
      for (int i = 0; i < threads; ++i) ts.emplace_back([&, i] { start.arrive_and_wait(); read(i); });
      const double t0 = now_s();
      start.arrive_and_wait();
      for (auto& t : ts) t.join();
      if (r > 0) total += now_s() - t0;
    }
    return static_cast<double>(threads) * bytes * rounds / total;
  };
  const double single = bandwidth(1), all = bandwidth(cores);
  if (progress) fmt::print(stderr, "  memory read: {:.1f} GB/s one thread, {:.1f} GB/s {} threads\n", single / 1e9, all / 1e9, cores);
  std::string t = "\n[executor.memory]\n";
  t += fmt::format("source = \"{}\"\n", source);
  t += "# B/s read from main memory by one thread, and by `threads` threads at once (summed)\n";
  t += fmt::format("read_single_Bps = {:.6g}\nread_all_Bps = {:.6g}\nthreads = {}\n", single, all, cores);
  return t;
}

// ---------------------------------------------------------------------------------------------- waking up

// Wake curves (measured_tables.hpp): real local split runs of the model `w` (both parts at its bit-width, split in
// the middle, one client, the wire codec `wire`) over links whose one-way delay grows from none to 30 ms. For each
// delay, a stage's factor is the median over decode steps of its measured time over what the tables predict for
// that step (`predict`: the layers at its context, the head, one token's codec); the median time the edge waited
// between sending a block and receiving its token is the edge's idle gap, and what a step took beyond the server's
// own stages the server's. So a curve holds both the cost of waking up and what a run pays per step that an
// isolated call does not (the step's copies and hand-offs around the timed call); a stage the tables do not
// predict (0) gets factor 1.
struct WakeCurves {
  std::vector<double> edge_gap, server_gap, edge, server, encode, decode;
};
struct WakePredict {
  const LayerTable* layers = nullptr;  // the model's table at this bit-width (none: the layers' factors are 1)
  double encode = 0, decode = 0;       // s of one token's codec (0: those factors are 1)
};

WakeCurves measure_wake(const ModelWeights& w, const CodecSpec& wire, const Settings& st, uint64_t seed,
                        const WakePredict& predict) {
  const ModelSpec& m = w.spec;
  const int64_t split = std::max<int64_t>(1, m.n_layers / 2);
  ModelWeights edge = w, server = w;
  edge.keep_only(ModelPart::edge(split));
  server.keep_only(ModelPart::server(m, split));
  std::vector<int32_t> prompt(8);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>(2 + (i * 37 + seed) % (m.vocab_size - 2));
  EdgeOptions eo;
  eo.split = split;
  eo.wire = wire;
  eo.steps = std::min<int64_t>(st.wake_steps, m.max_seq_len - static_cast<int64_t>(prompt.size()) - 1);
  ServerOptions so;
  so.batch_window = 20e-3;  // as `splitsim validate` runs the executor (one client: it never waits)
  WakeCurves c;
  const auto P = static_cast<int64_t>(prompt.size());
  for (double delay : st.wake_delays) {
    eo.link.delay = delay;
    const LocalRunResult r = run_local_split(edge, server, eo, so, 1, st.wake_requests, prompt);
    std::array<std::vector<double>, 4> ratio;  // edge, server, encode, decode: measured over predicted
    std::vector<double> eg, sg;
    auto add = [&](size_t i, double measured, double predicted) {
      if (predicted > 0) ratio[i].push_back(measured / predicted);
    };
    for (const EdgeResult& e : r.requests)
      for (size_t k = 1; k < e.steps.size(); ++k) {  // decode steps (the prompt's cost is another table's)
        const TokenRecord& s = e.steps[k];
        const TokenRecord& p = e.steps[k - 1];
        const int64_t context = P + static_cast<int64_t>(k);  // the step's token attends this many positions
        if (const LayerTable* t = predict.layers) {
          const double layer = t->decode(1, static_cast<double>(context));
          add(0, s.edge_compute, static_cast<double>(split) * layer);
          add(1, s.server_compute, static_cast<double>(m.n_layers - split) * layer + t->head.at(1));
        }
        add(2, s.encode, predict.encode);
        add(3, s.decode, predict.decode);
        eg.push_back(p.uplink + p.server_queue + p.decode + p.server_compute + p.downlink);
        sg.push_back(p.downlink + s.edge_compute + s.encode + s.uplink + s.server_queue);
      }
    auto factor = [&](size_t i) { return ratio[i].empty() ? 1.0 : std::max(1.0, median(ratio[i])); };
    // The gaps grow with the delay; a measured gap at or below the last (noise at tiny delays) is nudged past it.
    auto push_gap = [](std::vector<double>& g, double v) { g.push_back(g.empty() ? v : std::max(v, g.back() * 1.001 + 1e-9)); };
    push_gap(c.edge_gap, median(eg));
    push_gap(c.server_gap, median(sg));
    c.edge.push_back(factor(0)), c.server.push_back(factor(1)), c.encode.push_back(factor(2)), c.decode.push_back(factor(3));
  }
  return c;
}

// ---------------------------------------------------------------------------------------------- transport

// Long on purpose: one measurement procedure (server, clients, interleaved sizes, the fit) whose steps share
// the sockets and threads they set up.
std::string measure_transport(const Settings& st, uint64_t seed, const std::string& source, bool progress) {
  // A tiny model so that compute is small against the transport, a shaped link so the hand-offs are the ones a
  // validation run sees (a shaped link hides the delivery threads' wake-ups inside its delay).
  const ModelSpec m = load_model("stories260k");
  const int64_t split = m.n_layers / 2;
  ModelWeights edge = random_weights(m, seed, ModelPart::edge(split));
  ModelWeights server = random_weights(m, seed, ModelPart::server(m, split));
  EdgeOptions eo;
  eo.split = split;
  eo.link.uplink_rate = eo.link.downlink_rate = 1e9;  // B/s
  eo.link.delay = 1e-3;
  ServerOptions so;
  so.batch_window = 20e-3;  // as `splitsim validate` runs the executor
  auto shaped = [&](double up_bytes, double down_bytes) {
    return 2 * eo.link.delay + up_bytes / eo.link.uplink_rate + down_bytes / eo.link.downlink_rate;
  };
  auto prompt_of = [&](int64_t T) {
    std::vector<int32_t> prompt(static_cast<size_t>(T));
    for (int64_t i = 0; i < T; ++i) prompt[static_cast<size_t>(i)] = static_cast<int32_t>(2 + (i * 37 + 11) % (m.vocab_size - 2));
    return prompt;
  };
  // Per decode step of every request but each client's first (allocations warm up): what the step took beyond
  // its measured compute, codec and shaped-link times. With k clients this also holds the hand-offs of k
  // sessions through the server's batch (a client's block waits for the others' in the batch window).
  auto decode_residuals = [&](const LocalRunResult& res, int per_client) {
    std::vector<double> fixed;
    for (size_t r = 0; r < res.requests.size(); ++r) {
      if (r % static_cast<size_t>(per_client) == 0) continue;
      const EdgeResult& e = res.requests[r];
      double known = 0;
      for (size_t k = 1; k < e.steps.size(); ++k) {
        const TokenRecord& s = e.steps[k];
        known += s.edge_compute + s.encode + s.decode + s.server_compute +
                 shaped(static_cast<double>(s.bytes_up), static_cast<double>(s.bytes_down));
      }
      if (e.steps.size() > 1) fixed.push_back((e.record.e2e - e.record.ttft - known) / static_cast<double>(e.steps.size() - 1));
    }
    return fixed;
  };
  // One client, prompts of several lengths: the per-byte term from the prefill residuals.
  std::vector<double> fixed1, pbytes, presid, queue1;
  for (int64_t T : st.transport_prompts) {
    eo.steps = std::min<int64_t>(32, m.max_seq_len - T - 1);
    LocalRunResult res = run_local_split(edge, server, eo, so, 1, 6, prompt_of(T));
    std::vector<double> r0s;
    for (size_t r = 1; r < res.requests.size(); ++r) {
      const EdgeResult& e = res.requests[r];
      const TokenRecord& s0 = e.steps.front();
      r0s.push_back(e.record.ttft - (s0.edge_compute + s0.encode + s0.decode + s0.server_compute) -
                    shaped(static_cast<double>(s0.bytes_up), static_cast<double>(s0.bytes_down)));
      if (r == 1) pbytes.push_back(static_cast<double>(s0.bytes_up));
    }
    for (double f : decode_residuals(res, 6)) fixed1.push_back(f);
    // The server's scheduler waking for each block (one client: nothing else to wait for): its queue per step.
    for (size_t r = 1; r < res.requests.size(); ++r)
      for (size_t k = 1; k < res.requests[r].steps.size(); ++k) queue1.push_back(res.requests[r].steps[k].server_queue);
    presid.push_back(median(r0s));
  }
  // Least-squares slope of the prefill residual against the prompt frame's bytes.
  double mx = 0, my = 0;
  for (size_t i = 0; i < pbytes.size(); ++i) mx += pbytes[i], my += presid[i];
  mx /= static_cast<double>(pbytes.size());
  my /= static_cast<double>(pbytes.size());
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < pbytes.size(); ++i) sxy += (pbytes[i] - mx) * (presid[i] - my), sxx += (pbytes[i] - mx) * (pbytes[i] - mx);
  const double per_byte = sxx > 0 ? std::max(0.0, sxy / sxx) : 0.0;
  const double decode_frames = static_cast<double>(kFrameHeaderBytes + kWireHeaderBytes + 4 * m.dim + kFrameHeaderBytes + kTokenPayloadBytes);
  // The round trip at 1..cores clients (at most 4): up to the core count each client computes on its own core,
  // so what a step takes beyond its own compute is the message path; beyond it, waiting for a core is what the
  // simulator's shared cores model, and the overhead is taken as at the core count.
  // The residuals hold the scheduler's wake-up too (the queue is not among the known stages); the simulator has it as
  // an event of the server (its queue), so the message path's round trip is what is left.
  const double handoff = median(queue1);
  const int cores = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  std::vector<double> ks, round_trip;
  for (int k = 1; k <= cores; ++k) {
    std::vector<double> fixed = fixed1;
    if (k > 1) {
      eo.steps = 32;
      fixed = decode_residuals(run_local_split(edge, server, eo, so, k, 4, prompt_of(st.transport_prompts.front())), 4);
    }
    ks.push_back(k);
    round_trip.push_back(std::max(0.0, median(fixed) - per_byte * decode_frames - handoff));
  }
  if (progress)
    fmt::print(stderr, "  transport: {:.1f} us per round trip at 1 client, {:.1f} us at {}; {:.3f} ns per byte; the server wakes "
               "in {:.1f} us (prefill residuals {} s)\n",
               round_trip.front() * 1e6, round_trip.back() * 1e6, ks.back(), per_byte * 1e9, handoff * 1e6,
               toml_list(presid));
  std::string t = "\n[executor.transport]\n";
  t += fmt::format("source = \"{}\"\n", source);
  t += "# per message beyond the shaped link's delay and rate: half the measured round trip each way, with this many\n";
  t += "# clients of one local run (beyond the last, as at the last)\n";
  t += fmt::format("clients = {}\nround_trip_s = {}\nper_byte_s = {:.6g}\n", toml_list(ks), toml_list(round_trip), per_byte);
  t += fmt::format("server_handoff_s = {:.6g}  # the server's scheduler waking for a block (its queue with one client)\n",
                   handoff);
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------------------------- entry points

std::string calibrate_executor(const ExecCalibrationOptions& o, const std::string& command) {
  if (o.models.empty()) throw InputError("calibrate-executor: --models: expected at least one model");
  for (int b : o.bits) check_weight_bits("calibrate-executor: --bits", b);
  const Settings st = settings_for(o.quick);
  const std::string host = this_host_name(), date = utc_now();
  const std::string source = fmt::format("measured: {}, {}, {}", host, date, command);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string t;
  t += std::string(kBlockBegin) + "\n";
  t += "# Times of the split executor's own operators on this host (hwprofiles/measured_tables.hpp says how the\n";
  t += "# cost model reads them). Seconds; each the mean of single calls after a short idle wait.\n";
  t += fmt::format("[executor]\nversion = {}\nhost = \"{}\"\ndate = \"{}\"\ncommand = \"{}\"\ncores = {}\n",
                   kMeasuredTablesVersion, host, date, command, cores);
  std::vector<std::pair<std::string, Eigen::MatrixXf>> hidden;  // per model: hidden states for the codecs
  for (const auto& name : o.models) {
    const ModelSpec m = load_model(name);
    ModelWeights whole = random_weights(m, o.seed, ModelPart::whole(m));
    const int64_t tokens = std::min<int64_t>(64, m.max_seq_len / 2);
    std::vector<int32_t> ids(static_cast<size_t>(tokens));
    for (int64_t i = 0; i < tokens; ++i) ids[static_cast<size_t>(i)] = static_cast<int32_t>(2 + (i * 7919 + 13) % (m.vocab_size - 2));
    Eigen::MatrixXf x0;
    embed(whole, ids, x0);  // (d, tokens)
    for (int bits : o.bits) {
      const double t0 = now_s();
      ModelWeights w = whole;
      w.quantize(bits, o.group_size);
      LayerTable lt;
      t += measure_layers(w, bits, o.group_size, st, source, x0, lt);
      WakePredict pr;
      pr.layers = &lt;
      const WakeCurves wc = measure_wake(w, CodecSpec{WireCodec::fp32}, st, o.seed, pr);
      t += fmt::format("wake_edge_gap_s = {}\nwake_edge = {}  # a decode step's layers on the edge after that idle gap, "
                       "as a factor\nwake_server_gap_s = {}\nwake_server = {}  # a server iteration's\n",
                       toml_list(wc.edge_gap), toml_list(wc.edge), toml_list(wc.server_gap), toml_list(wc.server));
      if (o.progress)
        fmt::print(stderr, "  layers {} {}-bit: {:.1f} s (after a {:.1f} ms wait a step takes {:.2f}x)\n", name, bits,
                   now_s() - t0, 1e3 * wc.edge_gap.back(), wc.edge.back());
    }
    // Hidden states at the middle of the model for the codecs (the front half of the fp32 weights).
    whole.part = ModelPart{0, std::max<int64_t>(1, m.n_layers / 2), true, false};
    KvCache cache(m, whole.part, tokens);
    Eigen::MatrixXf h = x0;
    Workspace ws;
    Segment seg{&cache, tokens};
    forward_layers(whole, {&seg, 1}, h, ws);
    bool seen = false;
    for (const auto& [n, hh] : hidden) seen = seen || hh.rows() == h.rows();
    if (!seen) hidden.emplace_back(name, std::move(h));
  }
  for (const auto& [name, h] : hidden)
    for (const auto& codec : o.codecs) {
      CodecTable ct;
      t += measure_codec(codec, h, st, source, ct);
      // Its wake curves from runs of the model of this width with this codec on the wire.
      const ModelSpec m = load_model(name);
      ModelWeights w = random_weights(m, o.seed, ModelPart::whole(m));
      if (o.bits.front() != 32) w.quantize(o.bits.front(), o.group_size);
      CodecSpec c;
      c.codec = parse_wire_codec(codec, "--codecs", "");
      WakePredict pr;  // the codec's stages only
      pr.encode = ct.encode.at(1);
      pr.decode = ct.decode.at(1);
      const WakeCurves wc = measure_wake(w, c, st, o.seed, pr);
      t += fmt::format("wake_encode_gap_s = {}\nwake_encode = {}  # an encode on the edge after that idle gap, as a "
                       "factor\nwake_decode_gap_s = {}\nwake_decode = {}  # a decode on the server\n",
                       toml_list(wc.edge_gap), toml_list(wc.encode), toml_list(wc.server_gap), toml_list(wc.decode));
      if (o.progress)
        fmt::print(stderr, "  codec {} d={} (after a {:.1f} ms wait an encode takes {:.2f}x)\n", codec, h.rows(),
                   1e3 * wc.edge_gap.back(), wc.encode.back());
    }
  t += measure_memory(st, source, cores, o.progress);
  t += measure_transport(st, o.seed, source, o.progress);
  t += std::string(kBlockEnd) + "\n";
  return t;
}

void write_executor_calibration(const std::string& path, const std::string& tables) {
  std::string kept;
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string old = ss.str();
    const size_t b = old.find(kBlockBegin);
    if (b == std::string::npos) {
      kept = old;
    } else {
      const size_t e = old.find(kBlockEnd, b);
      if (e == std::string::npos)
        throw InputError(fmt::format("{}: the executor block has a start marker but no end marker; fix or delete it", path));
      size_t after = old.find('\n', e);
      after = after == std::string::npos ? old.size() : after + 1;
      kept = old.substr(0, b) + old.substr(after);
    }
    if (!kept.empty() && kept.back() != '\n') kept += '\n';
    if (!kept.empty()) kept += '\n';
  }
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  write_file_atomic(path, kept + tables);
  (void)load_measured_tables(path);  // what was written must read back
}

}  // namespace splitsim
