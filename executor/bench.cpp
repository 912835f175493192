// `splitsim bench exec`: decode throughput of the unsplit model (fp32 weights, then fp16) against the host's
// memory-copy bandwidth measured in the same run (decode streams every weight once per token, so weight bytes per
// second over copy bandwidth is the fraction of the memory system a token uses), and the link shaper's accuracy: a shaped link
// must deliver within 5% of its configured rate and one-way delay, measured at the receiving socket.
#include <fmt/format.h>

#include <cstring>
#include <thread>

#include "core/error.hpp"
#include "core/output.hpp"
#include "core/units.hpp"
#include "executor/exec_run.hpp"
#include "executor/forward.hpp"
#include "executor/model_files.hpp"
#include "executor/sampler.hpp"
#include "executor/tokenizer.hpp"
#include "executor/transport.hpp"
#include "executor/weights.hpp"
#include "kernels/bench.hpp"

namespace splitsim {

namespace {

// Bytes copied per second by memcpy over buffers far larger than the caches (best of several passes).
double copy_bandwidth(bool quick) {
  BenchOptions bo;
  bo.quick = quick;
  return measure_copy_bandwidth(1 << 20, bo).dram;
}

struct DecodeRate {
  std::string model, weights;  // weights: "fp32" or "fp16"
  double params = 0, weight_bytes_per_token = 0, tokens_per_s = 0;
  int64_t tokens = 0;
};

// Weight bytes a decode step streams: every layer matrix and the head (the embedding is read one row).
double streamed_bytes(const ModelWeights& w) {
  double b = w.head.bytes();
  for (int64_t l = w.part.layer_begin; l < w.part.layer_end; ++l) {
    const auto& lw = w.layers[static_cast<size_t>(l)];
    b += lw.wq.bytes() + lw.wk.bytes() + lw.wv.bytes() + lw.wo.bytes() + lw.w1.bytes() + lw.w2.bytes() + lw.w3.bytes();
  }
  return b;
}

DecodeRate decode_rate(const ModelWeights& w, int64_t steps) {
  const ModelSpec& m = w.spec;
  KvCache cache(m, w.part, std::min<int64_t>(m.max_seq_len, steps + 2));
  Workspace ws;
  Sampler sampler(SamplingConfig{});
  Eigen::MatrixXf x, logits;
  int32_t token = kBosToken;
  auto step = [&] {
    embed(w, std::span<const int32_t>(&token, 1), x);
    Segment seg{&cache, 1};
    forward_layers(w, {&seg, 1}, x, ws);
    const int64_t zero = 0;
    forward_head(w, x, {&zero, 1}, logits, ws);
    token = sampler.sample({logits.data(), static_cast<size_t>(m.vocab_size)});
    if (token == kBosToken) token = 3;  // keep decoding: the rate, not the text, is measured here
  };
  step();  // warm-up: first touch of the weights and buffers
  const int64_t n = std::min<int64_t>(steps, cache.capacity() - 1);
  const double t0 = now_s();
  for (int64_t i = 0; i < n; ++i) step();
  DecodeRate r;
  r.model = m.name;
  r.params = static_cast<double>(m.total_params());
  r.weight_bytes_per_token = streamed_bytes(w);
  r.tokens = n;
  r.tokens_per_s = static_cast<double>(n) / (now_s() - t0);
  return r;
}

struct LinkCheck {
  std::string direction;
  double rate = 0, delay = 0;                  // configured
  double measured_rate = 0, measured_delay = 0;
  bool within(double tol) const {
    return std::abs(measured_rate / rate - 1) <= tol && std::abs(measured_delay / delay - 1) <= tol;
  }
};

// Idle-link frames measure the delay (arrival - send - serialization); a back-to-back burst measures the rate
// (bytes after the first frame over the time between first and last arrival).
LinkCheck check_link(bool uplink, double rate, double delay, bool quick) {
  Listener listener("127.0.0.1", 0);
  Socket client = connect_tcp("127.0.0.1", listener.port());
  Socket server = listener.accept(5.0);
  LinkCheck c{uplink ? "uplink (sender-side shaping)" : "downlink (receiver-side shaping)", rate, delay};
  const int probes = quick ? 6 : 20, burst = quick ? 12 : 40;
  const size_t small = 200, big = 32768;
  std::vector<double> sent, arrived;
  std::thread rx([&] {
    Frame f;
    ShapedReceiver shaped(server, uplink ? 0.0 : rate, uplink ? 0.0 : delay);
    for (int i = 0; i < probes + burst; ++i) {
      double a = 0, d = 0;
      if (!shaped.receive(f, &a, &d)) return;
      arrived.push_back(uplink ? a : d);
    }
  });
  {
    ShapedSender sender(client, uplink ? rate : 0.0, uplink ? delay : 0.0);
    for (int i = 0; i < probes; ++i) {
      sent.push_back(now_s());
      if (uplink) sender.send({FrameType::token, 0, std::vector<uint8_t>(small)});
      else write_frame(client, {FrameType::token, 0, std::vector<uint8_t>(small)});
      sleep_until_s(now_s() + delay + 0.01);
    }
    sleep_until_s(now_s() + 2 * delay);
    for (int i = 0; i < burst; ++i) {
      if (uplink) sender.send({FrameType::token, 0, std::vector<uint8_t>(big)});
      else write_frame(client, {FrameType::token, 0, std::vector<uint8_t>(big)});
    }
    rx.join();
    if (uplink) sender.wait_delivered();
  }
  const double small_s = static_cast<double>(small + kFrameHeaderBytes) / rate;
  double sum = 0;
  for (int i = 0; i < probes; ++i) sum += arrived[static_cast<size_t>(i)] - sent[static_cast<size_t>(i)] - small_s;
  c.measured_delay = sum / probes;
  const double span = arrived.back() - arrived[static_cast<size_t>(probes)];
  c.measured_rate = static_cast<double>((burst - 1) * (big + kFrameHeaderBytes)) / span;
  return c;
}

}  // namespace

void bench_exec(const BenchExecOptions& o) {
  nlohmann::json out;
  fmt::print("memory-copy bandwidth (memcpy, bytes copied per second): ");
  std::fflush(stdout);
  const double bw = copy_bandwidth(o.quick);
  fmt::print("{:.2f} GB/s\n\n", bw / 1e9);
  out["copy_bandwidth_Bps"] = bw;

  // Each model in fp32, then the same weights in fp16 (half the bytes per token to stream).
  std::vector<DecodeRate> rates;
  auto fp32_then_fp16 = [&](ModelWeights& w, int64_t steps) {
    rates.push_back(decode_rate(w, steps));
    rates.back().weights = "fp32";
    w.quantize(16, 0);
    rates.push_back(decode_rate(w, steps));
    rates.back().weights = "fp16";
  };
  if (auto dir = find_model_dir()) {
    ModelWeights w = load_checkpoint(*dir + "/stories260K.bin");
    w.spec.name = "stories260K";
    fp32_then_fp16(w, o.quick ? 32 : 256);
  }
  else fmt::print("(stories260K not found: set SPLITSIM_MODEL_DIR to include it)\n");
  {
    ModelSpec m = load_model(o.model);
    fmt::print("generating random weights for {} ({:.1f} M parameters)...\n", m.name, static_cast<double>(m.total_params()) / 1e6);
    ModelWeights w = random_weights(m, 1, ModelPart::whole(m));
    fp32_then_fp16(w, o.quick ? 4 : o.steps);
  }
  fmt::print("\nunsplit decode, one core\n{:<14} {:>7} {:>9} {:>8} {:>11} {:>12} {:>14}\n", "model", "weights", "params",
             "tokens", "tokens/s", "weights/tok", "weight B/s vs memcpy rate (vs its read+write traffic)");
  out["decode"] = nlohmann::json::array();
  for (const auto& r : rates) {
    const double wbps = r.weight_bytes_per_token * r.tokens_per_s;
    // memcpy moves every copied byte twice (read + write): a streaming read can reach up to ~2x its copy rate.
    fmt::print("{:<14} {:>7} {:>8.2f}M {:>8} {:>11.1f} {:>12} {:>8.2f} GB/s = {:.0f}% ({:.0f}%)\n", r.model, r.weights,
               r.params / 1e6, r.tokens, r.tokens_per_s, format_bytes(r.weight_bytes_per_token), wbps / 1e9, 100.0 * wbps / bw,
               50.0 * wbps / bw);
    out["decode"].push_back({{"model", r.model}, {"weights", r.weights}, {"params", r.params}, {"tokens", r.tokens}, {"tokens_per_s", r.tokens_per_s},
                             {"weight_bytes_per_token", r.weight_bytes_per_token}, {"weight_Bps", wbps},
                             {"fraction_of_copy_bandwidth", wbps / bw},
                             {"fraction_of_copy_traffic", wbps / (2 * bw)}});
  }

  fmt::print("\nlink shaping on loopback (target: within 5% of configured rate and one-way delay)\n");
  out["links"] = nlohmann::json::array();
  struct Case {
    const char* name;
    double rate, delay;
  };
  for (Case k : {Case{"wifi-like 50Mbps 10ms", 50e6 / 8, 0.010}, Case{"lte-like 10Mbps 40ms", 10e6 / 8, 0.040}}) {
    for (bool up : {true, false}) {
      LinkCheck c = check_link(up, k.rate, k.delay, o.quick);
      fmt::print("  {:<24} {:<32} rate {:>10} (measured {:>10}, {:+.2f}%)  delay {:>8} (measured {:>8}, {:+.2f}%)  {}\n",
                 k.name, c.direction, format_rate(c.rate), format_rate(c.measured_rate),
                 100.0 * (c.measured_rate / c.rate - 1), format_time(c.delay), format_time(c.measured_delay),
                 100.0 * (c.measured_delay / c.delay - 1), c.within(0.05) ? "OK" : "OUTSIDE 5%");
      out["links"].push_back({{"case", k.name}, {"direction", c.direction}, {"rate_Bps", c.rate}, {"measured_rate_Bps", c.measured_rate},
                              {"delay_s", c.delay}, {"measured_delay_s", c.measured_delay}, {"within_5pct", c.within(0.05)}});
    }
  }
  if (!o.out.empty()) write_json_atomic(o.out, out);
}

}  // namespace splitsim
