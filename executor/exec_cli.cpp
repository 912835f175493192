// The executor's command line: `splitsim exec local|server|edge|eval` and `splitsim bench exec`.
// Flags map one to one onto ExecOptions (exec_run.hpp); the callbacks throw InputError on bad input.
#include <CLI/CLI.hpp>

#include "core/error.hpp"
#include "executor/exec_run.hpp"
#include "explorer/cli.hpp"

namespace splitsim {

namespace {

void common_flags(CLI::App* c, ExecOptions& o) {
  c->add_option("--model", o.model, "models/<name> shape: random weights, or the shape a checkpoint must have");
  c->add_option("--checkpoint", o.checkpoint, "llama2.c checkpoint (.bin, legacy or version 1); default: stories260K when found");
  c->add_option("--tokenizer", o.tokenizer, "llama2.c tokenizer.bin; default: tokenizer.bin or tok<V>.bin beside the checkpoint");
  c->add_option("--weights-seed", o.weights_seed, "seed of random weights (edge and server must agree)");
  c->add_option("--prompt", o.prompt, "prompt text (default: start from BOS)");
  c->add_option("--steps", o.steps, "tokens to generate")->check(CLI::PositiveNumber);
  c->add_option("--temperature", o.sampling.temperature, "0 = greedy");
  c->add_option("--top-p", o.sampling.top_p, "nucleus sampling mass (<= 0 or >= 1: whole distribution)");
  c->add_option("--seed", o.sampling.seed, "sampling seed");
  c->add_option("--split", o.split, "split point S: edge runs layers [0,S), server [S,L) + head");
  c->add_option("--edge-bits", o.edge_bits, "edge weight bits: 32 (fp32) or OPSC 2, 3, 4, 8");
  c->add_option("--cloud-bits", o.cloud_bits, "server weight bits: 32 (fp32) or OPSC 2, 3, 4, 8");
  c->add_option("--group-size", o.group_size, "OPSC quantization group size along the input dimension");
  c->add_option("--codec", o.wire.codec, "hidden-state wire codec: fp32 | fp16 | uniform | ts-tabq");
  c->add_option("--uniform-bits", o.wire.uniform_bits, "uniform codec bits per element");
  c->add_option("--ts-mode", o.wire.ts_mode, "TS threshold mode: none | fixed | percentile | sigma");
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
  c->add_option("--max-batch", o.max_batch, "sequences per batch")->check(CLI::PositiveNumber);
}

}  // namespace

void add_exec_commands(CliRoot& root) {
  auto opts = std::make_shared<ExecOptions>();
  CLI::App* exec = root.app.add_subcommand("exec", "Real split inference: edge and server over TCP, or both in one process");
  exec->require_subcommand(1);

  CLI::App* local = exec->add_subcommand("local", "Server and edge clients in one process (unsplit without --split)");
  common_flags(local, *opts);
  link_flags(local, *opts);
  server_flags(local, *opts);
  local->add_option("--clients", opts->clients, "concurrent edge clients")->check(CLI::PositiveNumber);
  local->add_option("--requests", opts->requests, "requests per client, one after the other")->check(CLI::PositiveNumber);
  local->callback([opts] { exec_local(*opts); });

  CLI::App* server = exec->add_subcommand("server", "Serve layers [S,L) + head to edge clients");
  common_flags(server, *opts);
  server_flags(server, *opts);
  server->add_option("--host", opts->host, "IPv4 address to listen on");
  server->add_option("--port", opts->port, "TCP port (0: any free port)");
  server->add_option("--sessions", opts->sessions, "exit after this many sessions ended (0: until Ctrl-C)");
  server->callback([opts] { exec_server(*opts); });

  CLI::App* edge = exec->add_subcommand("edge", "Run embedding + layers [0,S) and ask a server for the tokens");
  common_flags(edge, *opts);
  link_flags(edge, *opts);
  edge->add_option("--connect", opts->connect, "server HOST:PORT")->required();
  edge->add_option("--requests", opts->requests, "requests, one after the other")->check(CLI::PositiveNumber);
  edge->callback([opts] { exec_edge(*opts); });

  CLI::App* eval = exec->add_subcommand("eval", "Accuracy of a split configuration vs the unsplit fp32 model");
  common_flags(eval, *opts);
  eval->add_option("--text", opts->text_file, "evaluation text file (default: streams sampled from the fp32 model)");
  eval->add_option("--streams", opts->streams, "number of streams")->check(CLI::PositiveNumber);
  eval->add_option("--stream-len", opts->stream_len, "tokens per stream")->check(CLI::Range(2, 1 << 20));
  eval->add_option("--stream-seed", opts->stream_seed, "seed of the sampled streams");
  eval->callback([opts] { exec_eval(*opts); });

  auto bo = std::make_shared<BenchExecOptions>();
  CLI::App* bench = root.bench.add_subcommand("exec", "Executor decode throughput vs memcpy bandwidth, link shaping accuracy");
  bench->add_flag("--quick", bo->quick, "small sizes (smoke test)");
  bench->add_option("--model", bo->model, "models/<name> for the random-weight decode (about 100 M parameters)");
  bench->add_option("--steps", bo->steps, "decode steps timed on the random-weight model");
  bench->add_option("--out", bo->out, "also write the numbers as JSON to this file");
  bench->callback([bo] { bench_exec(*bo); });
}

}  // namespace splitsim
