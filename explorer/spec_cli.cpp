// Commands that read specs and run the analytic model: models, model show, profiles, estimate.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>

#include "core/error.hpp"
#include "core/output.hpp"
#include "core/units.hpp"
#include "core/cli.hpp"
#include "explorer/optimizer.hpp"
#include "hwprofiles/cost_model.hpp"
#include "models/layer_graph.hpp"

namespace splitsim {
namespace {

void print_models() {
  fmt::print("{:<16} {:>7} {:>6} {:>6} {:>5} {:>4} {:>7} {:>6} {:>10}\n", "model", "dim", "hidden", "layers", "heads",
             "kv", "vocab", "seq", "params");
  for (const auto& n : model_names()) {
    ModelSpec m = load_model(n);
    fmt::print("{:<16} {:>7} {:>6} {:>6} {:>5} {:>4} {:>7} {:>6} {:>9.2f}M\n", m.name, m.dim, m.hidden_dim, m.n_layers,
               m.n_heads, m.n_kv_heads, m.vocab_size, m.max_seq_len, static_cast<double>(m.total_params()) / 1e6);
  }
}

void print_model(const std::string& name, int bits, int group_size, int kv_bits) {
  ModelSpec m = load_model(name);
  fmt::print("{} — {}\nsource: {}\n", m.name, m.description, m.source);
  fmt::print("d={} f={} L={} heads={} kv_heads={} head_dim={} V={} seq={} tied={} params={:.4f} B\n\n", m.dim,
             m.hidden_dim, m.n_layers, m.n_heads, m.n_kv_heads, m.head_dim(), m.vocab_size, m.max_seq_len,
             m.tied_embeddings, static_cast<double>(m.total_params()) / 1e9);
  fmt::print("weights at {} bits (group {}), KV at {} bits\n", bits, group_size, kv_bits);
  fmt::print("{:<12} {:>14} {:>12} {:>16} {:>14} {:>14}\n", "layer", "params", "weights", "decode flop@t=1",
             "KV B/token", "split after");
  fmt::print("{:<12} {:>14} {:>12} {:>16} {:>14} {:>14}\n", "embedding", m.embedding_params(),
             format_bytes(m.embedding_bytes(bits, group_size)), 0, 0, "x0 (split 0)");
  for (int64_t l = 0; l < m.n_layers; ++l)
    fmt::print("{:<12} {:>14} {:>12} {:>16.4g} {:>14.0f} {:>14}\n", fmt::format("layer {}", l), m.layer_params(),
               format_bytes(m.layer_weight_bytes(bits, group_size)), m.decode_flops_layer(1),
               m.kv_bytes_per_token_layer(kv_bits), fmt::format("x{} (split {})", l + 1, l + 1));
  fmt::print("{:<12} {:>14} {:>12} {:>16.4g} {:>14} {:>14}\n", "norm+head", m.head_params() + m.dim,
             format_bytes(m.head_bytes(bits, group_size)), m.head_flops(), 0, "-");
  std::string splits;
  for (auto s : valid_split_layers(m)) splits += (splits.empty() ? "" : " ") + std::to_string(s);
  fmt::print("\nvalid split points (layer graph: {} operators, {} tensors): {}\n", LayerGraph(m).vertex_count(),
             LayerGraph(m).edge_count(), splits);
}

void print_profiles() {
  fmt::print("{:<24} {:<6} {:>10} {:>12} {:>12} {:>17} {:>9}  {}\n", "profile", "kind", "memory", "bandwidth",
             "fp16 peak", "power idle/active", "$/hour", "description");
  for (const auto& n : hw_profile_names()) {
    HwProfile h = load_hw_profile(n);
    std::string power = "-";
    if (h.power) {
      power = fmt::format("{:.1f}/{:.1f} W", h.power->idle.value, h.power->active.value);
      for (const auto& m : h.power->modes) power += (&m == &h.power->modes.front() ? " [" : ",") + m.name;
      if (!h.power->modes.empty()) power += "]";
    }
    fmt::print("{:<24} {:<6} {:>10} {:>12} {:>12} {:>17} {:>9}  {}\n", h.name, h.kind, format_bytes(h.memory_capacity.value),
               fmt::format("{:.1f} GB/s", h.memory_bandwidth.value / 1e9), format_ops(h.peak_for("fp16")), power,
               h.usd_per_hour ? fmt::format("{:.2f}", h.usd_per_hour->value) : std::string("-"), h.description);
  }
  fmt::print("\n{:<14} {:>12} {:>12} {:>9} {:>6} {:>6}  {}\n", "link", "uplink", "downlink", "latency", "radio", "trace",
             "description");
  for (const auto& n : link_names()) {
    LinkProfile l = load_link(n);
    fmt::print("{:<14} {:>12} {:>12} {:>9} {:>6} {:>6}  {}\n", l.name, format_rate(l.uplink.value),
               format_rate(l.downlink.value), format_time(l.latency.value), l.radio ? "yes" : "-",
               l.trace ? fmt::format("{:.0f} s", l.trace->period) : std::string("-"), l.description);
  }
}

void print_memory(const char* title, const MemoryBreakdown& m) {
  fmt::print("  {:<22} weights {:>11} | KV {:>11} | workspace {:>11} | runtime {:>11} | total {:>11} of {:>11}  {}\n",
             title, format_bytes(m.weights), format_bytes(m.kv_cache), format_bytes(m.workspace),
             format_bytes(m.runtime), format_bytes(m.total()), format_bytes(m.capacity), m.oom() ? "OUT OF MEMORY" : "fits");
}

void print_stages(const char* title, const StageTimes& s) {
  // The server's queue (its measured hand-off) only where there is one: profiles without measured tables print as before.
  const std::string queue = s.server_queue > 0 ? fmt::format(" | srv queue {:>10}", format_time(s.server_queue)) : "";
  fmt::print("  {:<22} edge {:>11} | encode {:>10} | uplink {:>11}{} | srv decode {:>10} | server {:>11} | downlink {:>10} | "
             "total {:>11}\n",
             title, format_time(s.edge_compute), format_time(s.encode), format_time(s.uplink), queue,
             format_time(s.server_decode), format_time(s.server_compute), format_time(s.downlink), format_time(s.total()));
}

void run_estimate(const std::string& path, const std::vector<std::string>& sets, bool json) {
  Scenario sc = load_scenario(path, parse_overrides(sets));
  System sys = resolve_system(sc);
  CostModel cm(sys);
  nlohmann::json out{{"scenario", sc.name}, {"hash", sys.hash()}, {"groups", nlohmann::json::array()}};
  for (size_t g = 0; g < sys.fleet.size(); ++g) {
    int64_t prompt = static_cast<int64_t>(sc.workload.prompt_tokens.mean() + 0.5);
    int64_t output = static_cast<int64_t>(sc.workload.output_tokens.mean() + 0.5);
    Estimate e = cm.estimate(g, prompt, output);
    if (json) {
      nlohmann::json j = e.to_json();
      j["group"] = sys.fleet[g].group.name;
      j["device"] = sys.fleet[g].device.name;
      j["link"] = sys.fleet[g].link.name;
      out["groups"].push_back(j);
      continue;
    }
    const Plan& p = sys.plan;
    fmt::print("{} [{}]: {} on {} ({}) via {} -> {}\n", sc.name, sys.hash(), sys.model.name, sys.fleet[g].device.name,
               sys.fleet[g].group.name, sys.fleet[g].link.name, sys.server.name);
    fmt::print("  strategy {}: layers [0,{}) on the edge at {} bits, [{},{}) on the server at {} bits, KV {} bits, "
               "wire {}\n",
               p.strategy, p.split_layer, p.edge_bits, p.split_layer, sys.model.n_layers, p.cloud_bits, p.kv_bits,
               wire_format_name(p.wire));
    if (p.schedule) {
      fmt::print("  split schedule {}: the edge's layers by context; the server holds [{},{})\n",
                 p.schedule->to_string(), p.lowest_split(), sys.model.n_layers);
      if (p.reaction)
        fmt::print("  its windows move early at an observed uplink of {} (over {} uploads); costed here at their "
                   "deadlines (the simulator decides per device)\n",
                   format_rate(p.reaction->min_rate), p.reaction->window);
    } else if (g == 0) {
      std::string ms;
      for (const auto& s : memory_matched_schedules(sys)) ms += (ms.empty() ? "" : " ") + s;
      if (!ms.empty()) fmt::print("  split schedules within this edge memory (split.schedule): {}\n", ms);
    }
    fmt::print("  prompt {} tokens, output {} tokens, KV sized for {} tokens\n", prompt, output, sc.workload.max_seq_len);
    fmt::print("  costed from: {}\n  costed from: {}\n\n", sys.fleet[g].device.costing(), sys.server.costing());
    fmt::print("memory\n");
    print_memory("edge", e.edge_memory);
    print_memory("server (one sequence)", e.server_memory);
    fmt::print("  server KV capacity: {} requests of {} + {} tokens at once\n\n", e.server_max_sequences,
               e.prompt_tokens, e.output_tokens);
    fmt::print("latency (one device alone, batch 1)\n");
    print_stages("prefill (TTFT)", e.prefill);
    print_stages("decode step (mean)", e.decode_mean);
    fmt::print("  TTFT {}   TPOT {}   end-to-end {}\n\n", format_time(e.ttft), format_time(e.tpot), format_time(e.e2e));
    fmt::print("wire{}\n", e.estimated_codec ? " (codec sizes estimated from codec.mean_bits and outliers_per_token)" : "");
    fmt::print("  uplink: prompt block {}, {} per generated token; downlink {} per token; total up {} down {}\n",
               format_bytes(e.bytes_up_prefill), format_bytes(e.bytes_up_per_token),
               format_bytes(e.bytes_down_per_token), format_bytes(e.bytes_up_total), format_bytes(e.bytes_down_total));
    fmt::print("  server busy per generated token: {}\n\n", format_time(e.server_busy_per_token));
  }
  if (json) fmt::print("{}\n", dump_json(out, 2));
}

}  // namespace

void add_model_commands(CliRoot& root) {
  root.app.add_subcommand("models", "List the model architectures in models/")->callback(print_models);
  auto* show = root.app.add_subcommand("model", "Model details")->require_subcommand(1);
  auto* sh = show->add_subcommand("show", "Per-layer table of a model: parameters, weight bytes, FLOPs, KV, splits");
  static std::string name;
  static int bits = 16, group = 128, kv_bits = 16;
  sh->add_option("name", name, "Model name (see splitsim models)")->required();
  sh->add_option("--bits", bits, "Weight bits for the byte column")->check(CLI::IsMember({2, 3, 4, 8, 16, 32}));
  sh->add_option("--group-size", group, "Quantization group size")->check(CLI::Range(8, 65536));
  sh->add_option("--kv-bits", kv_bits, "KV cache bits")->check(CLI::IsMember({4, 8, 16, 32}));
  sh->callback([] { print_model(name, bits, group, kv_bits); });
  root.app.add_subcommand("profiles", "List hardware and link profiles")->callback(print_profiles);
}

void add_estimate_command(CliRoot& root) {
  auto* est = root.app.add_subcommand("estimate", "Analytic estimate of one device alone: memory, latency, bytes");
  static std::string path;
  static std::vector<std::string> sets;
  static bool json = false;
  est->add_option("scenario", path, "Scenario TOML file")->required();
  est->add_option("--set", sets, "Override a scenario key: --set split.layer=8")->take_all();
  est->add_flag("--json", json, "Machine-readable output");
  est->callback([] { run_estimate(path, sets, json); });
}

}  // namespace splitsim
