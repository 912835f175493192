// The Llama forward pass, in the order the math happens (after llama2.c run.c's forward()):
//   x = embedding[token]
//   per layer:  xb = rmsnorm(x) ⊙ w_att;  q,k,v = Wq xb, Wk xb, Wv xb;  rotate q,k by RoPE at the position;
//               append k,v to the cache;  per head: softmax(q·K/√hd) · V over positions [0, pos];
//               x += Wo att;  xb = rmsnorm(x) ⊙ w_ffn;  x += W2 (silu(W1 xb) ⊙ W3 xb)
//   head:       logits = Wcls (rmsnorm(x) ⊙ w_final)
// Every column of x is one token; a batch mixes blocks of tokens of several sequences (prefill blocks and
// decode steps alike). Each column's arithmetic is independent of the other columns and done in a fixed
// order, so a token gets the same bits alone or batched (see linear.hpp).
#include "executor/forward.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "core/error.hpp"

namespace splitsim {

// ---------------------------------------------------------------------------------------------- state

KvCache::KvCache(const ModelSpec& m, const ModelPart& part, int64_t capacity)
    : layer_begin_(part.layer_begin), capacity_(capacity), kv_dim_(m.kv_dim()) {
  const auto n = static_cast<size_t>((part.layer_end - part.layer_begin) * capacity * kv_dim_);
  k_.assign(n, 0.0f);
  v_.assign(n, 0.0f);
}

double Workspace::bytes() const {
  const auto n = xb.size() + q.size() + k.size() + v.size() + att.size() + hb.size() + hb2.size() + scores.size();
  return static_cast<double>(n * sizeof(float));
}

namespace {

void ensure(Eigen::MatrixXf& m, int64_t rows, int64_t cols) {
  if (m.rows() != rows || m.cols() != cols) m.resize(rows, cols);
}

// ---------------------------------------------------------------------------------------------- blocks

// o (d) = rmsnorm(x) ⊙ weight: x / sqrt(mean(x²) + eps), sum in a fixed sequential order.
void rmsnorm(float* o, const float* x, const float* weight, int64_t d, float eps) {
  float ss = 0;
  for (int64_t j = 0; j < d; ++j) ss += x[j] * x[j];
  ss = 1.0f / std::sqrt(ss / static_cast<float>(d) + eps);
  for (int64_t j = 0; j < d; ++j) o[j] = weight[j] * (ss * x[j]);
}

// Rotates pairs (i, i+1) of q (qd) and k (kvd) by the angle pos / theta^(i mod hd / hd).
void rope(float* q, float* k, int64_t qd, int64_t kvd, int64_t hd, int64_t pos, float theta) {
  for (int64_t i = 0; i < qd; i += 2) {
    const float freq = 1.0f / std::pow(theta, static_cast<float>(i % hd) / static_cast<float>(hd));
    const float angle = static_cast<float>(pos) * freq;
    const float c = std::cos(angle), s = std::sin(angle);
    for (int which = 0; which < (i < kvd ? 2 : 1); ++which) {
      float* v = which == 0 ? q : k;
      const float v0 = v[i], v1 = v[i + 1];
      v[i] = v0 * c - v1 * s;
      v[i + 1] = v0 * s + v1 * c;
    }
  }
}

// out (qd) = for each head: softmax over t in [0, pos] of q_h·k_t/√hd, times v_t. Query head h reads
// key/value head h / (heads / kv_heads) (grouped-query attention).
void attend(float* out, const float* q, KvCache& cache, int64_t layer, int64_t pos, const ModelSpec& m,
            std::vector<float>& scores) {
  const int64_t hd = m.head_dim(), group = m.n_heads / m.n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  scores.resize(static_cast<size_t>(pos + 1));
  for (int64_t h = 0; h < m.n_heads; ++h) {
    const float* qh = q + h * hd;                // (hd)
    const int64_t kv_off = (h / group) * hd;
    float mx = -INFINITY;
    for (int64_t t = 0; t <= pos; ++t) {
      const float* kt = cache.key(layer, t) + kv_off;  // (hd)
      float s = 0;
      for (int64_t i = 0; i < hd; ++i) s += qh[i] * kt[i];
      scores[static_cast<size_t>(t)] = s * scale;
      mx = std::max(mx, s * scale);
    }
    float sum = 0;
    for (int64_t t = 0; t <= pos; ++t) sum += (scores[static_cast<size_t>(t)] = std::exp(scores[static_cast<size_t>(t)] - mx));
    float* oh = out + h * hd;  // (hd)
    for (int64_t i = 0; i < hd; ++i) oh[i] = 0;
    for (int64_t t = 0; t <= pos; ++t) {
      const float a = scores[static_cast<size_t>(t)] / sum;
      const float* vt = cache.value(layer, t) + kv_off;  // (hd)
      for (int64_t i = 0; i < hd; ++i) oh[i] += a * vt[i];
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------- forward

void embed(const ModelWeights& w, std::span<const int32_t> tokens, Eigen::MatrixXf& x) {
  const int64_t d = w.spec.dim;
  for (int32_t t : tokens)  // an id from outside the table would read past it
    if (t < 0 || t >= w.spec.vocab_size)
      throw InputError(fmt::format("token id {} is outside the model's vocabulary of {}", t, w.spec.vocab_size));
  ensure(x, d, static_cast<int64_t>(tokens.size()));
  for (size_t c = 0; c < tokens.size(); ++c)
    std::copy_n(w.embedding.data() + tokens[c] * d, d, x.col(static_cast<Eigen::Index>(c)).data());
}

void forward_layers(const ModelWeights& w, std::span<const Segment> segments, Eigen::MatrixXf& x, Workspace& ws,
                    int64_t layer_end) {
  const ModelSpec& m = w.spec;
  const int64_t d = m.dim, f = m.hidden_dim, hd = m.head_dim(), qd = m.n_heads * hd, kvd = m.kv_dim(), n = x.cols();
  const auto eps = static_cast<float>(m.norm_eps), theta = static_cast<float>(m.rope_theta);
  const int64_t end = layer_end < 0 ? w.part.layer_end : std::min(layer_end, w.part.layer_end);
  ensure(ws.xb, d, n);
  ensure(ws.q, qd, n);
  ensure(ws.k, kvd, n);
  ensure(ws.v, kvd, n);
  ensure(ws.att, qd, n);
  ensure(ws.hb, f, n);
  ensure(ws.hb2, f, n);
  // The position of every column: its segment's cache position plus its offset in the segment; and the layer
  // from which the first `columns` columns run.
  std::vector<std::pair<KvCache*, int64_t>> where;  // (n)
  where.reserve(static_cast<size_t>(n));
  std::vector<std::pair<int64_t, int64_t>> entry;  // (layer, columns from that layer on), layers increasing
  for (const Segment& s : segments) {
    const int64_t first = std::max(s.first_layer, w.part.layer_begin);
    if (!entry.empty() && first < entry.back().first)
      throw std::logic_error("forward_layers: segments out of first_layer order");
    if (entry.empty() || first > entry.back().first) entry.emplace_back(first, entry.empty() ? 0 : entry.back().second);
    entry.back().second += s.tokens;
    for (int64_t t = 0; t < s.tokens; ++t) where.emplace_back(s.cache, s.cache->pos + t);
  }

  size_t next_entry = 0;
  int64_t na = 0;  // columns that run layer l: a leading block of x
  for (int64_t l = entry.empty() ? end : entry.front().first; l < end; ++l) {
    while (next_entry < entry.size() && entry[next_entry].first <= l) na = entry[next_entry++].second;
    const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
    // attention: xb (d, na) -> q (qd, na), k, v (kvd, na)
    for (int64_t c = 0; c < na; ++c) rmsnorm(ws.xb.col(c).data(), x.col(c).data(), lw.rms_att.data(), d, eps);
    lw.wq.apply(ws.xb.data(), na, ws.q.data());
    lw.wk.apply(ws.xb.data(), na, ws.k.data());
    lw.wv.apply(ws.xb.data(), na, ws.v.data());
    for (int64_t c = 0; c < na; ++c) {
      auto [cache, pos] = where[static_cast<size_t>(c)];
      rope(ws.q.col(c).data(), ws.k.col(c).data(), qd, kvd, hd, pos, theta);
      std::copy_n(ws.k.col(c).data(), kvd, cache->key(l, pos));
      std::copy_n(ws.v.col(c).data(), kvd, cache->value(l, pos));
    }
    // Every key of the batch is cached before any token attends: a block's token t sees its predecessors.
    for (int64_t c = 0; c < na; ++c) {
      auto [cache, pos] = where[static_cast<size_t>(c)];
      attend(ws.att.col(c).data(), ws.q.col(c).data(), *cache, l, pos, m, ws.scores);
    }
    lw.wo.apply(ws.att.data(), na, ws.xb.data());  // xb (d, na) = Wo att
    x.leftCols(na) += ws.xb.leftCols(na);

    // MLP (SwiGLU): x += W2 (silu(W1 xb) ⊙ W3 xb)
    for (int64_t c = 0; c < na; ++c) rmsnorm(ws.xb.col(c).data(), x.col(c).data(), lw.rms_ffn.data(), d, eps);
    lw.w1.apply(ws.xb.data(), na, ws.hb.data());   // (f, na)
    lw.w3.apply(ws.xb.data(), na, ws.hb2.data());  // (f, na)
    // Scalar exp on purpose: Eigen's packet exp differs from std::exp in the last bit, and which elements
    // fall in the scalar tail would depend on the batch size.
    for (int64_t i = 0; i < f * na; ++i) {
      float& g = ws.hb.data()[i];
      g = g / (1.0f + std::exp(-g)) * ws.hb2.data()[i];
    }
    lw.w2.apply(ws.hb.data(), na, ws.xb.data());   // (d, na)
    x.leftCols(na) += ws.xb.leftCols(na);
  }
  for (const Segment& s : segments) s.cache->pos += s.tokens;
}

void forward_head(const ModelWeights& w, const Eigen::MatrixXf& x, std::span<const int64_t> cols,
                  Eigen::MatrixXf& logits, Workspace& ws) {
  const ModelSpec& m = w.spec;
  const auto n = static_cast<int64_t>(cols.size());
  ensure(ws.xb, m.dim, n);
  for (int64_t i = 0; i < n; ++i)
    rmsnorm(ws.xb.col(i).data(), x.col(cols[static_cast<size_t>(i)]).data(), w.rms_final.data(), m.dim,
            static_cast<float>(m.norm_eps));
  ensure(logits, m.vocab_size, n);
  w.head.apply(ws.xb.data(), n, logits.data());
}

}  // namespace splitsim
