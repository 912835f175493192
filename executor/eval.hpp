// Accuracy of a split configuration against the unsplit fp32 model on the same token streams (teacher
// forcing): perplexity of both, mean KL(P_ref || P_split) of the next-token distributions, and how often the
// greedy (argmax) tokens agree. The split side runs one token per step through edge layers, the wire codec
// and server layers, as in decoding.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "executor/weights.hpp"
#include "executor/wire.hpp"

namespace splitsim {

struct EvalResult {
  int64_t streams = 0, positions = 0;  // predicted positions (stream length - 1, summed)
  double ppl_ref = 0, ppl_split = 0;
  double mean_kl = 0, max_kl = 0;      // nats
  double agreement = 0;                // fraction of positions whose argmax tokens agree
  double wire_bytes_per_token = 0;     // mean wire block bytes of a one-token step (frame header excluded)
  double wire_bits_per_element = 0;    // 8 * those bytes / d
  nlohmann::json to_json() const;
};

// `reference`: the whole model in fp32; `edge`, `server`: the two halves of the configuration under test.
EvalResult evaluate_split(const ModelWeights& reference, const ModelWeights& edge, const ModelWeights& server,
                          const CodecSpec& wire, const std::vector<std::vector<int32_t>>& streams);

// The wire as the evaluation sees it: replaces x (d, T) by what the server decodes and returns the bytes the
// block takes on the wire. Lets executor/methods/ evaluate hidden-state formats the kernels' codec lacks.
using WireRoundTrip = std::function<int64_t(Eigen::MatrixXf& x)>;
EvalResult evaluate_split(const ModelWeights& reference, const ModelWeights& edge, const ModelWeights& server,
                          const WireRoundTrip& wire, const std::vector<std::vector<int32_t>>& streams);

// n streams of up to `length` tokens (BOS first) sampled from `reference` at temperature 1 with seeds
// seed, seed+1, ...: in-domain text for a model with no published evaluation set.
std::vector<std::vector<int32_t>> sample_streams(const ModelWeights& reference, int64_t n, int64_t length, uint64_t seed);

// Consecutive windows of `length` tokens (BOS first) of a tokenized text.
std::vector<std::vector<int32_t>> text_streams(const std::vector<int32_t>& tokens, int64_t length);

}  // namespace splitsim
