// Split-vs-reference accuracy. The reference runs each stream as one prefill block (the forward pass is
// batch-invariant, so this equals running it token by token); the split configuration runs token by token:
// edge layers -> encode -> decode -> server layers -> head, exactly the decode path of a split deployment.
#include "executor/eval.hpp"

#include <cmath>

#include "core/error.hpp"
#include "executor/forward.hpp"
#include "executor/generate.hpp"
#include "executor/sampler.hpp"
#include "executor/tokenizer.hpp"

namespace splitsim {

nlohmann::json EvalResult::to_json() const {
  return {{"streams", streams},     {"positions", positions}, {"ppl_ref", ppl_ref},
          {"ppl_split", ppl_split}, {"mean_kl", mean_kl},     {"max_kl", max_kl},
          {"agreement", agreement}, {"wire_bytes_per_token", wire_bytes_per_token},
          {"wire_bits_per_element", wire_bits_per_element}};
}

EvalResult evaluate_split(const ModelWeights& ref, const ModelWeights& edge, const ModelWeights& server,
                          const CodecSpec& wire, const std::vector<std::vector<int32_t>>& streams) {
  std::vector<uint8_t> buf;
  Eigen::MatrixXf h;
  auto round_trip = [&](Eigen::MatrixXf& x) {
    wire_encode(x, wire, buf);
    wire_decode(buf, x.rows(), h);
    x.swap(h);
    return static_cast<int64_t>(buf.size());
  };
  return evaluate_split(ref, edge, server, WireRoundTrip(round_trip), streams);
}

EvalResult evaluate_split(const ModelWeights& ref, const ModelWeights& edge, const ModelWeights& server,
                          const WireRoundTrip& wire, const std::vector<std::vector<int32_t>>& streams) {
  const ModelSpec& m = ref.spec;
  const auto V = static_cast<size_t>(m.vocab_size);
  EvalResult r;
  double nll_ref = 0, nll_split = 0, kl_sum = 0, agree = 0, wire_bytes = 0, wire_blocks = 0;
  Workspace ws;
  std::vector<double> lp_ref, lp_split;
  for (const auto& s : streams) {
    const auto T = static_cast<int64_t>(s.size());
    if (T < 2) continue;
    if (T > m.max_seq_len) throw InputError("eval: a stream is longer than the model's max_seq_len");
    ++r.streams;
    // Reference: the whole stream as one block, logits at every position: (V, T).
    KvCache ref_cache(m, ref.part, T);
    Eigen::MatrixXf x, ref_logits, split_logits;
    embed(ref, s, x);
    Segment seg{&ref_cache, T};
    forward_layers(ref, {&seg, 1}, x, ws);
    std::vector<int64_t> cols(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) cols[static_cast<size_t>(t)] = t;
    forward_head(ref, x, cols, ref_logits, ws);
    // Split: token by token through the wire.
    KvCache edge_cache(m, edge.part, T), server_cache(m, server.part, T);
    for (int64_t t = 0; t + 1 < T; ++t) {
      embed(edge, std::span<const int32_t>(&s[static_cast<size_t>(t)], 1), x);  // (d, 1)
      Segment es{&edge_cache, 1};
      forward_layers(edge, {&es, 1}, x, ws);
      wire_bytes += static_cast<double>(wire(x));  // x: what the server decodes
      wire_blocks += 1;
      Segment ss{&server_cache, 1};
      forward_layers(server, {&ss, 1}, x, ws);
      const int64_t zero = 0;
      forward_head(server, x, {&zero, 1}, split_logits, ws);  // (V, 1)
      const std::span<const float> a(ref_logits.col(t).data(), V), b(split_logits.data(), V);
      log_softmax(a, lp_ref);
      log_softmax(b, lp_split);
      const auto next = static_cast<size_t>(s[static_cast<size_t>(t + 1)]);
      nll_ref -= lp_ref[next];
      nll_split -= lp_split[next];
      double kl = 0;
      for (size_t i = 0; i < V; ++i) kl += std::exp(lp_ref[i]) * (lp_ref[i] - lp_split[i]);
      kl_sum += kl;
      r.max_kl = std::max(r.max_kl, kl);
      agree += argmax(a) == argmax(b) ? 1 : 0;
      ++r.positions;
    }
  }
  if (r.positions == 0) throw InputError("eval: expected streams of at least 2 tokens");
  const auto n = static_cast<double>(r.positions);
  r.ppl_ref = std::exp(nll_ref / n);
  r.ppl_split = std::exp(nll_split / n);
  r.mean_kl = kl_sum / n;
  r.agreement = agree / n;
  r.wire_bytes_per_token = wire_bytes / wire_blocks;
  r.wire_bits_per_element = 8.0 * r.wire_bytes_per_token / static_cast<double>(m.dim);
  return r;
}

std::vector<std::vector<int32_t>> sample_streams(const ModelWeights& ref, int64_t n, int64_t length, uint64_t seed) {
  std::vector<std::vector<int32_t>> out;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int32_t> s{kBosToken};
    auto gen = generate_unsplit(ref, s, length - 1, SamplingConfig{1.0, 1.0, seed + static_cast<uint64_t>(i)});
    s.insert(s.end(), gen.begin(), gen.end());
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::vector<int32_t>> text_streams(const std::vector<int32_t>& tokens, int64_t length) {
  std::vector<std::vector<int32_t>> out;
  size_t start = (!tokens.empty() && tokens[0] == kBosToken) ? 1 : 0;
  for (size_t i = start; i < tokens.size(); i += static_cast<size_t>(length - 1)) {
    std::vector<int32_t> s{kBosToken};
    for (size_t k = i; k < tokens.size() && static_cast<int64_t>(s.size()) < length; ++k) s.push_back(tokens[k]);
    if (s.size() >= 2) out.push_back(std::move(s));
  }
  return out;
}

}  // namespace splitsim
