// Measured executor tables of one host (the [executor] part of hwprofiles/measured/<host>.toml, written by
// `splitsim calibrate-executor`): what the real split executor's operators take on this host, so that the cost
// model can predict the executor instead of a datasheet roofline.
//
// Per model shape and weight bit-width (one layer, averaged over the model's whole stack so the cache state is
// the one a real forward pass sees):
//   prefill(T)        s for T tokens from an empty cache
//   decode(B, C)      s for one step of B sequences whose cached contexts sum to C: base(B) + C * per_context
//   head(B)           s for final norm + LM head + greedy sampling of B columns
// Every figure is the mean of single calls, each after a short idle wait, as the executor's steps run after
// network waits (version 2 of the tables; executor/calibrate.cpp says why). Several clients and the server
// sharing the host's cores are not folded into the tables: the simulator shares the cores itself
// (server.shared_cores).
// Per codec and hidden width d: encode(T), decode(T) in s. Transport: the framed-TCP overhead per message
// beyond the shaped link (thread hand-offs, copies), fixed per direction plus a per-byte term.
// Tables are piecewise linear in their argument and extrapolate linearly past their ends (never below 0).
//
// Waking up: a split run's steps follow network waits, and a step after a longer wait takes longer (caches,
// predictors and the core's clock have gone cold; measured here: a stories260K decode step 2-3x, its codec calls
// up to 8x, after a 20 ms round trip). Each layer and codec table may carry wake curves (optional; none: factor 1):
// against the idle gap before a step, the median over the decode steps of real local split runs (link delays from
// none to 30 ms) of the step's measured time over what the table predicts for it. A factor so holds both the cold
// start and what a run pays per step that an isolated call does not (copies and hand-offs around the timed call).
// The cost model charges (factor - 1) x the side's one-token step (CostModel::device_wake, server_wake): a cold
// start refetches what a step touches whatever its tokens. A wake curve is flat past its ends.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/provenance.hpp"

namespace splitsim {

// y(x) piecewise linear through (xs, ys); xs strictly increasing, at least one point.
// The [executor] block's format: 2 = figures are means of single calls after an idle wait.
constexpr int64_t kMeasuredTablesVersion = 2;

struct Curve {
  std::vector<double> xs, ys;
  double at(double x) const;
  double clamped(double x) const;  // at(x) with x held within the measured range (flat past the ends)
};

struct LayerTable {
  std::string model;  // models/<name>.toml shape it was measured on
  int64_t dim = 0, n_layers = 0;
  int bits = 32;       // weight bits: 32 fp32, else OPSC packed
  int group_size = 128;
  std::string source;  // "measured: <host>, <date>, <command>"
  Curve prefill;       // tokens -> s per layer
  Curve decode_base;   // batch -> s per layer at zero context
  double decode_per_context = 0;  // s per layer per cached position of each sequence
  // s per layer of one decode step of `batch` sequences whose contexts sum to `sum_context`.
  double decode(double batch, double sum_context) const { return decode_base.at(batch) + decode_per_context * sum_context; }
  Curve head;          // batch -> s
  // Idle gap (s) before a forward pass -> the factor its time grows by: the edge's steps (the client thread) and
  // the server's iterations. Empty: not measured.
  Curve wake_edge, wake_server;
};

struct CodecTable {
  std::string codec;  // executor wire codec: fp32 | fp16 | uniform | ts-tabq
  int64_t dim = 0;
  std::string source;
  Curve encode, decode;  // tokens -> s
  Curve wake_encode, wake_decode;  // idle gap (s) -> factor; empty: not measured
};

struct TransportTable {
  std::string source;
  Curve round_trip;     // clients of one local run -> s per round trip (half each way); flat past the last
  double per_byte = 0;  // s per byte of a frame, beyond the link's own rate
  // s the server's scheduler takes to wake for a block that arrives while it sleeps (its `server_queue` with one
  // client); not part of round_trip. 0: not measured.
  double handoff = 0;
  double fixed(int64_t clients) const;  // s per message, either way
};

// Main-memory read bandwidth: what one thread streams alone, and what `threads` threads stream together (summed).
struct MemoryTable {
  std::string source;
  double read_single = 0, read_all = 0;  // B/s
  int64_t threads = 1;
};

struct MeasuredTables {
  std::string file, host, date, command;
  int64_t cores = 0;  // hardware threads of the host when measured
  std::vector<LayerTable> layers;
  std::vector<CodecTable> codecs;
  TransportTable transport;
  MemoryTable memory;

  const LayerTable* layer(const std::string& model, int bits) const;  // nullptr when not measured
  const CodecTable* codec(const std::string& codec, int64_t dim) const;
  nlohmann::json to_json() const;  // identification only (file, host, date, what is covered)
};

// Reads the [executor] table of a measured file; other tables (the kernels' calibration) are ignored.
// InputError naming file and key on a malformed table; a file without an [executor] table (only the kernels'
// calibration so far) is an InputError when `required`, else nullptr.
std::shared_ptr<const MeasuredTables> load_measured_tables(const std::string& path, bool required = true);

// hwprofiles/measured/<this host's name>.toml under data_dir().
std::string default_measured_path();

}  // namespace splitsim
