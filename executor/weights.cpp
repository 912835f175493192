// Loading model weights. A llama2.c checkpoint is a header then fp32 tensors back to back; its size is fully
// determined by the header, so a truncated or oversized file is detected before any tensor is used.
//   v0 (legacy): 7 x int32 header (dim, hidden, layers, heads, kv_heads, vocab, seq; vocab < 0 = separate
//       classifier), then embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, the old
//       freq_cis tables (2 x seq x hd/2, skipped), then the classifier when not shared.
//   v1: magic "ak42", int32 version, the 7 int32, uint8 shared flag, zero padding to 256 B; then the norms
//       (rms_att all layers, rms_ffn all layers, rms_final), embedding, wq, wk, wv, wo, w1, w2, w3 (each for
//       all layers), the classifier when not shared.
#include "executor/weights.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/output.hpp"

namespace splitsim {

double LayerWeights::bytes() const {
  return static_cast<double>((rms_att.size() + rms_ffn.size()) * sizeof(float)) + wq.bytes() + wk.bytes() +
         wv.bytes() + wo.bytes() + w1.bytes() + w2.bytes() + w3.bytes();
}

double ModelWeights::bytes() const {
  double b = static_cast<double>((embedding.size() + rms_final.size()) * sizeof(float)) + head.bytes();
  for (int64_t l = part.layer_begin; l < part.layer_end; ++l) b += layers[static_cast<size_t>(l)].bytes();
  return b;
}

void ModelWeights::keep_only(const ModelPart& p) {
  for (int64_t l = 0; l < spec.n_layers; ++l)
    if (l < p.layer_begin || l >= p.layer_end) layers[static_cast<size_t>(l)] = LayerWeights{};
  if (!p.embedding) std::vector<float>().swap(embedding);
  if (!p.head) {
    std::vector<float>().swap(rms_final);
    head = Linear{};
  }
  part = p;
}

void check_weight_bits(const std::string& what, int64_t bits) {
  if (!weight_bits_supported(bits)) throw InputError(fmt::format("{}: expected {}, got {}", what, kWeightBitsExpected, bits));
}

void ModelWeights::quantize(int bits, int group) {
  check_weight_bits("weight bits", bits);
  if (bits == 32) return;
  if (bits == 16) group = 0;  // fp16 has no groups
  else if (group < 1) throw InputError(fmt::format("--group-size: expected a positive group size, got {}", group));
  for (int64_t l = part.layer_begin; l < part.layer_end; ++l)
    for (Linear* m : {&layers[static_cast<size_t>(l)].wq, &layers[static_cast<size_t>(l)].wk, &layers[static_cast<size_t>(l)].wv,
                      &layers[static_cast<size_t>(l)].wo, &layers[static_cast<size_t>(l)].w1, &layers[static_cast<size_t>(l)].w2,
                      &layers[static_cast<size_t>(l)].w3})
      m->quantize(bits, std::min<int>(group, static_cast<int>(m->cols())));
  if (part.head) head.quantize(bits, std::min<int>(group, static_cast<int>(head.cols())));
  weight_bits = bits;
  group_size = group;
}

namespace {

constexpr uint32_t kCheckpointMagic = 0x616b3432u;  // "ak42"
constexpr int64_t kV1HeaderBytes = 256;

// Floats in the file after the header, for the layout of `info`.
int64_t checkpoint_floats(const CheckpointInfo& c) {
  const int64_t hd = c.dim / c.n_heads, kvd = c.n_kv_heads * hd, L = c.n_layers;
  int64_t n = c.vocab_size * c.dim                            // embedding
              + 2 * L * c.dim + c.dim                         // norms
              + L * (c.dim * c.dim + 2 * c.dim * kvd + c.dim * c.dim)  // wq wk wv wo (h*hd = d)
              + L * 3 * c.dim * c.hidden_dim;                 // w1 w2 w3
  if (c.version == 0) n += c.seq_len * hd;                    // freq_cis real + imag: 2 x seq x hd/2
  if (!c.shared_classifier) n += c.vocab_size * c.dim;
  return n;
}

int64_t header_bytes(const CheckpointInfo& c) { return c.version == 0 ? 7 * 4 : kV1HeaderBytes; }

std::string header_text(const CheckpointInfo& c) {
  return fmt::format("dim={} hidden={} layers={} heads={} kv_heads={} vocab={} seq={} shared={}", c.dim,
                     c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len,
                     c.shared_classifier ? 1 : 0);
}

// Sequential reader over the tensor region.
struct FloatCursor {
  const std::vector<float>& data;
  size_t at = 0;
  std::vector<float> take(int64_t n) {
    std::vector<float> v(data.begin() + static_cast<std::ptrdiff_t>(at),
                         data.begin() + static_cast<std::ptrdiff_t>(at + static_cast<size_t>(n)));
    at += static_cast<size_t>(n);
    return v;
  }
  void skip(int64_t n) { at += static_cast<size_t>(n); }
};

}  // namespace

ModelSpec spec_from_header(const CheckpointInfo& c) {
  ModelSpec m;
  m.name = "checkpoint";
  m.dim = c.dim;
  m.hidden_dim = c.hidden_dim;
  m.n_layers = c.n_layers;
  m.n_heads = c.n_heads;
  m.n_kv_heads = c.n_kv_heads;
  m.vocab_size = c.vocab_size;
  m.max_seq_len = c.seq_len;
  m.tied_embeddings = c.shared_classifier;
  return m;
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open checkpoint", path));
  int32_t h[9] = {};
  in.read(reinterpret_cast<char*>(h), sizeof(h));
  if (in.gcount() < 28)
    throw InputError(fmt::format("{}: expected a llama2.c checkpoint header (at least 28 bytes), got {} bytes", path,
                                 in.gcount()));
  CheckpointInfo c;
  const int32_t* p = h;
  if (static_cast<uint32_t>(h[0]) == kCheckpointMagic) {
    c.version = h[1];
    if (c.version != 1)
      throw InputError(fmt::format("{}: expected a llama2.c checkpoint of version 0 (legacy) or 1 (fp32), got version "
                                   "{} (re-export with export.py --version 1)",
                                   path, c.version));
    p = h + 2;
  }
  c.dim = p[0];
  c.hidden_dim = p[1];
  c.n_layers = p[2];
  c.n_heads = p[3];
  c.n_kv_heads = p[4];
  c.vocab_size = p[5];
  c.seq_len = p[6];
  if (c.version == 0) {
    c.shared_classifier = c.vocab_size > 0;
    c.vocab_size = std::abs(c.vocab_size);
  } else {
    in.seekg(36);
    char shared = 0;
    in.read(&shared, 1);
    c.shared_classifier = shared != 0;
  }
  const bool sane = c.dim > 0 && c.hidden_dim > 0 && c.n_layers > 0 && c.n_heads > 0 && c.n_kv_heads > 0 &&
                    c.vocab_size > 0 && c.seq_len > 0 && c.dim % c.n_heads == 0 && c.n_heads % c.n_kv_heads == 0 &&
                    (c.dim / c.n_heads) % 2 == 0 && c.dim <= (1 << 16) && c.hidden_dim <= (1 << 18) &&
                    c.n_layers <= 1024 && c.vocab_size <= (1 << 22) && c.seq_len <= (1 << 22);
  if (!sane)
    throw InputError(fmt::format("{}: expected a consistent llama2.c header (positive sizes, heads dividing dim, "
                                 "kv_heads dividing heads, even head size), got {}",
                                 path, header_text(c)));
  return c;
}

ModelWeights load_checkpoint(const std::string& path, const ModelSpec* expected) {
  CheckpointInfo c = read_checkpoint_info(path);
  if (expected) {
    const ModelSpec& e = *expected;
    if (e.dim != c.dim || e.hidden_dim != c.hidden_dim || e.n_layers != c.n_layers || e.n_heads != c.n_heads ||
        e.n_kv_heads != c.n_kv_heads || e.vocab_size != c.vocab_size || e.tied_embeddings != c.shared_classifier)
      throw InputError(fmt::format("{}: header does not match model {}: expected dim={} hidden={} layers={} heads={} "
                                   "kv_heads={} vocab={} shared={}, got {}",
                                   path, e.name, e.dim, e.hidden_dim, e.n_layers, e.n_heads, e.n_kv_heads, e.vocab_size,
                                   e.tied_embeddings ? 1 : 0, header_text(c)));
  }
  const int64_t floats = checkpoint_floats(c);
  const int64_t want = header_bytes(c) + floats * 4;
  const auto have = static_cast<int64_t>(std::filesystem::file_size(path));
  if (have != want)
    throw InputError(fmt::format("{}: expected {} bytes for a v{} checkpoint with {}, got {} bytes ({})", path, want,
                                 c.version, header_text(c), have, have < want ? "truncated" : "trailing data"));

  std::vector<float> data(static_cast<size_t>(floats));
  std::ifstream in(path, std::ios::binary);
  in.seekg(header_bytes(c));
  in.read(reinterpret_cast<char*>(data.data()), floats * 4);
  if (in.gcount() != floats * 4) throw InputError(fmt::format("{}: read failed (truncated while reading)", path));

  ModelWeights w;
  w.spec = expected ? *expected : spec_from_header(c);
  w.spec.max_seq_len = c.seq_len;
  w.source = fmt::format("checkpoint {}", std::filesystem::path(path).filename().string());
  w.part = ModelPart::whole(w.spec);
  const ModelSpec& m = w.spec;
  const int64_t d = m.dim, f = m.hidden_dim, L = m.n_layers, V = m.vocab_size, kvd = m.kv_dim(), qd = m.n_heads * m.head_dim();
  w.layers.resize(static_cast<size_t>(L));
  FloatCursor cur{data};
  auto lin = [&](int64_t rows, int64_t cols) { return Linear(rows, cols, cur.take(rows * cols)); };
  auto each = [&](auto fn) {
    for (auto& l : w.layers) fn(l);
  };
  if (c.version == 0) {
    w.embedding = cur.take(V * d);
    each([&](LayerWeights& l) { l.rms_att = cur.take(d); });
    each([&](LayerWeights& l) { l.wq = lin(qd, d); });
    each([&](LayerWeights& l) { l.wk = lin(kvd, d); });
    each([&](LayerWeights& l) { l.wv = lin(kvd, d); });
    each([&](LayerWeights& l) { l.wo = lin(d, qd); });
    each([&](LayerWeights& l) { l.rms_ffn = cur.take(d); });
    each([&](LayerWeights& l) { l.w1 = lin(f, d); });
    each([&](LayerWeights& l) { l.w2 = lin(d, f); });
    each([&](LayerWeights& l) { l.w3 = lin(f, d); });
    w.rms_final = cur.take(d);
    cur.skip(c.seq_len * m.head_dim());  // freq_cis_real, freq_cis_imag: RoPE is recomputed
  } else {
    each([&](LayerWeights& l) { l.rms_att = cur.take(d); });
    each([&](LayerWeights& l) { l.rms_ffn = cur.take(d); });
    w.rms_final = cur.take(d);
    w.embedding = cur.take(V * d);
    each([&](LayerWeights& l) { l.wq = lin(qd, d); });
    each([&](LayerWeights& l) { l.wk = lin(kvd, d); });
    each([&](LayerWeights& l) { l.wv = lin(kvd, d); });
    each([&](LayerWeights& l) { l.wo = lin(d, qd); });
    each([&](LayerWeights& l) { l.w1 = lin(f, d); });
    each([&](LayerWeights& l) { l.w2 = lin(d, f); });
    each([&](LayerWeights& l) { l.w3 = lin(f, d); });
  }
  w.head = c.shared_classifier ? Linear(V, d, w.embedding) : lin(V, d);
  w.fingerprint = fnv1a_hex(std::string_view(reinterpret_cast<const char*>(data.data()), data.size() * 4));
  return w;
}

namespace {

// splitmix64 -> uniform doubles -> Box-Muller normals: the same numbers on every platform and compiler.
struct NormalGenerator {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  void fill(std::vector<float>& v, double stddev) {
    for (size_t i = 0; i < v.size(); i += 2) {
      const double r = std::sqrt(-2.0 * std::log(uniform())), a = 2.0 * M_PI * uniform();
      v[i] = static_cast<float>(stddev * r * std::cos(a));
      if (i + 1 < v.size()) v[i + 1] = static_cast<float>(stddev * r * std::sin(a));
    }
  }
};

}  // namespace

ModelWeights random_weights(const ModelSpec& spec, uint64_t seed, const ModelPart& part) {
  ModelWeights w;
  w.spec = spec;
  w.part = part;
  w.source = fmt::format("random seed={}", seed);
  w.fingerprint = fnv1a_hex(fmt::format("{}|{}", spec.to_json().dump(), seed));
  const int64_t d = spec.dim, f = spec.hidden_dim, V = spec.vocab_size, kvd = spec.kv_dim(),
                qd = spec.n_heads * spec.head_dim();
  const double std_in = 0.02, std_out = 0.02 / std::sqrt(2.0 * static_cast<double>(spec.n_layers));
  // Every tensor has its own stream (seed, tensor index), so a part generates exactly the whole model's values.
  auto tensor = [&](int64_t index, int64_t n, double stddev) {
    std::vector<float> v(static_cast<size_t>(n));
    NormalGenerator g{seed * 0x100000001b3ull + static_cast<uint64_t>(index) * 0x9e3779b97f4a7c15ull};
    g.fill(v, stddev);
    return v;
  };
  auto ones = [](int64_t n) { return std::vector<float>(static_cast<size_t>(n), 1.0f); };
  auto need_embedding = part.embedding || (part.head && spec.tied_embeddings);
  std::vector<float> emb = need_embedding ? tensor(0, V * d, std_in) : std::vector<float>{};
  w.layers.resize(static_cast<size_t>(spec.n_layers));
  for (int64_t l = part.layer_begin; l < part.layer_end; ++l) {
    LayerWeights& lw = w.layers[static_cast<size_t>(l)];
    const int64_t base = 16 + 16 * l;
    lw.rms_att = ones(d);
    lw.rms_ffn = ones(d);
    lw.wq = Linear(qd, d, tensor(base + 0, qd * d, std_in));
    lw.wk = Linear(kvd, d, tensor(base + 1, kvd * d, std_in));
    lw.wv = Linear(kvd, d, tensor(base + 2, kvd * d, std_in));
    lw.wo = Linear(d, qd, tensor(base + 3, d * qd, std_out));
    lw.w1 = Linear(f, d, tensor(base + 4, f * d, std_in));
    lw.w2 = Linear(d, f, tensor(base + 5, d * f, std_out));
    lw.w3 = Linear(f, d, tensor(base + 6, f * d, std_in));
  }
  if (part.head) {
    w.rms_final = ones(d);
    w.head = spec.tied_embeddings ? Linear(V, d, emb) : Linear(V, d, tensor(1, V * d, std_in));
  }
  if (part.embedding) w.embedding = std::move(emb);
  return w;
}

}  // namespace splitsim
