#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/formats/weight_format.hpp"
#include "models/model_spec.hpp"

using namespace splitsim;

TEST_CASE("models: Llama-2-7B has 6.74 B parameters", "[models]") {
  ModelSpec m = load_model("llama2-7b");
  // Embedding 32000*4096, 32 layers of (4*4096^2 + 3*4096*11008 + 2*4096), final norm, untied head.
  CHECK(m.layer_params() == 4LL * 4096 * 4096 + 3LL * 4096 * 11008 + 2 * 4096);
  CHECK(m.total_params() == 6'738'415'616LL);
  CHECK(m.head_dim() == 128);
  // fp16 KV cache: 2 (K and V) * 32 heads * 128 * 2 B * 32 layers = 512 KiB per token.
  CHECK(m.kv_bytes_per_token_layer(16) * static_cast<double>(m.n_layers) == 524288.0);
  CHECK(m.activation_bytes(1, 2) == 8192.0);
}

TEST_CASE("models: Llama-2-70B uses 8 KV heads (GQA)", "[models]") {
  ModelSpec m = load_model("llama2-70b");
  CHECK(m.n_kv_heads == 8);
  CHECK(m.kv_dim() == 1024);
  CHECK(m.total_params() == Approx(68.98e9).epsilon(1e-3));
  // 2 * 8 * 128 * 2 B * 80 layers = 320 KiB per token in fp16.
  CHECK(m.kv_bytes_per_token_layer(16) * static_cast<double>(m.n_layers) == 327680.0);
}

TEST_CASE("models: the other published sizes", "[models]") {
  CHECK(load_model("llama2-13b").total_params() == Approx(13.016e9).epsilon(1e-3));
  CHECK(load_model("llama3-8b").total_params() == Approx(8.03e9).epsilon(1e-3));
  CHECK(load_model("tinyllama-1.1b").total_params() == Approx(1.100e9).epsilon(1e-3));
  ModelSpec s = load_model("stories260k");
  CHECK(s.dim == 64);
  CHECK(s.hidden_dim == 172);
  CHECK(s.n_layers == 5);
  CHECK(s.n_kv_heads == 4);
  CHECK(s.tied_embeddings);
  CHECK(s.total_params() == 512 * 64 + 5 * (64 * 64 * 2 + 2 * 64 * 32 + 3 * 64 * 172 + 128) + 64);
  CHECK(load_model("stories15m").total_params() == Approx(15.19e6).epsilon(2e-3));
  CHECK(load_model("stories110m").total_params() == Approx(109.5e6).epsilon(2e-3));
}

TEST_CASE("models: quantized weight bytes follow the packed format", "[models]") {
  ModelSpec m = load_model("llama2-7b");
  // 4-bit, group 128: half a byte per weight plus 4 B (fp16 scale + zero) per 128 weights.
  double expect = 0;
  for (const auto& mat : m.layer_matrices())
    expect += static_cast<double>(mat.rows) * (static_cast<double>(mat.cols) / 2 + static_cast<double>(mat.cols / 128) * 4);
  CHECK(m.layer_weight_bytes(4, 128) == expect + 4.0 * 4096);
  CHECK(m.layer_weight_bytes(16, 128) == 2.0 * static_cast<double>(m.layer_params()));
  // 3-bit rows are padded to whole bytes; a partial group still carries its scale and zero.
  CHECK(quantized_matrix_bytes(2, 10, 3, 8) == 2 * (4 + 2 * 4));
}

TEST_CASE("models: decode and prefill FLOPs", "[models]") {
  ModelSpec m = load_model("llama2-7b");
  const double mats = static_cast<double>(m.attn_params() + m.mlp_params());
  CHECK(m.decode_flops_layer(100) == 2 * mats + 4.0 * 4096 * 100);
  CHECK(m.prefill_flops_layer(3) == 3 * 2 * mats + 4.0 * 4096 * (1 + 2 + 3));
}

TEST_CASE("models: unknown names and bad files are input errors", "[models][bad-input]") {
  CHECK_THROWS_WITH(load_model("llama9-1t"), Catch::Matchers::StartsWith("unknown model \"llama9-1t\" (known: "));
  CHECK_THROWS_AS(load_model("../x"), InputError);
}
