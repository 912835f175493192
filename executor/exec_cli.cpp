// The executor's command line: `splitsim exec local|server|edge|eval|accuracy-sweep` and `splitsim bench exec`.
// Flags map one to one onto ExecOptions (exec_run.hpp) and, for the quantization methods, MethodSettings
// (executor/methods/method.hpp); the callbacks throw InputError on bad input.
#include <CLI/CLI.hpp>

#include "core/error.hpp"
#include "executor/exec_run.hpp"
#include "executor/methods/method_run.hpp"
#include "core/cli.hpp"
#include "core/cli_checks.hpp"
#include "core/split_schedule.hpp"

namespace splitsim {

namespace {

// The codec's names are core/codec.hpp's; a bad one is a one-line error naming the flag.
void codec_option(CLI::App* c, const std::string& flag, WireCodec& target, const std::string& help) {
  c->add_option_function<std::string>(
      flag, [&target, flag](const std::string& v) { target = parse_wire_codec(v, flag, ""); }, help);
}

void ts_mode_option(CLI::App* c, const std::string& flag, TsMode& target, const std::string& help) {
  c->add_option_function<std::string>(
      flag, [&target, flag](const std::string& v) { target = parse_ts_mode(v, flag, ""); }, help);
}

void common_flags(CLI::App* c, ExecOptions& o) {
  c->add_option("--model", o.model, "models/<name> shape: random weights, or the shape a checkpoint must have");
  c->add_option("--checkpoint", o.checkpoint, "llama2.c checkpoint (.bin, legacy or version 1); default: stories260K when found");
  c->add_option("--tokenizer", o.tokenizer, "llama2.c tokenizer.bin; default: tokenizer.bin or tok<V>.bin beside the checkpoint");
  c->add_option("--weights-seed", o.weights_seed, "seed of random weights (edge and server must agree)");
  c->add_option("--prompt", o.prompt, "prompt text (default: start from BOS)");
  c->add_option("--steps", o.steps, "tokens to generate")->check(cli::at_least(1));
  c->add_option("--temperature", o.sampling.temperature, "0 = greedy");
  c->add_option("--top-p", o.sampling.top_p, "nucleus sampling mass (<= 0 or >= 1: whole distribution)");
  c->add_option("--seed", o.sampling.seed, "sampling seed");
  c->add_option("--split", o.split, "split point S: edge runs layers [0,S), server [S,L) + head")
      ->check(cli::at_least(0));
  c->add_option("--split-schedule", o.split_schedule,
                 "split moving with the context, CONTEXT:SPLIT,... e.g. 0:4,40:2,80:1 (local, edge; replaces --split); "
                 "a band EARLIEST-CONTEXT:SPLIT moves early when the uplink is good (--split-react-rate)");
  c->add_option("--split-react-rate", o.split_react_rate,
                "uplink rate, e.g. 4Mbps, from which a band with a window moves early (observed over the last uploads)");
  c->add_option("--split-react-window", o.split_react_window, "uploads the observed uplink rate is taken over")
      ->check(cli::int_in(1, SplitReaction::kMaxWindow));
  c->add_option("--edge-bits", o.edge_bits, "edge weight bits: 32 (fp32), 16 (fp16) or OPSC 2, 3, 4, 8");
  c->add_option("--cloud-bits", o.cloud_bits, "server weight bits: 32 (fp32), 16 (fp16) or OPSC 2, 3, 4, 8");
  c->add_option("--group-size", o.group_size, "OPSC quantization group size along the input dimension")
      ->check(cli::at_least(1));
  codec_option(c, "--codec", o.wire.codec, "hidden-state wire codec: fp32 | fp16 | uniform | ts-tabq");
  c->add_option("--uniform-bits", o.wire.uniform_bits, "uniform codec bits per element");
  ts_mode_option(c, "--ts-mode", o.wire.ts_mode, "TS threshold mode: none | fixed | percentile | sigma");
  c->add_option("--ts-threshold", o.wire.ts_threshold, "fixed: tau; percentile: outlier fraction; sigma: k");
  c->add_option("--tabq-eps", o.wire.tabq_eps, "TAB-Q relative error budget per token");
  c->add_option("--tabq-bits", o.wire.tabq_bits, "TAB-Q allowed bit-widths")->delimiter(',');
  c->add_option("--out", o.out, "output folder (default results/exec/<name>)");
  c->add_option("--name", o.name, "run name (default derived from the options)");
  c->add_flag("--quiet", o.quiet, "no progress lines on stderr");
}

void link_flags(CLI::App* c, ExecOptions& o) {
  c->add_option("--link", o.link, "hwprofiles/links/<name> (wifi5, lte, ...): uplink, downlink, latency");
  c->add_option("--uplink", o.uplink, "uplink rate, e.g. 20Mbps (overrides --link)");
  c->add_option("--downlink", o.downlink, "downlink rate, e.g. 50Mbps (overrides --link)");
  c->add_option("--delay", o.delay, "one-way delay, e.g. 15ms (overrides --link)");
}

void server_flags(CLI::App* c, ExecOptions& o) {
  c->add_option("--batch-window", o.batch_window, "how long a batch waits for other sessions' steps");
  c->add_option("--max-batch", o.max_batch, "sequences per batch")->check(cli::int_in(1, 65536));
  c->add_option("--max-sessions", o.max_sessions, "connections served at once (more are refused)")
      ->check(cli::int_in(1, 65536));
  c->add_option("--max-inflight", o.max_inflight, "frame payload bytes held at once by all sessions, e.g. 256MiB");
  c->add_option("--max-kv", o.max_kv, "KV cache bytes held at once by all sessions, e.g. 8GiB");
  c->add_option("--session-timeout", o.session_timeout,
                "close a session silent for longer (after a token, until its next block), e.g. 120s");
}

// The method flags of `exec eval --method` and `exec accuracy-sweep`.
void method_flags(CLI::App* c, MethodSettings& m, CalibrationOptions& cal) {
  c->add_option("--act-bits", m.act_bits, "activation bits inside the layers (0: fp32; default: the method's)");
  c->add_option("--smooth-alpha", m.smooth_alpha, "smoothquant: migration strength alpha");
  c->add_option("--int8-threshold", m.int8_threshold, "llm-int8: |x| above it stays fp16");
  c->add_option("--outlier-fraction", m.outlier_fraction, "atom: fraction of channels kept at 8 bits");
  c->add_option("--weight-clip", m.weight_clip, "atom: weight range clipping ratio");
  c->add_option("--act-clip", m.act_clip, "atom: activation range clipping ratio");
  c->add_option("--calib-streams", cal.streams, "calibration streams sampled from the fp32 model")
      ->check(cli::at_least(1));
  c->add_option("--calib-len", cal.length, "tokens per calibration stream")->check(cli::int_in(2, 1 << 20));
  c->add_option("--calib-seed", cal.seed, "seed of the first calibration stream (disjoint from --stream-seed's)");
}

void eval_flags(CLI::App* c, ExecOptions& o) {
  c->add_option("--text", o.text_file, "evaluation text file (default: streams sampled from the fp32 model)");
  c->add_option("--streams", o.streams, "number of streams")->check(cli::at_least(1));
  c->add_option("--stream-len", o.stream_len, "tokens per stream")->check(cli::int_in(2, 1 << 20));
  c->add_option("--stream-seed", o.stream_seed, "seed of the sampled streams");
}

}  // namespace

// Long on purpose: one declaration per command and flag, as `--help` lists them.
void add_exec_commands(CliRoot& root) {
  auto opts = std::make_shared<ExecOptions>();
  CLI::App* exec = root.app.add_subcommand("exec", "Real split inference: edge and server over TCP, or both in one process");
  exec->require_subcommand(1);

  CLI::App* local = exec->add_subcommand("local", "Server and edge clients in one process (unsplit without --split)");
  common_flags(local, *opts);
  link_flags(local, *opts);
  server_flags(local, *opts);
  local->add_option("--clients", opts->clients, "concurrent edge clients")->check(cli::int_in(1, 4096));
  local->add_option("--requests", opts->requests, "requests per client, one after the other")->check(cli::at_least(1));
  local->callback([opts] { exec_local(*opts); });

  CLI::App* server = exec->add_subcommand("server", "Serve layers [S,L) + head to edge clients");
  common_flags(server, *opts);
  server_flags(server, *opts);
  server->add_option("--host", opts->host, "IPv4 address to listen on");
  server->add_option("--port", opts->port, "TCP port (0: any free port)")->check(cli::int_in(0, 65535));
  server->add_option("--sessions", opts->sessions, "exit after this many sessions ended (0: until Ctrl-C)")
      ->check(cli::at_least(0));
  server->callback([opts] { exec_server(*opts); });

  CLI::App* edge = exec->add_subcommand("edge", "Run embedding + layers [0,S) and ask a server for the tokens");
  common_flags(edge, *opts);
  link_flags(edge, *opts);
  edge->add_option("--connect", opts->connect, "server HOST:PORT")->required();
  edge->add_option("--requests", opts->requests, "requests, one after the other")->check(cli::at_least(1));
  edge->callback([opts] { exec_edge(*opts); });

  CLI::App* eval = exec->add_subcommand("eval", "Accuracy of a split configuration vs the unsplit fp32 model");
  common_flags(eval, *opts);
  eval_flags(eval, *opts);
  auto method = std::make_shared<MethodSettings>();
  auto calib = std::make_shared<CalibrationOptions>();
  eval->add_option("--method", method->method,
                   "quantization method: rtn | smoothquant | omniquant-lwc | atom | llm-int8 | opsc (default: the plain "
                   "OPSC/codec flags)");
  method_flags(eval, *method, *calib);
  eval->callback([opts, method, calib, eval] {
    const bool with_method = eval->get_option("--method")->count() > 0;
    for (const char* f : {"--act-bits", "--smooth-alpha", "--int8-threshold", "--outlier-fraction", "--weight-clip",
                          "--act-clip", "--calib-streams", "--calib-len", "--calib-seed"})
      if (!with_method && eval->get_option(f)->count() > 0)
        throw InputError(std::string(f) + ": expected together with --method");
    if (!with_method) return exec_eval(*opts);
    // A method picks its own bits and wire unless they are given on the command line.
    MethodSettings m = *method;
    m.edge_bits = eval->get_option("--edge-bits")->count() ? opts->edge_bits : -1;
    m.cloud_bits = eval->get_option("--cloud-bits")->count() ? opts->cloud_bits : -1;
    m.group_size = opts->group_size;
    if (eval->get_option("--codec")->count()) m.wire_codec = opts->wire.codec;
    m.wire = opts->wire;
    exec_method_eval(*opts, m, *calib);
  });

  // The sweep: stories260K-sized defaults (group 32 = half of d = 64; 16 streams of 128 tokens).
  auto sweep_opts = std::make_shared<ExecOptions>();
  sweep_opts->group_size = 32;
  sweep_opts->streams = 16;
  auto sweep = std::make_shared<AccuracySweepOptions>();
  auto sweep_calib = std::make_shared<CalibrationOptions>();
  CLI::App* acc = exec->add_subcommand(
      "accuracy-sweep", "Methods x split x bits against the unsplit fp32 model into <out>/accuracy.csv (the explorer's input)");
  acc->add_option("--model", sweep_opts->model, "models/<name> shape: random weights, or the shape a checkpoint must have");
  acc->add_option("--checkpoint", sweep_opts->checkpoint, "llama2.c checkpoint (default: stories260K when found)");
  acc->add_option("--tokenizer", sweep_opts->tokenizer, "llama2.c tokenizer.bin (for --text)");
  acc->add_option("--weights-seed", sweep_opts->weights_seed, "seed of random weights");
  acc->add_option("--group-size", sweep_opts->group_size, "weight quantization group size")->check(cli::at_least(1));
  ts_mode_option(acc, "--ts-mode", sweep_opts->wire.ts_mode, "opsc TS threshold mode: none | fixed | percentile | sigma");
  acc->add_option("--ts-threshold", sweep_opts->wire.ts_threshold, "opsc TS threshold");
  acc->add_option("--tabq-bits", sweep_opts->wire.tabq_bits, "opsc TAB-Q allowed bit-widths")->delimiter(',');
  eval_flags(acc, *sweep_opts);
  method_flags(acc, sweep->base, *sweep_calib);
  acc->add_option("--methods", sweep->methods, "methods to sweep (default: all)")->delimiter(',');
  acc->add_option("--splits", sweep->splits, "split points (default: 1 .. L-1)")->delimiter(',');
  acc->add_flag("--quick", sweep->quick, "a reduced grid: one split, 4/4 and 4/8 weights, one codec setting per method");
  acc->add_option("--out", sweep->out, "output folder (accuracy.csv, config.json)");
  acc->add_flag("--quiet", sweep_opts->quiet, "no progress lines on stderr");
  acc->callback([sweep_opts, sweep, sweep_calib] {
    if (sweep->base.act_bits != -1)
      throw InputError("--act-bits: the sweep uses each method's own activation bits");
    exec_accuracy_sweep(*sweep_opts, *sweep, *sweep_calib);
  });

  auto bo = std::make_shared<BenchExecOptions>();
  CLI::App* bench = root.bench.add_subcommand("exec", "Executor decode throughput vs memcpy bandwidth, link shaping accuracy");
  bench->add_flag("--quick", bo->quick, "small sizes (smoke test)");
  bench->add_option("--model", bo->model, "models/<name> for the random-weight decode (about 100 M parameters)");
  bench->add_option("--steps", bo->steps, "decode steps timed on the random-weight model")->check(cli::at_least(1));
  bench->add_option("--out", bo->out, "also write the numbers as JSON to this file");
  bench->callback([bo] { bench_exec(*bo); });
  add_calibrate_executor_command(root);
}

}  // namespace splitsim
