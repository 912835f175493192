#include "models/model_spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/scenario.hpp"
#include "core/toml_reader.hpp"
#include "core/formats/weight_format.hpp"

namespace splitsim {

std::vector<ModelSpec::Matrix> ModelSpec::layer_matrices() const {
  const int64_t q = n_heads * head_dim(), kv = kv_dim();
  std::vector<Matrix> m = {{"wq", q, dim, true}, {"wk", kv, dim, true}, {"wv", kv, dim, true}, {"wo", dim, q, true}};
  if (mlp == "swiglu") {
    m.push_back({"w1", hidden_dim, dim});  // gate
    m.push_back({"w2", dim, hidden_dim});  // down
    m.push_back({"w3", hidden_dim, dim});  // up
  } else {
    m.push_back({"w1", hidden_dim, dim});
    m.push_back({"w2", dim, hidden_dim});
  }
  return m;
}

int64_t ModelSpec::attn_params() const {
  int64_t p = 0;
  for (const auto& m : layer_matrices())
    if (m.attention) p += m.params();
  return p;
}

int64_t ModelSpec::mlp_params() const {
  int64_t p = 0;
  for (const auto& m : layer_matrices())
    if (!m.attention) p += m.params();
  return p;
}

int64_t ModelSpec::total_params() const {
  return embedding_params() + n_layers * layer_params() + dim + head_params();
}

double matrix_bytes(int64_t rows, int64_t cols, int bits, int group_size) {
  return static_cast<double>(quantized_matrix_bytes(rows, cols, bits, group_size));
}

double ModelSpec::layer_weight_bytes(int bits, int group_size) const {
  double b = 2.0 * static_cast<double>(norm_params());
  for (const auto& m : layer_matrices()) b += matrix_bytes(m.rows, m.cols, bits, group_size);
  return b;
}

double ModelSpec::embedding_bytes(int bits, int group_size) const {
  return matrix_bytes(vocab_size, dim, bits, group_size);
}

double ModelSpec::head_bytes(int bits, int group_size) const {
  return 2.0 * static_cast<double>(dim) + (tied_embeddings ? 0.0 : matrix_bytes(vocab_size, dim, bits, group_size));
}

double ModelSpec::decode_flops_layer(double t) const {
  return 2.0 * static_cast<double>(attn_params() + mlp_params()) + 4.0 * static_cast<double>(n_heads * head_dim()) * t;
}

double ModelSpec::prefill_flops_layer(double T) const {
  return T * 2.0 * static_cast<double>(attn_params() + mlp_params()) +
         4.0 * static_cast<double>(n_heads * head_dim()) * T * (T + 1) / 2;
}

double ModelSpec::kv_bytes_per_token_layer(int kv_bits) const {
  return 2.0 * static_cast<double>(kv_dim()) * kv_bits / 8.0;
}

nlohmann::json ModelSpec::to_json() const {
  return {{"name", name},           {"dim", dim},
          {"hidden_dim", hidden_dim}, {"n_layers", n_layers},
          {"n_heads", n_heads},     {"n_kv_heads", n_kv_heads},
          {"vocab_size", vocab_size}, {"max_seq_len", max_seq_len},
          {"tied_embeddings", tied_embeddings}, {"parallel_block", parallel_block},
          {"mlp", mlp},             {"rope_theta", rope_theta},
          {"norm_eps", norm_eps}};
}

ModelSpec load_model_file(const std::string& path) {
  auto src = parse_toml_file(path);
  TomlReader r(src);
  ModelSpec m;
  m.name = r.str("name");
  m.source = r.str("source");
  m.description = r.str_or("description", "");
  m.dim = r.integer("dim", 1, 1 << 20);
  m.hidden_dim = r.integer("hidden_dim", 1, 1 << 22);
  m.n_layers = r.integer("n_layers", 1, 4096);
  m.n_heads = r.integer("n_heads", 1, 4096);
  m.n_kv_heads = r.integer("n_kv_heads", 1, m.n_heads);
  if (m.dim % m.n_heads != 0) r.fail("n_heads", fmt::format("a divisor of dim ({})", m.dim), std::to_string(m.n_heads));
  if (m.n_heads % m.n_kv_heads != 0)
    r.fail("n_kv_heads", fmt::format("a divisor of n_heads ({})", m.n_heads), std::to_string(m.n_kv_heads));
  m.vocab_size = r.integer("vocab_size", 1, 1 << 24);
  m.max_seq_len = r.integer("max_seq_len", 1, 1 << 24);
  m.tied_embeddings = r.boolean_or("tied_embeddings", false);
  m.parallel_block = r.boolean_or("parallel_block", false);
  m.mlp = r.choice_or("mlp", {"swiglu", "gelu"}, "swiglu");
  m.rope_theta = r.number_or("rope_theta", 1, 1e12, 10000.0);
  m.norm_eps = r.number_or("norm_eps", 0, 1, 1e-5);
  r.expect_all_used();
  return m;
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(data_dir() + "/models"))
    if (e.path().extension() == ".toml") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

ModelSpec load_model(const std::string& name) {
  // The name is checked before it becomes a path: a million characters are an unknown model, not an
  // operating-system error about a file name.
  std::string path = data_dir() + "/models/" + name + ".toml";
  std::error_code ec;
  if (!name_problem(name).empty() || !std::filesystem::exists(path, ec)) {
    std::string list;
    for (const auto& n : model_names()) list += (list.empty() ? "" : ", ") + n;
    throw InputError(fmt::format("unknown model {} (known: {})", quoted_input(name), list));
  }
  return load_model_file(path);
}

}  // namespace splitsim
