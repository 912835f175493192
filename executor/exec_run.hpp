// What `splitsim exec local|server|edge|eval` and `splitsim bench exec` do, behind the command line: resolve
// the model (checkpoint or random weights of a models/ shape), split and quantize it, run, write the outputs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "executor/sampler.hpp"
#include "executor/transport.hpp"
#include "executor/weights.hpp"
#include "executor/wire.hpp"

namespace splitsim {

struct ExecOptions {
  // model
  std::string model;       // models/<name>.toml shape (random weights, or the expected checkpoint header)
  std::string checkpoint;  // llama2.c .bin
  std::string tokenizer;   // tokenizer.bin; default: next to the checkpoint
  uint64_t weights_seed = 1;
  // request
  std::string prompt;  // text (needs a tokenizer); empty = start from BOS
  int64_t steps = 64;
  SamplingConfig sampling;
  int requests = 1;
  int clients = 1;  // local
  // split
  int64_t split = -1;  // -1 = unsplit (local, eval reference)
  std::string split_schedule;  // "CONTEXT:SPLIT,..." (core/split_schedule.hpp): replaces split for local and edge
  std::string split_react_rate;  // "4Mbps": the rate at which the schedule's windows move early (SplitReaction)
  int64_t split_react_window = 4;
  int edge_bits = 32, cloud_bits = 32, group_size = 128;
  CodecSpec wire{WireCodec::fp32};
  // link (edge side) and server
  std::string link;  // hwprofiles/links/<name>
  std::string uplink, downlink, delay;  // "20Mbps", "15ms": override the link profile
  std::string connect;  // edge: HOST:PORT
  std::string host = "127.0.0.1";
  int port = 7070;
  std::string batch_window = "2ms";
  int64_t max_batch = 64;
  int64_t max_sessions = 256;           // server: connections served at once
  std::string max_inflight = "256MiB";  // server: frame payload bytes held at once, all sessions together
  std::string max_kv = "8GiB";          // server: KV cache bytes held at once, all sessions together
  std::string session_timeout = "120s";  // server: a session silent for longer is closed (server.session_timeout)
  int64_t sessions = 0;  // server: exit after this many finished sessions (0 = until interrupted)
  // eval
  std::string text_file;  // evaluation text (through the tokenizer); default: sampled streams
  int64_t streams = 4, stream_len = 128;
  uint64_t stream_seed = 7;
  // output
  std::string out;   // default results/exec/<name>
  std::string name;  // default derived from the options
  bool quiet = false;
  nlohmann::json to_json() const;
};

void exec_local(const ExecOptions& o);
void exec_server(const ExecOptions& o);
void exec_edge(const ExecOptions& o);
void exec_eval(const ExecOptions& o);

// What eval compares against, for executor/methods/: the whole model in fp32 as the options name it (a
// checkpoint, stories260K by default, or random weights of a models/ shape) and the evaluation streams
// `exec eval` uses (--text, else sampled with --stream-seed).
struct ReferenceModel {
  ModelWeights weights;
  std::vector<std::vector<int32_t>> streams;
  std::string streams_source;
  std::string model_name;  // the models/ name, else the checkpoint's file stem in lower case ("stories260k")
  nlohmann::json config;   // the resolved options
};
ReferenceModel load_reference(const ExecOptions& o);

struct BenchExecOptions {
  bool quick = false;
  std::string model = "stories110m";  // the ~100 M-parameter random-weight model
  int64_t steps = 32;
  std::string out;  // optional JSON of the numbers
};
void bench_exec(const BenchExecOptions& o);

}  // namespace splitsim
