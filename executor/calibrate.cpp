// Executor-level calibration: times the executor's own operators on this host and writes them as tables.
//
// What is measured, and why this way:
//  - Layers: the whole stack of a random-weight model of the given shape (weights at the given bits, embedding
//    fp32 as in the executor) is run and the time divided by the layer count, so each layer sees the cache state
//    of a real forward pass (a layer timed alone would sit in the caches; in a split run the server's head and
//    the other layers evict it). Prefill: T tokens from an empty cache. Decode: B sequences of one token each at
//    two context lengths; the difference gives the attention cost per cached position, the rest is the base.
//  - Head: final norm + LM head + greedy sampling of B columns, as the server runs it per batch.
//  - In-run factors: real local split runs (server + k edge clients, the executor's own code and threads) at the
//    requested splits and client counts; each step's compute over the same step looped on one thread beside the
//    run (see measure_in_run). They carry what the hot loops above miss: how k lockstep clients really overlap
//    on the shared cores, and what a step costs right after a network wait.
//  - Codecs: wire_encode / wire_decode of the executor on hidden states produced by the model itself.
//  - Transport: real local split runs (server + one client over loopback, shaped link) of a tiny model; what a
//    request takes beyond its measured compute, codec and shaped-link times is the per-message overhead of the
//    framed TCP path (socket calls, thread hand-offs). Prompts of several lengths give the per-byte term.
// Statistics: every figure is the median over repeated samples, as `splitsim validate` summarizes the executor's
// repetitions. On a shared host, interference (other processes) slows the executor's runs and these samples
// alike, so calibrating just before validating (`splitsim validate --calibrate`, or per scenario with
// `--calibrate-each`) compares like with like; a
// minimum here would describe an undisturbed host that a whole executor run never sees.
#include "executor/calibrate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "core/output.hpp"
#include "executor/forward.hpp"
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

std::string utc_date() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

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

// Median seconds per call of f over samples of at least min_sample seconds each (short calls are timed in
// bulk); one warm-up call first.
double time_per_call(const std::function<void()>& f, double min_sample, int samples) {
  f();
  int64_t n = 1;
  double t = 0;
  while (true) {
    const double t0 = now_s();
    for (int64_t i = 0; i < n; ++i) f();
    t = now_s() - t0;
    if (t >= min_sample || n >= (int64_t{1} << 24)) break;
    n *= std::max<int64_t>(2, static_cast<int64_t>(min_sample / std::max(t, 1e-7)));
  }
  std::vector<double> v{t / static_cast<double>(n)};
  if (t > 0.3) samples = std::min(samples, 3);  // long calls: fewer samples
  for (int s = 1; s < samples; ++s) {
    const double t0 = now_s();
    for (int64_t i = 0; i < n; ++i) f();
    v.push_back((now_s() - t0) / static_cast<double>(n));
  }
  return median(v);
}

struct Settings {
  double min_sample;
  int samples;
  std::vector<int64_t> prefill_tokens, batches, codec_tokens, transport_prompts;
  int in_run_steps, in_run_requests;  // per request of an in-run local split; requests per client (first: warm-up)
};

Settings settings_for(bool quick) {
  if (quick) return {0.01, 5, {1, 4, 16, 32}, {1, 2, 4}, {1, 16, 64}, {1, 128}, 24, 6};
  return {0.03, 7, {1, 2, 4, 8, 16, 32, 64}, {1, 2, 4, 8}, {1, 4, 16, 64}, {1, 32, 128, 256}, 24, 5};
}

// ---------------------------------------------------------------------------------------------- layers

// In-run factors of one model at one bit-width: the executor's own local split runs (server + k edge clients in
// this process, as `splitsim validate` runs them) for each client count k, each step's measured compute divided by
// the same step run back to back on this thread just before and just after that run (the tables' hot loop):
//   edge prefill   embedding + layers [0,S) on T tokens      edge decode   the same on one token
//   server prefill layers [S,L) on b prompts of T + head(b)  server decode layers [S,L) on b tokens + head(b)
// where b is the size of the batch that computed the step (k when the clients are in lockstep).
// Timing the reference beside each run, not taking it from the tables, keeps a shared host's load drifting
// between the two measurements out of the factor. Why measure in the executor and not with k threads looping a
// step: lockstep edge clients are released together by the server's batch and read the same weights in phase
// (one DRAM stream through the shared cache serves them), the server computes while the edges wait, and every
// step follows a wait on the network; a loop of k free-running threads drifts out of phase and never waits, and
// measured up to 1.8x slowdowns where the executor's edges were ~1.15x slower. The runs are split
// at the given split (the factors depend on it: it sets how long the edges and the server compute, and so how
// their steps overlap) with both halves at the table's bits; the link is the shaped-fast validation link.
struct InRun {
  int64_t split = 0, prompt = 0, steps = 0;
  std::vector<double> ks, edge_decode, edge_prefill, server_decode, server_prefill;
};

InRun measure_in_run(const ModelWeights& w, const Eigen::MatrixXf& x0, const Settings& st, int64_t split,
                     const std::vector<int>& streams, uint64_t seed) {
  const ModelSpec& m = w.spec;
  const int max_streams = *std::max_element(streams.begin(), streams.end());
  InRun r;
  r.split = split;
  r.prompt = std::min<int64_t>(16, m.max_seq_len / 4);
  r.steps = std::min<int64_t>(st.in_run_steps, m.max_seq_len - r.prompt - 1);
  const int64_t T = r.prompt, mid = r.prompt + r.steps / 2;  // decode references at the middle context
  ModelWeights edge = w, server = w;
  edge.keep_only(ModelPart::edge(r.split));
  server.keep_only(ModelPart::server(m, r.split));
  std::vector<int32_t> prompt(static_cast<size_t>(T));
  for (int64_t i = 0; i < T; ++i)
    prompt[static_cast<size_t>(i)] = static_cast<int32_t>(2 + (i * 131 + seed * 17) % static_cast<uint64_t>(m.vocab_size - 2));

  // The reference steps, as the edge (edge_compute) and the server (compute of one batch) run them.
  Workspace ws;
  Eigen::MatrixXf x, logits;
  KvCache ec(m, edge.part, mid + 1);
  std::vector<KvCache> sc;
  for (int i = 0; i < max_streams; ++i) sc.emplace_back(m, server.part, std::max(T, mid) + 1);
  auto edge_step = [&](int64_t tokens) {
    ec.pos = tokens > 1 ? 0 : mid - 1;
    embed(edge, {prompt.data(), static_cast<size_t>(tokens)}, x);
    Segment seg{&ec, tokens};
    forward_layers(edge, {&seg, 1}, x, ws);
  };
  auto server_step = [&](int k, int64_t tokens) {
    std::vector<Segment> segs;
    std::vector<int64_t> last;
    for (int i = 0; i < k; ++i) {
      sc[static_cast<size_t>(i)].pos = tokens > 1 ? 0 : mid - 1;
      segs.push_back({&sc[static_cast<size_t>(i)], tokens});
      last.push_back((i + 1) * tokens - 1);
    }
    x.resize(m.dim, k * tokens);
    for (int64_t c = 0; c < k * tokens; ++c) x.col(c) = x0.col(c % x0.cols());
    forward_layers(server, segs, x, ws);
    forward_head(server, x, last, logits, ws);
    for (int i = 0; i < k; ++i) (void)argmax({logits.col(i).data(), static_cast<size_t>(m.vocab_size)});
  };
  struct Ref {
    double ed = 0, ep = 0;
    std::vector<double> sd, sp;  // by batch size b - 1
  };
  auto reference = [&](int k) {
    Ref f;
    f.ed = time_per_call([&] { edge_step(1); }, st.min_sample, 3);
    f.ep = time_per_call([&] { edge_step(T); }, st.min_sample, 3);
    for (int b = 1; b <= k; ++b) {
      f.sd.push_back(time_per_call([&] { server_step(b, 1); }, st.min_sample, 3));
      f.sp.push_back(time_per_call([&] { server_step(b, T); }, st.min_sample, 3));
    }
    return f;
  };

  EdgeOptions eo;
  eo.split = r.split;
  eo.steps = r.steps;
  eo.link.uplink_rate = eo.link.downlink_rate = 12.5e6;  // B/s and s: the shaped-fast validation link
  eo.link.delay = 1e-3;
  ServerOptions so;
  so.batch_window = 20e-3;  // as `splitsim validate` runs the executor (keeps identical clients in lockstep)
  (void)run_local_split(edge, server, eo, so, 1, 1, prompt);  // warm-up: first touch of the weights
  for (int k : streams) {
    const Ref before = reference(k);
    LocalRunResult res = run_local_split(edge, server, eo, so, k, st.in_run_requests, prompt);
    const Ref after = reference(k);
    std::vector<double> ed, ep, sd, sp;  // edge: s; server: ratios to the looped batch of the same size
    for (size_t q = 0; q < res.requests.size(); ++q) {
      if (q % static_cast<size_t>(st.in_run_requests) == 0) continue;  // each client's first request warms up
      const auto& steps = res.requests[q].steps;
      for (size_t j = 0; j < steps.size(); ++j) {
        (j == 0 ? ep : ed).push_back(steps[j].edge_compute);
        // A batch may hold fewer than k sequences (the clients' prefills finish apart on shared cores, or a
        // client falls out of lockstep for a while): compare each with the looped batch of its own size.
        const size_t b = static_cast<size_t>(std::clamp<int64_t>(res.requests[q].server_batch[j], 1, k)) - 1;
        const double ref = j == 0 ? 0.5 * (before.sp[b] + after.sp[b]) : 0.5 * (before.sd[b] + after.sd[b]);
        (j == 0 ? sp : sd).push_back(steps[j].server_compute / ref);
      }
    }
    r.ks.push_back(k);
    r.edge_decode.push_back(median(ed) / (0.5 * (before.ed + after.ed)));
    r.edge_prefill.push_back(median(ep) / (0.5 * (before.ep + after.ep)));
    r.server_decode.push_back(median(sd));
    r.server_prefill.push_back(median(sp));
  }
  return r;
}

std::string measure_layers(const ModelWeights& w, int bits, int group_size, const Settings& st,
                           const std::vector<int64_t>& splits, const std::vector<int>& streams, uint64_t seed,
                           const std::string& source, const Eigen::MatrixXf& x0) {
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
        st.min_sample, st.samples);
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
               st.min_sample, st.samples) /
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
        st.min_sample, st.samples));
  }

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
  // In-run factors: the executor's own local runs at each split with each client count.
  for (int64_t split : splits) {
    const InRun ir = measure_in_run(w, x0, st, split, streams, seed);
    t += fmt::format("\n[[executor.layers.in_run]]  # executor local runs: prompt {} tokens, {} steps; step / the same step looped\n",
                     ir.prompt, ir.steps);
    t += fmt::format("split = {}\nstreams = {}\n", ir.split, toml_list(ir.ks));
    t += fmt::format("edge_decode = {}\nedge_prefill = {}\n", toml_list(ir.edge_decode), toml_list(ir.edge_prefill));
    t += fmt::format("server_decode = {}\nserver_prefill = {}\n", toml_list(ir.server_decode), toml_list(ir.server_prefill));
  }
  return t;
}

// ---------------------------------------------------------------------------------------------- codecs

std::string measure_codec(const std::string& codec, const Eigen::MatrixXf& h, const Settings& st,
                          const std::string& source) {
  WireConfig c;
  c.codec = codec;
  c.validate();
  const int64_t d = h.rows();
  std::vector<double> ts, enc, dec;
  std::vector<uint8_t> wire;
  Eigen::MatrixXf y;
  for (int64_t T : st.codec_tokens) {
    if (T > h.cols()) continue;
    Eigen::MatrixXf x = h.leftCols(T);
    ts.push_back(static_cast<double>(T));
    enc.push_back(time_per_call([&] { wire_encode(x, c, wire); }, st.min_sample, st.samples));
    wire_encode(x, c, wire);
    dec.push_back(time_per_call([&] { wire_decode(wire, d, y); }, st.min_sample, st.samples));
  }
  std::string t = "\n[[executor.codecs]]\n";
  t += fmt::format("codec = \"{}\"\ndim = {}\nsource = \"{}\"\n", codec, d, source);
  t += fmt::format("tokens = {}\nencode_s = {}\ndecode_s = {}\n", toml_list(ts), toml_list(enc), toml_list(dec));
  return t;
}

// ---------------------------------------------------------------------------------------------- transport

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
  eo.steps = 32;
  ServerOptions so;
  std::vector<double> fixed, pbytes, presid;
  auto shaped = [&](double up_bytes, double down_bytes) {
    return 2 * eo.link.delay + up_bytes / eo.link.uplink_rate + down_bytes / eo.link.downlink_rate;
  };
  for (int64_t T : st.transport_prompts) {
    std::vector<int32_t> prompt(static_cast<size_t>(T));
    for (int64_t i = 0; i < T; ++i) prompt[static_cast<size_t>(i)] = static_cast<int32_t>(2 + (i * 37 + 11) % (m.vocab_size - 2));
    eo.steps = std::min<int64_t>(32, m.max_seq_len - T - 1);
    LocalRunResult res = run_local_split(edge, server, eo, so, 1, 6, prompt);
    std::vector<double> r0s;
    for (size_t r = 1; r < res.requests.size(); ++r) {  // the first request warms up the allocations
      const EdgeResult& e = res.requests[r];
      const TokenRecord& s0 = e.steps.front();
      r0s.push_back(e.record.ttft - (s0.edge_compute + s0.encode + s0.decode + s0.server_compute) -
                    shaped(static_cast<double>(s0.bytes_up), static_cast<double>(s0.bytes_down)));
      double known = 0;
      for (size_t k = 1; k < e.steps.size(); ++k) {
        const TokenRecord& s = e.steps[k];
        known += s.edge_compute + s.encode + s.decode + s.server_compute +
                 shaped(static_cast<double>(s.bytes_up), static_cast<double>(s.bytes_down));
      }
      if (e.steps.size() > 1)
        fixed.push_back((e.record.e2e - e.record.ttft - known) / static_cast<double>(e.steps.size() - 1));
      if (r == 1) pbytes.push_back(static_cast<double>(s0.bytes_up));
    }
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
  const double round_trip = std::max(0.0, median(fixed) - per_byte * decode_frames);
  if (progress)
    fmt::print(stderr, "  transport: {:.1f} us per round trip + {:.3f} ns per byte (prefill residuals {})\n", round_trip * 1e6,
               per_byte * 1e9, toml_list(presid));
  std::string t = "\n[executor.transport]\n";
  t += fmt::format("source = \"{}\"\n", source);
  t += "# per message beyond the shaped link's delay and rate: half the measured round trip each way\n";
  t += fmt::format("up_fixed_s = {:.6g}\ndown_fixed_s = {:.6g}\nper_byte_s = {:.6g}\n", round_trip / 2, round_trip / 2,
                   per_byte);
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------------------------- entry points

std::string calibrate_executor(const ExecCalibrationOptions& o, const std::string& command) {
  if (o.models.empty()) throw InputError("calibrate-executor: --models: expected at least one model");
  for (int b : o.bits)
    if (b != 2 && b != 3 && b != 4 && b != 8 && b != 32)
      throw InputError(fmt::format("calibrate-executor: --bits: expected 2, 3, 4, 8 or 32, got {}", b));
  if (o.max_streams < 1) throw InputError("calibrate-executor: --max-streams: expected at least 1");
  std::vector<int> streams{1};
  if (o.streams.empty())
    for (int k = 2; k <= o.max_streams; ++k) streams.push_back(k);
  for (int k : o.streams) {
    if (k < 1 || k > 64) throw InputError(fmt::format("calibrate-executor: streams: expected 1..64 clients, got {}", k));
    streams.push_back(k);
  }
  std::sort(streams.begin(), streams.end());
  streams.erase(std::unique(streams.begin(), streams.end()), streams.end());
  const Settings st = settings_for(o.quick);
  const std::string host = this_host_name(), date = utc_date();
  const std::string source = fmt::format("measured: {}, {}, {}", host, date, command);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string t;
  t += std::string(kBlockBegin) + "\n";
  t += "# Times of the split executor's own operators on this host (hwprofiles/measured_tables.hpp says how the\n";
  t += "# cost model reads them). Seconds; medians of repeated timings.\n";
  t += fmt::format("[executor]\nhost = \"{}\"\ndate = \"{}\"\ncommand = \"{}\"\ncores = {}\n", host, date, command, cores);
  std::vector<std::pair<std::string, Eigen::MatrixXf>> hidden;  // per model: hidden states for the codecs
  for (const auto& name : o.models) {
    const ModelSpec m = load_model(name);
    ModelWeights whole = random_weights(m, o.seed, ModelPart::whole(m));
    const int64_t tokens = std::min<int64_t>(64, m.max_seq_len / 2);
    std::vector<int32_t> ids(static_cast<size_t>(tokens));
    for (int64_t i = 0; i < tokens; ++i) ids[static_cast<size_t>(i)] = static_cast<int32_t>(2 + (i * 7919 + 13) % (m.vocab_size - 2));
    Eigen::MatrixXf x0;
    embed(whole, ids, x0);  // (d, tokens)
    std::vector<int64_t> splits;
    if (auto it = o.in_run_splits.find(name); it != o.in_run_splits.end()) splits = it->second;
    if (splits.empty()) splits = {std::max<int64_t>(1, m.n_layers / 2)};
    std::sort(splits.begin(), splits.end());
    splits.erase(std::unique(splits.begin(), splits.end()), splits.end());
    for (int64_t sp : splits)
      if (sp < 1 || sp >= m.n_layers)
        throw InputError(fmt::format("calibrate-executor: in-run split {} of {}: expected 1..{}", sp, name, m.n_layers - 1));
    for (int bits : o.bits) {
      const double t0 = now_s();
      ModelWeights w = whole;
      w.quantize(bits, o.group_size);
      t += measure_layers(w, bits, o.group_size, st, splits, streams, o.seed, source, x0);
      if (o.progress) fmt::print(stderr, "  layers {} {}-bit: {:.1f} s\n", name, bits, now_s() - t0);
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
      t += measure_codec(codec, h, st, source);
      if (o.progress) fmt::print(stderr, "  codec {} d={}\n", codec, h.rows());
    }
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
