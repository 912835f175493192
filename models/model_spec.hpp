// Model architecture specs (models/<name>.toml) and the arithmetic derived from them.
//
// Decoder-only transformers of the Llama family: per layer an attention block (q, k, v, o projections with
// grouped-query attention) and an MLP (SwiGLU: gate, up, down), two norms; an embedding table and an LM
// head (tied to the embedding or not). Counts are in parameters, sizes in bytes, work in flop.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace splitsim {

struct ModelSpec {
  std::string name;
  std::string source;       // where the numbers come from (paper, config.json of the release)
  std::string description;
  int64_t dim = 0;          // d: residual stream width
  int64_t hidden_dim = 0;   // f: MLP width
  int64_t n_layers = 0;     // L
  int64_t n_heads = 0;      // h
  int64_t n_kv_heads = 0;   // kv (GQA when < h)
  int64_t vocab_size = 0;   // V
  int64_t max_seq_len = 0;  // context length the model was trained for
  bool tied_embeddings = false;
  bool parallel_block = false;  // GPT-J/NeoX style: attention and MLP read the same normed input
  std::string mlp = "swiglu";   // swiglu (3 matrices) | gelu (2 matrices)
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;

  int64_t head_dim() const { return dim / n_heads; }
  int64_t kv_dim() const { return n_kv_heads * head_dim(); }

  // One linear layer of the model: out_features x in_features.
  struct Matrix {
    std::string name;  // "wq", "w1", ...
    int64_t rows = 0;  // output features
    int64_t cols = 0;  // input features (quantization groups run along this dimension)
    bool attention = false;  // q/k/v/o projections; else MLP
    int64_t params() const { return rows * cols; }
  };
  std::vector<Matrix> layer_matrices() const;

  int64_t attn_params() const;   // d*(h*hd) + 2*d*(kv*hd) + (h*hd)*d
  int64_t mlp_params() const;    // 3*d*f for SwiGLU
  int64_t norm_params() const { return 2 * dim; }
  int64_t layer_params() const { return attn_params() + mlp_params() + norm_params(); }
  int64_t embedding_params() const { return vocab_size * dim; }
  int64_t head_params() const { return tied_embeddings ? 0 : vocab_size * dim; }
  int64_t total_params() const;  // embeddings + layers + final norm + head

  // Bytes of one layer's weights: matrices at `bits` (16 = fp16, else packed with fp16 scale+zero per group of
  // group_size along the input dimension), norms in fp16.
  double layer_weight_bytes(int bits, int group_size) const;
  double embedding_bytes(int bits, int group_size) const;  // the V x d table
  double head_bytes(int bits, int group_size) const;       // LM head (0 when tied) + final norm

  // Work per layer for one decode step at context t (the token attends to t cached positions incl. itself):
  // 2*params_matrices + 4*h*hd*t.
  double decode_flops_layer(double t) const;
  // Prefill of T tokens: T matmuls plus causal attention, sum_{i=1..T} 4*h*hd*i.
  double prefill_flops_layer(double T) const;
  double head_flops() const { return 2.0 * static_cast<double>(vocab_size * dim); }
  // KV cache per token per layer: 2 * kv * hd * bytes(kv_bits).
  double kv_bytes_per_token_layer(int kv_bits) const;
  // The residual stream crossing a split: d values per token.
  double activation_bytes(int64_t tokens, double bytes_per_element) const {
    return static_cast<double>(tokens * dim) * bytes_per_element;
  }

  nlohmann::json to_json() const;
};

// Bytes of a rows x cols matrix stored at `bits`: the packed format of core/formats/weight_format.hpp.
double matrix_bytes(int64_t rows, int64_t cols, int bits, int group_size);

// models/<name>.toml under data_dir(); InputError on an unknown name or a bad file.
ModelSpec load_model(const std::string& name);
ModelSpec load_model_file(const std::string& path);
std::vector<std::string> model_names();

}  // namespace splitsim
