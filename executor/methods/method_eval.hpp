// Measuring a method: build its split model, run the split-vs-reference evaluation through its wire, and
// count what it costs — bits per weight on each side, bits per transmitted element with and without headers
// for decode (one token per block) and for prefill (a whole stream as one block), edge memory. One result is
// one row of accuracy.csv, in the columns explorer/accuracy.hpp reads plus these costs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/output.hpp"
#include "executor/eval.hpp"
#include "executor/methods/method.hpp"

namespace splitsim {

struct MethodEvalResult {
  MethodSettings settings;  // resolved
  std::string wire_name, notes;
  nlohmann::json wire_json;
  EvalResult eval;
  WeightTally edge, server;
  double wire_payload_bits_per_element = 0;          // decode blocks without block and token headers
  double wire_prefill_bits_per_element = 0;          // each stream's edge output sent as one block
  double wire_prefill_payload_bits_per_element = 0;
  double edge_kv_bytes = 0;                          // edge KV cache for the longest stream, fp16
  double build_s = 0, eval_s = 0;
  double edge_memory_bytes() const { return edge.bytes() + edge_kv_bytes; }
  nlohmann::json to_json() const;
};

// `calib` may be null for methods that need none (InputError otherwise).
MethodEvalResult evaluate_method(const ModelWeights& reference, const MethodSettings& settings, const Calibration* calib,
                                 const std::vector<std::vector<int32_t>>& streams);

// accuracy.csv: the header, and one row per result.
CsvTable accuracy_csv_table();
struct AccuracyRowContext {
  std::string model;
  int64_t calib_tokens = 0;
  uint64_t stream_seed = 0, calib_seed = 0;
  int64_t streams = 0, stream_len = 0;
};
void add_accuracy_row(CsvTable& t, const MethodEvalResult& r, const AccuracyRowContext& c);

}  // namespace splitsim
