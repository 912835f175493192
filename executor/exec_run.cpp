// The executor's commands: model resolution, the four run modes, and the benchmark. Each mode writes the
// resolved options as config.json beside requests.csv / tokens.csv / summary.json (core/metrics.hpp shapes),
// generated text to stdout and progress to stderr.
#include "executor/exec_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/output.hpp"
#include "core/split_schedule.hpp"
#include "core/units.hpp"
#include "core/utf8.hpp"
#include "executor/edge.hpp"
#include "executor/forward.hpp"
#include "executor/generate.hpp"
#include "executor/local_run.hpp"
#include "executor/model_files.hpp"
#include "executor/records.hpp"
#include "executor/server.hpp"
#include "executor/tokenizer.hpp"
#include "executor/weights.hpp"
#include "hwprofiles/hw_profile.hpp"
#include "models/model_spec.hpp"

namespace splitsim {

nlohmann::json ExecOptions::to_json() const {
  return {{"model", model},
          {"checkpoint", checkpoint},
          {"tokenizer", tokenizer},
          {"weights_seed", weights_seed},
          {"prompt", prompt},
          {"steps", steps},
          {"temperature", sampling.temperature},
          {"top_p", sampling.top_p},
          {"seed", sampling.seed},
          {"requests", requests},
          {"clients", clients},
          {"split", split},
          {"split_schedule", split_schedule},
          {"split_react_rate", split_react_rate},
          {"split_react_window", split_react_window},
          {"edge_bits", edge_bits},
          {"cloud_bits", cloud_bits},
          {"group_size", group_size},
          {"wire", wire.to_json()},
          {"link", link},
          {"uplink", uplink},
          {"downlink", downlink},
          {"delay", delay},
          {"connect", connect},
          {"host", host},
          {"port", port},
          {"batch_window", batch_window},
          {"max_batch", max_batch},
          {"max_sessions", max_sessions},
          {"max_inflight", max_inflight},
          {"max_kv", max_kv},
          {"session_timeout", session_timeout}};
}

namespace {

// ---------------------------------------------------------------------------------------------- model

struct ResolvedRun {
  ExecOptions o;             // with defaults filled in (checkpoint found, tokenizer found, split = schedule's first)
  ModelSpec spec;
  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<SplitSchedule> schedule;  // --split-schedule
  std::optional<SplitReaction> reaction;  // --split-react-rate, for a schedule with windows
};

// A loader's "unknown model ..." error with the flag that named it in front, like a scenario key's.
template <class F>
auto by_flag(const char* flag, F&& load) {
  try {
    return load();
  } catch (const InputError& e) {
    if (std::string_view(e.what()).rfind("unknown ", 0) == 0) throw InputError(fmt::format("{}: {}", flag, e.what()));
    throw;
  }
}

// A quantity flag: the flag named in any error, like a scenario key.
double flag_quantity(const std::string& flag, const std::string& v, Dim d) {
  try {
    return parse_quantity(v, d);
  } catch (const std::invalid_argument& e) {
    throw InputError(fmt::format("{}: expected {} like {}, got {} ({})", flag, dim_name(d), dim_example(d),
                                 quoted_input(v), e.what()));
  }
}

LinkShape link_shape(const ExecOptions& o) {
  LinkShape l;
  if (!o.link.empty()) {
    LinkProfile p = by_flag("--link", [&] { return load_link(o.link); });
    l.trace = p.trace;  // a traced link's rates are its peaks; the edge follows the trace from its start
    l.uplink_rate = p.uplink.value;
    l.downlink_rate = p.downlink.value;
    l.delay = p.latency.value;
  }
  // 0 means "unshaped" inside; a user who writes 0Mbps means a link that carries nothing, which cannot run.
  auto rate = [](const std::string& flag, const std::string& v) {
    const double r = flag_quantity(flag, v, Dim::data_rate);
    if (r <= 0)
      throw InputError(
          fmt::format("{}: expected a positive rate like \"20Mbps\" (leave the flag out for an unshaped "
                      "link), got {}",
                      flag, quoted_input(v)));
    return r;
  };
  if (!o.uplink.empty()) l.uplink_rate = rate("--uplink", o.uplink);
  if (!o.downlink.empty()) l.downlink_rate = rate("--downlink", o.downlink);
  if (!o.delay.empty()) l.delay = flag_quantity("--delay", o.delay, Dim::time);
  if (l.delay > 60)
    throw InputError(fmt::format("--delay: expected a one-way delay of at most 60 s, got {}", quoted_input(o.delay)));
  return l;
}

ServerOptions server_options(const ExecOptions& o) {
  ServerOptions so;
  so.host = o.host;
  so.port = o.port;
  so.batch_window = flag_quantity("--batch-window", o.batch_window, Dim::time);
  if (so.batch_window > 10)
    throw InputError(
        fmt::format("--batch-window: expected a duration of at most 10 s, got {}", quoted_input(o.batch_window)));
  so.max_batch = o.max_batch;
  so.max_sessions = std::max<int64_t>(o.max_sessions, o.clients);  // a local run's own clients always fit
  const double inflight = flag_quantity("--max-inflight", o.max_inflight, Dim::bytes);
  if (inflight < 1 << 20 || inflight > 1e12)
    throw InputError(fmt::format("--max-inflight: expected a size in 1MiB..1TB, got {}", quoted_input(o.max_inflight)));
  so.max_inflight_bytes = static_cast<int64_t>(inflight);
  so.idle_timeout = flag_quantity("--session-timeout", o.session_timeout, Dim::time);
  if (!(so.idle_timeout > 0 && so.idle_timeout <= 1e6))
    throw InputError(fmt::format("--session-timeout: expected a duration in (0, 1e6 s], got {}", quoted_input(o.session_timeout)));
  so.max_kv_bytes = flag_quantity("--max-kv", o.max_kv, Dim::bytes);
  if (so.max_kv_bytes < 1 << 20)
    throw InputError(fmt::format("--max-kv: expected a size of at least 1MiB, got {}", quoted_input(o.max_kv)));
  return so;
}

ResolvedRun resolve(const ExecOptions& in) {
  ResolvedRun r{in, {}, nullptr, std::nullopt, std::nullopt};
  ExecOptions& o = r.o;
  namespace fs = std::filesystem;
  // Flags first, before any file is read: each is checked like a scenario key.
  if (o.steps < 1) throw InputError(fmt::format("--steps: expected an integer >= 1, got {}", o.steps));
  check_sampling(o.sampling, "--temperature", "--top-p");
  if (!o.name.empty() && !name_problem(o.name).empty())
    throw InputError(fmt::format("--name: expected {} (it names the folder in results/exec/), got {}", name_rule(),
                                 quoted_input(o.name)));
  link_shape(o);      // checks the link flags (the result is built again where a run needs it)
  server_options(o);  // checks the server flags
  if (o.checkpoint.empty() && o.model.empty()) {
    auto dir = find_model_dir();
    if (!dir)
      throw InputError("--checkpoint / --model: expected a llama2.c checkpoint or a models/ name for random weights "
                       "(stories260K was not found: set SPLITSIM_MODEL_DIR)");
    o.checkpoint = *dir + "/stories260K.bin";
  }
  if (!o.checkpoint.empty()) {
    CheckpointInfo c = read_checkpoint_info(o.checkpoint);
    r.spec = o.model.empty() ? spec_from_header(c) : by_flag("--model", [&] { return load_model(o.model); });
    if (o.tokenizer.empty()) {
      fs::path dir = fs::path(o.checkpoint).parent_path();
      for (auto n : {std::string("tokenizer.bin"), fmt::format("tok{}.bin", c.vocab_size)})
        if (fs::exists(dir / n)) o.tokenizer = (dir / n).string();
    }
  } else {
    r.spec = by_flag("--model", [&] { return load_model(o.model); });
  }
  if (!o.tokenizer.empty()) r.tokenizer = std::make_unique<Tokenizer>(o.tokenizer, r.spec.vocab_size);
  if (!o.split_schedule.empty()) {
    if (o.split >= 0) throw InputError("--split-schedule: expected without --split (its first band is the split)");
    r.schedule = SplitSchedule::parse(o.split_schedule, r.spec.n_layers, "--split-schedule");
    o.split = r.schedule->first();
  }
  // As split.react_rate in a scenario: a window needs a rate, a rate needs a window.
  const bool windows = r.schedule && r.schedule->reacts();
  if (!o.split_react_rate.empty()) {
    if (!windows)
      throw InputError(fmt::format("--split-react-rate: expected a --split-schedule with a window to react with "
                                   "(EARLIEST-CONTEXT:SPLIT, like 0:4,20-40:2), got {}",
                                   o.split_schedule.empty() ? std::string("none") : quoted_input(o.split_schedule)));
    const double rate = flag_quantity("--split-react-rate", o.split_react_rate, Dim::data_rate);
    if (rate <= 0)
      throw InputError(fmt::format("--split-react-rate: expected a positive rate like \"4Mbps\", got {}",
                                   quoted_input(o.split_react_rate)));
    r.reaction = SplitReaction{rate, o.split_react_window};
  } else if (windows) {
    throw InputError(fmt::format("--split-react-rate: expected the uplink rate at which the schedule's windows move "
                                 "early, like 4Mbps, for {}", quoted_input(o.split_schedule)));
  }
  check_weight_bits("--edge-bits", o.edge_bits);
  check_weight_bits("--cloud-bits", o.cloud_bits);
  o.wire.validate(codec_flag);
  return r;
}

// The part of the model a process needs, quantized at `bits`.
ModelWeights load_part(const ResolvedRun& r, const ModelPart& part, int bits) {
  const ExecOptions& o = r.o;
  ModelWeights w;
  if (!o.checkpoint.empty()) {
    ModelSpec expected;
    if (!o.model.empty()) expected = load_model(o.model);
    w = load_checkpoint(o.checkpoint, o.model.empty() ? nullptr : &expected);
    w.keep_only(part);
  } else {
    w = random_weights(r.spec, o.weights_seed, part);
  }
  if (part.layer_end > w.spec.n_layers || part.layer_begin < 0)
    throw InputError(fmt::format("--split: expected 0..{} for {}, got {}", w.spec.n_layers, w.spec.name,
                                 part.embedding ? part.layer_end : part.layer_begin));
  w.quantize(bits, o.group_size);
  return w;
}

std::vector<int32_t> prompt_tokens(const ResolvedRun& r) {
  if (r.tokenizer) return r.tokenizer->encode(r.o.prompt);
  if (!r.o.prompt.empty()) throw InputError("--prompt: text needs a tokenizer (--tokenizer)");
  return {kBosToken};
}

std::string text_of(const ResolvedRun& r, const std::vector<int32_t>& prompt, const std::vector<int32_t>& tokens) {
  if (r.tokenizer) {
    std::vector<int32_t> all(prompt.begin(), prompt.end());
    all.insert(all.end(), tokens.begin(), tokens.end());
    return r.tokenizer->decode_all(all);
  }
  std::string s;
  for (auto t : tokens) s += (s.empty() ? "" : " ") + std::to_string(t);
  return s;
}

std::string run_name(const ResolvedRun& r, const char* mode) {
  if (!r.o.name.empty()) return r.o.name;  // checked in resolve()
  const std::string model =
      name_from(r.o.checkpoint.empty() ? r.o.model : std::filesystem::path(r.o.checkpoint).stem().string());
  if (r.o.split < 0) return fmt::format("{}-{}-unsplit", model, mode);
  std::string split = fmt::format("s{}", r.o.split);
  if (r.schedule && r.schedule->moves())
    for (size_t i = 1; i < r.schedule->bands().size(); ++i)
      split += r.schedule->bands()[i].earliest >= 0
                   ? fmt::format("-{}at{}to{}", r.schedule->bands()[i].split, r.schedule->bands()[i].earliest,
                                 r.schedule->bands()[i].context)
                   : fmt::format("-{}at{}", r.schedule->bands()[i].split, r.schedule->bands()[i].context);
  return fmt::format("{}-{}-{}-e{}-c{}-{}", model, mode, split, r.o.edge_bits, r.o.cloud_bits, wire_codec_name(r.o.wire.codec));
}

std::string out_dir(const ResolvedRun& r, const char* mode) {
  return r.o.out.empty() ? "results/exec/" + run_name(r, mode) : r.o.out;
}

nlohmann::json config_json(const ResolvedRun& r, const char* mode, const ModelSpec& spec, const std::string& source) {
  nlohmann::json j = r.o.to_json();
  j["mode"] = mode;
  j["model_spec"] = spec.to_json();
  j["weights_source"] = source;
  return j;
}

RunTotals totals_of(const std::vector<RequestRecord>& rows, double server_busy, double wall, int64_t events) {
  RunTotals t;
  double first = 1e300, last = 0;
  for (const auto& r : rows) {
    first = std::min(first, r.arrival);
    last = std::max(last, r.arrival + r.e2e);
  }
  t.span = rows.empty() ? 0 : last - first;
  t.server_busy = server_busy;
  t.wall = wall;
  t.events = events;
  return t;
}

void print_text(int client, const std::string& text, int clients) {
  if (clients > 1) fmt::print("[client {}] ", client);
  fmt::print("{}\n", text);
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------- unsplit

void local_unsplit(const ResolvedRun& r) {
  const ExecOptions& o = r.o;
  ModelWeights w = load_part(r, ModelPart::whole(r.spec), o.edge_bits);
  const ModelSpec& m = w.spec;
  auto prompt = prompt_tokens(r);
  std::vector<RequestRecord> rows;
  std::vector<TokenRecord> steps;
  nlohmann::json texts = nlohmann::json::array();
  int64_t replaced = 0, replaced_bytes = 0;
  double kv_bytes = 0, ws_bytes = 0;
  const double run_start = now_s();
  for (int k = 0; k < o.requests; ++k) {
    SamplingConfig sc = o.sampling;
    sc.seed += static_cast<uint64_t>(k);
    Sampler sampler(sc);
    KvCache cache(m, w.part, context_for(m, static_cast<int64_t>(prompt.size()), o.steps));
    Workspace ws;
    Eigen::MatrixXf x, logits;
    std::vector<int32_t> out, block = prompt;
    RequestRecord rec;
    rec.request = k;
    rec.group = "exec";
    rec.prompt_tokens = static_cast<int64_t>(prompt.size());
    const double arrival = now_s();
    rec.arrival = arrival - run_start;
    for (int64_t step = 0; static_cast<int64_t>(out.size()) < o.steps && cache.pos + static_cast<int64_t>(block.size()) <= cache.capacity(); ++step) {
      const double t0 = now_s();
      embed(w, block, x);
      Segment seg{&cache, static_cast<int64_t>(block.size())};
      forward_layers(w, {&seg, 1}, x, ws);
      const int64_t last = x.cols() - 1;
      forward_head(w, x, {&last, 1}, logits, ws);
      const int32_t next = sampler.sample({logits.data(), static_cast<size_t>(m.vocab_size)});
      const double t1 = now_s();
      steps.push_back(TokenRecord{k, step, t1 - t0, 0, 0, 0, 0, 0, 0, 0, 0, m.n_layers, 0});
      rec.edge_compute += t1 - t0;
      if (next == kBosToken) break;
      out.push_back(next);
      if (out.size() == 1) rec.ttft = t1 - arrival;
      else rec.tbt_max = std::max(rec.tbt_max, t1 - arrival - rec.e2e);
      rec.e2e = t1 - arrival;
      block.assign(1, next);
    }
    rec.output_tokens = static_cast<int64_t>(out.size());
    rec.tpot = rec.output_tokens > 1 ? (rec.e2e - rec.ttft) / static_cast<double>(rec.output_tokens - 1) : 0;
    kv_bytes = cache.bytes();
    ws_bytes = ws.bytes();
    rec.edge_memory_peak = w.bytes() + kv_bytes + ws_bytes;
    rows.push_back(rec);
    const std::string text = text_of(r, prompt, out);
    texts.push_back(valid_utf8(text, &replaced));
    replaced_bytes += replaced;
    print_text(0, text, 1);
  }
  const double wall = now_s() - run_start;
  const std::string dir = out_dir(r, "local");
  nlohmann::json extra{
      {"mode", "local-unsplit"},
      {"memory", {{"edge_weights_bytes", w.bytes()}, {"edge_kv_bytes", kv_bytes}, {"edge_workspace_bytes", ws_bytes}}},
      {"texts", texts},
      {"texts_replaced_bytes", replaced_bytes}};
  write_run_outputs(dir, config_json(r, "local", m, w.source), rows, steps, totals_of(rows, 0, wall, static_cast<int64_t>(steps.size())), extra);
  if (!o.quiet) fmt::print(stderr, "exec: {} requests unsplit in {}; outputs in {}\n", rows.size(), format_time(wall), dir);
}

// ---------------------------------------------------------------------------------------------- split outputs

void write_split_outputs(const ResolvedRun& r, const char* mode, const std::string& dir, const ModelWeights& edge,
                         const std::vector<EdgeResult>& results, const std::vector<std::vector<int32_t>>& prompts,
                         double server_busy, const nlohmann::json& server_json, double wall) {
  std::vector<RequestRecord> rows;
  std::vector<TokenRecord> steps;
  double cu = 0, cd = 0, ekv = 0, ews = 0, skv = 0, sw = 0, busy_share = 0;
  nlohmann::json texts = nlohmann::json::array();
  int64_t events = 0, replaced_bytes = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const EdgeResult& e = results[i];
    rows.push_back(e.record);
    steps.insert(steps.end(), e.steps.begin(), e.steps.end());
    cu += e.control_bytes_up;
    cd += e.control_bytes_down;
    ekv = std::max(ekv, e.edge_kv_bytes);
    ews = std::max(ews, e.edge_workspace_bytes);
    skv = std::max(skv, e.server_kv_bytes);
    sw = std::max(sw, e.server_weights_bytes);
    busy_share += e.server_busy_share;
    events += static_cast<int64_t>(e.steps.size());
    int64_t replaced = 0;
    texts.push_back(valid_utf8(text_of(r, prompts[i], e.tokens), &replaced));
    replaced_bytes += replaced;
  }
  if (server_busy < 0) server_busy = busy_share;  // an edge process only knows its sessions' share
  int64_t failed = 0;
  for (const auto& e : results)
    if (e.record.failed && failed++ == 0 && !r.o.quiet)
      fmt::print(stderr, "exec: request {} failed after {} tokens: {}\n", e.record.request, e.tokens.size(), e.failure);
  if (failed > 1 && !r.o.quiet) fmt::print(stderr, "exec: {} requests failed in all (requests.csv, column failed)\n", failed);
  nlohmann::json extra{{"mode", mode},
                       {"memory",
                        {{"edge_weights_bytes", edge.bytes()},
                         {"edge_kv_bytes", ekv},
                         {"edge_workspace_bytes", ews},
                         {"server_weights_bytes", sw},
                         {"server_kv_bytes_per_session", skv}}},
                       {"control_bytes_up", cu},
                       {"control_bytes_down", cd},
                       {"server", server_json},
                       {"texts", texts},
                       {"texts_replaced_bytes", replaced_bytes}};
  write_run_outputs(dir, config_json(r, mode, edge.spec, edge.source), rows, steps, totals_of(rows, server_busy, wall, events), extra);
}

std::atomic<bool>& interrupted() {  // set by SIGINT/SIGTERM: the one process-wide flag a signal may touch
  static std::atomic<bool> flag{false};
  return flag;
}

}  // namespace

// ---------------------------------------------------------------------------------------------- modes

void exec_local(const ExecOptions& in) {
  ResolvedRun r = resolve(in);
  const ExecOptions& o = r.o;
  if (o.split < 0) {
    if (o.clients != 1) throw InputError("--clients: several clients need a split (--split S)");
    if (o.wire.codec != WireCodec::fp32) throw InputError("--codec: an unsplit run sends no hidden state; give --split");
    return local_unsplit(r);
  }
  if (o.clients < 1 || o.requests < 1) throw InputError("--clients/--requests: expected at least 1");
  const int64_t server_from = r.schedule ? r.schedule->lowest() : o.split;
  ModelWeights edge = load_part(r, ModelPart::edge(o.split), o.edge_bits);
  ModelWeights server = load_part(r, ModelPart::server(r.spec, server_from), o.cloud_bits);
  auto prompt = prompt_tokens(r);
  EdgeOptions eo;
  eo.split = o.split;
  eo.schedule = r.schedule;
  eo.reaction = r.reaction;
  eo.link = link_shape(o);
  eo.wire = o.wire;
  eo.sampling = o.sampling;
  eo.steps = o.steps;
  const ServerOptions so = server_options(o);
  const bool stream = o.clients == 1 && o.requests == 1 && r.tokenizer;
  int32_t prev = prompt.back();
  if (stream) fmt::print("{}", text_of(r, prompt, {}));
  auto res = run_local_split(edge, server, eo, so, o.clients, o.requests, prompt, [&](int, int32_t t) {
    if (!stream) return;
    fmt::print("{}", r.tokenizer->decode(prev, t));
    std::fflush(stdout);
    prev = t;
  });
  if (stream) fmt::print("\n");
  else
    for (size_t i = 0; i < res.requests.size(); ++i)
      print_text(static_cast<int>(res.requests[i].record.device), text_of(r, prompt, res.requests[i].tokens), o.clients);
  const std::string dir = out_dir(r, "local");
  std::vector<std::vector<int32_t>> prompts(res.requests.size(), prompt);
  write_split_outputs(r, "local", dir, edge, res.requests, prompts, res.server.busy, res.server.to_json(), res.wall);
  if (!o.quiet)
    fmt::print(stderr, "exec: {} requests over {} clients, split {} (edge {} bits, server {} bits, wire {}) in {}; "
               "server mean batch {:.2f}; outputs in {}\n",
               res.requests.size(), o.clients, o.split, o.edge_bits, o.cloud_bits, wire_codec_name(o.wire.codec), format_time(res.wall),
               res.server.batches ? double(res.server.steps) / double(res.server.batches) : 0.0, dir);
}

void exec_server(const ExecOptions& in) {
  ResolvedRun r = resolve(in);
  const ExecOptions& o = r.o;
  if (o.split < 0) throw InputError("--split: the server needs the split point S (it runs layers [S, L))");
  if (r.schedule)
    throw InputError("--split-schedule: the server takes --split, the lowest split it serves (edges' schedules may "
                     "reach down to it)");
  ModelWeights server = load_part(r, ModelPart::server(r.spec, o.split), o.cloud_bits);
  SplitServer srv(server, o.split, server_options(o));
  srv.start();
  fmt::print(stderr, "exec server: {} layers [{}, {}) + head at {} bits, listening on {}:{} (Ctrl-C stops)\n",
             server.spec.name, o.split, server.spec.n_layers, o.cloud_bits, o.host, srv.port());
  auto handler = [](int) { interrupted() = true; };
  std::signal(SIGINT, handler);
  std::signal(SIGTERM, handler);
  const double start = now_s();
  while (!interrupted()) {
    auto t = srv.totals();
    if (o.sessions > 0 && t.sessions_completed + t.sessions_failed >= o.sessions) break;
    sleep_until_s(now_s() + 0.05);
  }
  srv.stop();
  auto t = srv.totals();
  const std::string dir = out_dir(r, "server");
  nlohmann::json summary{{"server", t.to_json()}, {"session_errors", srv.session_errors()}, {"wall_s", now_s() - start}};
  write_run_folder(dir, {{"config.json", dump_json(config_json(r, "server", server.spec, server.source), 2) + "\n"},
                         {"server_summary.json", dump_json(summary, 2) + "\n"}});
  fmt::print(stderr, "exec server: {} sessions completed, {} failed, {} batches (mean {:.2f}); summary in {}\n",
             t.sessions_completed, t.sessions_failed, t.batches, t.batches ? double(t.steps) / double(t.batches) : 0.0, dir);
}

void exec_edge(const ExecOptions& in) {
  ResolvedRun r = resolve(in);
  const ExecOptions& o = r.o;
  if (o.split < 0) throw InputError("--split: the edge needs the split point S (it runs layers [0, S))");
  const auto colon = o.connect.rfind(':');
  if (colon == std::string::npos)
    throw InputError(
        fmt::format("--connect: expected HOST:PORT with a port in 1..65535, got {}", quoted_input(o.connect)));
  EdgeOptions eo;
  eo.host = o.connect.substr(0, colon);
  const std::string port = o.connect.substr(colon + 1);
  if (eo.host.empty() || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) < 1 || std::stoi(port) > 65535)
    throw InputError(
        fmt::format("--connect: expected HOST:PORT with a port in 1..65535, got {}", quoted_input(o.connect)));
  eo.port = std::stoi(port);
  ModelWeights edge = load_part(r, ModelPart::edge(o.split), o.edge_bits);
  eo.split = o.split;
  eo.schedule = r.schedule;
  eo.reaction = r.reaction;
  eo.link = link_shape(o);
  eo.wire = o.wire;
  eo.steps = o.steps;
  SplitTracker tracker;  // the client's observations of its uplink, across its requests
  if (eo.reaction) tracker = SplitTracker(&*eo.schedule, *eo.reaction), eo.tracker = &tracker;
  auto prompt = prompt_tokens(r);
  std::vector<EdgeResult> results;
  const double run_start = now_s();
  for (int k = 0; k < o.requests; ++k) {
    eo.sampling = o.sampling;
    eo.sampling.seed += static_cast<uint64_t>(k);
    results.push_back(run_edge_request(edge, eo, prompt, k, 0, run_start));
    print_text(0, text_of(r, prompt, results.back().tokens), 1);
  }
  const double wall = now_s() - run_start;
  const std::string dir = out_dir(r, "edge");
  std::vector<std::vector<int32_t>> prompts(results.size(), prompt);
  write_split_outputs(r, "edge", dir, edge, results, prompts, -1, nlohmann::json::object(), wall);
  if (!o.quiet) fmt::print(stderr, "exec edge: {} requests in {}; outputs in {}\n", results.size(), format_time(wall), dir);
}

}  // namespace splitsim

// ---------------------------------------------------------------------------------------------- eval

#include "executor/eval.hpp"

namespace splitsim {

namespace {

// The evaluation streams: windows of --text, else streams sampled from the fp32 model with --stream-seed.
std::vector<std::vector<int32_t>> eval_streams(const ResolvedRun& r, const ModelWeights& ref, std::string& source) {
  const ExecOptions& o = r.o;
  std::vector<std::vector<int32_t>> streams;
  if (!o.text_file.empty()) {
    if (!r.tokenizer) throw InputError("--text: needs a tokenizer (--tokenizer)");
    std::ifstream in(o.text_file);
    if (!in) throw InputError(fmt::format("{}: cannot open evaluation text", o.text_file));
    std::stringstream ss;
    ss << in.rdbuf();
    streams = text_streams(r.tokenizer->encode(ss.str(), false), o.stream_len);
    if (static_cast<int64_t>(streams.size()) > o.streams) streams.resize(static_cast<size_t>(o.streams));
    source = "text " + std::filesystem::path(o.text_file).filename().string();
  } else {
    streams = sample_streams(ref, o.streams, o.stream_len, o.stream_seed);
    source = fmt::format("sampled from the fp32 model, temperature 1, seed {}", o.stream_seed);
  }
  return streams;
}

}  // namespace

ReferenceModel load_reference(const ExecOptions& in) {
  ResolvedRun r = resolve(in);
  ReferenceModel out;
  out.weights = load_part(r, ModelPart::whole(r.spec), 32);
  out.streams = eval_streams(r, out.weights, out.streams_source);
  std::string name = r.o.model;
  if (name.empty()) {
    name = std::filesystem::path(r.o.checkpoint).stem().string();
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  out.model_name = name;
  out.config = config_json(r, "eval", out.weights.spec, out.weights.source);
  return out;
}

void exec_eval(const ExecOptions& in) {
  ResolvedRun r = resolve(in);
  const ExecOptions& o = r.o;
  if (o.split < 0) throw InputError("--split: eval compares a split configuration with the unsplit model; give S");
  if (r.schedule) throw InputError("--split-schedule: eval measures one static split (give --split)");
  ModelWeights ref = load_part(r, ModelPart::whole(r.spec), 32);
  ModelWeights edge = load_part(r, ModelPart::edge(o.split), o.edge_bits);
  ModelWeights server = load_part(r, ModelPart::server(r.spec, o.split), o.cloud_bits);
  std::string source;
  std::vector<std::vector<int32_t>> streams = eval_streams(r, ref, source);
  const double t0 = now_s();
  EvalResult e = evaluate_split(ref, edge, server, o.wire, streams);
  nlohmann::json j = e.to_json();
  j["streams_source"] = source;
  j["edge_weights_bytes"] = edge.bytes();
  j["server_weights_bytes"] = server.bytes();
  j["wall_s"] = now_s() - t0;
  fmt::print("split {} | edge {} bits | server {} bits | wire {} | {} positions in {} streams ({})\n", o.split,
             o.edge_bits, o.cloud_bits, wire_codec_name(o.wire.codec), e.positions, e.streams, source);
  fmt::print("perplexity: reference {:.4f}, split {:.4f} ({:+.3f}%)\n", e.ppl_ref, e.ppl_split,
             100.0 * (e.ppl_split / e.ppl_ref - 1.0));
  fmt::print("mean KL(ref || split) {:.3e} nats (max {:.3e}); greedy agreement {:.2f}%\n", e.mean_kl, e.max_kl,
             100.0 * e.agreement);
  fmt::print("wire: {:.1f} B per token block ({:.2f} bits per element)\n", e.wire_bytes_per_token, e.wire_bits_per_element);
  const std::string dir = out_dir(r, "eval");
  write_run_folder(dir, {{"config.json", dump_json(config_json(r, "eval", ref.spec, ref.source), 2) + "\n"},
                         {"eval.json", dump_json(j, 2) + "\n"}});
  if (!o.quiet) fmt::print(stderr, "exec eval: outputs in {}\n", dir);
}

}  // namespace splitsim
