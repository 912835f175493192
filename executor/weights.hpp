// The weights of a Llama-architecture model as the executor holds them, and where they come from: a
// llama2.c checkpoint (legacy v0 header of 7 int32, or the versioned "ak42" v1 fp32 format) or random
// weights of any models/<name>.toml shape, seeded, for timing runs at realistic sizes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "executor/linear.hpp"
#include "models/model_spec.hpp"

namespace splitsim {

struct LayerWeights {
  std::vector<float> rms_att;  // (d)
  Linear wq;                   // (h*hd, d)
  Linear wk;                   // (kv*hd, d)
  Linear wv;                   // (kv*hd, d)
  Linear wo;                   // (d, h*hd)
  std::vector<float> rms_ffn;  // (d)
  Linear w1;                   // (f, d) gate
  Linear w2;                   // (d, f) down
  Linear w3;                   // (f, d) up
  double bytes() const;
};

// Which part of the model a process holds: the edge holds the embedding and layers [0,S), the server
// layers [S,L), the final norm and the head; the unsplit model holds everything.
struct ModelPart {
  int64_t layer_begin = 0, layer_end = 0;
  bool embedding = true, head = true;
  static ModelPart whole(const ModelSpec& m) { return {0, m.n_layers, true, true}; }
  static ModelPart edge(int64_t split) { return {0, split, true, false}; }
  static ModelPart server(const ModelSpec& m, int64_t split) { return {split, m.n_layers, false, true}; }
};

struct ModelWeights {
  ModelSpec spec;
  std::string source;               // "checkpoint <file>" or "random seed=<n>"
  std::string fingerprint;          // identifies the weights: edge and server must agree
  ModelPart part;
  std::vector<float> embedding;     // (V, d), empty when the part has no embedding
  std::vector<LayerWeights> layers; // (L) — only [part.layer_begin, part.layer_end) are filled
  std::vector<float> rms_final;     // (d), empty without head
  Linear head;                      // (V, d); a copy of the embedding when tied

  double bytes() const;  // B of weights held by this part
  // Stores every layer matrix and the head of this part at `bits`: 16 = IEEE fp16 (round to nearest even),
  // 2/3/4/8 = OPSC with groups of `group_size` inputs, 32 = keep fp32. The embedding stays fp32 in every format:
  // a lookup reads one row per token, so it costs memory but no bandwidth. The fingerprint names the source
  // weights, not the format: edge and server may store them at different bits.
  void quantize(int bits, int group_size);
  int weight_bits = 32;
  int group_size = 0;  // OPSC only; 0 for fp32 and fp16
  // Drops what the part does not need (frees memory after a whole-model load).
  void keep_only(const ModelPart& p);
};

// The bit-widths ModelWeights::quantize stores, for the checks of every command that takes them.
inline constexpr const char* kWeightBitsExpected = "2, 3, 4, 8 (OPSC), 16 (fp16) or 32 (fp32)";
constexpr bool weight_bits_supported(int64_t bits) {
  return bits == 2 || bits == 3 || bits == 4 || bits == 8 || bits == 16 || bits == 32;
}
// InputError "<what>: expected 2, 3, 4, 8 (OPSC), 16 (fp16) or 32 (fp32), got <bits>" for another value.
void check_weight_bits(const std::string& what, int64_t bits);

// The header fields of a llama2.c checkpoint, for checks and messages.
struct CheckpointInfo {
  int version = 0;  // 0 legacy, 1 "ak42" fp32
  int64_t dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared_classifier = true;
};

CheckpointInfo read_checkpoint_info(const std::string& path);
ModelSpec spec_from_header(const CheckpointInfo& c);  // name "checkpoint"

// Loads a llama2.c checkpoint. `expected` (when non-empty) must match the header's shape; the spec is
// otherwise derived from the header (name "checkpoint"). InputError names the file and what was expected
// on a bad magic, an unsupported version, an inconsistent header or a truncated/oversized file.
ModelWeights load_checkpoint(const std::string& path, const ModelSpec* expected = nullptr);

// Random weights of the spec's shape: matrices ~ N(0, 0.02²) scaled down with depth like GPT-2 init, norms 1.
// Deterministic for a seed on every platform (own generator, no std:: distributions).
ModelWeights random_weights(const ModelSpec& spec, uint64_t seed, const ModelPart& part);

}  // namespace splitsim
