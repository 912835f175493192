// Model-level tests: loader checks, tokenizer, batch invariance of the matmul, and the oracle test — greedy
// generation from BOS with the unsplit fp32 model reproduces the known stories260K output.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "executor/forward.hpp"
#include "executor/generate.hpp"
#include "executor/linear.hpp"
#include "exec_test_util.hpp"
#include "models/model_spec.hpp"

namespace splitsim::test {

std::vector<int32_t> verify_tokens(const std::string& dir) {
  std::ifstream in(dir + "/VERIFY.txt");
  std::string line;
  std::vector<int32_t> out;
  while (std::getline(in, line))
    if (line.rfind("tokens:", 0) == 0) {
      std::istringstream s(line.substr(7));
      int32_t t;
      while (s >> t) out.push_back(t);
    }
  return out;
}

std::string verify_text(const std::string& dir) {
  std::ifstream in(dir + "/VERIFY.txt");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("text: ", 0) == 0) return line.substr(6);
  return {};
}

}  // namespace splitsim::test

using namespace splitsim;

TEST_CASE("greedy generation from BOS matches the known stories260K output", "[model][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  auto want = test::verify_tokens(rm->dir);
  REQUIRE(want.size() >= 20);
  std::vector<int32_t> prompt{kBosToken};
  auto got = generate_unsplit(rm->weights, prompt, static_cast<int64_t>(want.size()), SamplingConfig{0.0, 0.9, 1});
  CHECK(got == want);
  CHECK(rm->tokenizer->decode_all(got) == test::verify_text(rm->dir));
}

TEST_CASE("the tokenizer encodes with BPE merges and decodes back", "[model][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  auto ids = rm->tokenizer->encode(text);
  REQUIRE(ids.front() == kBosToken);
  CHECK(ids.size() < text.size() / 2);  // merges happened
  CHECK(rm->tokenizer->decode_all(ids) == text);
  // The known greedy tokens are what the tokenizer makes of their own text.
  auto want = test::verify_tokens(rm->dir);
  std::vector<int32_t> head(want.begin(), want.begin() + 11);  // "Once upon a time, there was a little girl named Lily."
  auto enc = rm->tokenizer->encode(rm->tokenizer->decode_all(head));
  CHECK(std::vector<int32_t>(enc.begin() + 1, enc.end()) == head);
}

TEST_CASE("a checkpoint that disagrees with its size or the requested model is an InputError", "[model][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / "splitsim_test_truncated.bin";
  {
    std::ifstream in(rm->dir + "/stories260K.bin", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), {});
    std::ofstream out(tmp, std::ios::binary);
    out.write(all.data(), static_cast<std::streamsize>(all.size() - 1000));
  }
  CHECK_THROWS_WITH(load_checkpoint(tmp.string()), Catch::Contains("truncated") && Catch::Contains("expected 1056540 bytes"));
  fs::remove(tmp);
  ModelSpec other = load_model("stories15m");
  CHECK_THROWS_AS(load_checkpoint(rm->dir + "/stories260K.bin", &other), InputError);
  ModelSpec same = load_model("stories260k");
  CHECK(load_checkpoint(rm->dir + "/stories260K.bin", &same).spec.name == "stories260k");
  CHECK_THROWS_AS(load_checkpoint("/nonexistent/model.bin"), InputError);
}

TEST_CASE("a column's matmul result does not depend on the batch it is in", "[model]") {
  const int64_t rows = 37, cols = 173;
  std::vector<float> W(rows * cols), X(cols * 5), Y(rows * 5), y1(rows);
  for (size_t i = 0; i < W.size(); ++i) W[i] = std::sin(0.37f * static_cast<float>(i));
  for (size_t i = 0; i < X.size(); ++i) X[i] = std::cos(0.11f * static_cast<float>(i)) * 3.0f;
  matmul_fp32(W.data(), rows, cols, X.data(), 5, Y.data());
  for (int64_t b = 0; b < 5; ++b) {
    matmul_fp32(W.data(), rows, cols, X.data() + b * cols, 1, y1.data());
    for (int64_t r = 0; r < rows; ++r) REQUIRE(y1[r] == Y[b * rows + r]);
  }
  // And it is a matrix product.
  double ref = 0;
  for (int64_t k = 0; k < cols; ++k) ref += double(W[3 * cols + k]) * X[2 * cols + k];
  CHECK(Y[2 * rows + 3] == Approx(ref).epsilon(1e-5));
}

TEST_CASE("random weights are seeded, and a part holds exactly the whole model's values", "[model]") {
  ModelSpec m = load_model("stories260k");
  auto whole = random_weights(m, 7, ModelPart::whole(m));
  auto edge = random_weights(m, 7, ModelPart::edge(2));
  auto server = random_weights(m, 7, ModelPart::server(m, 2));
  auto other = random_weights(m, 8, ModelPart::whole(m));
  CHECK(edge.embedding == whole.embedding);
  CHECK(std::equal(edge.layers[1].w2.data(), edge.layers[1].w2.data() + m.dim * m.hidden_dim, whole.layers[1].w2.data()));
  CHECK(std::equal(server.layers[3].wq.data(), server.layers[3].wq.data() + m.dim * m.dim, whole.layers[3].wq.data()));
  CHECK(std::equal(server.head.data(), server.head.data() + m.dim * m.vocab_size, whole.head.data()));
  CHECK(edge.layers[3].wq.rows() == 0);
  CHECK(server.embedding.empty());
  CHECK(whole.fingerprint == edge.fingerprint);
  CHECK(whole.fingerprint != other.fingerprint);
  CHECK(whole.embedding != other.embedding);
  CHECK(edge.bytes() < whole.bytes());
  // A forward pass over random weights is finite.
  auto out = generate_unsplit(whole, std::vector<int32_t>{1}, 5, SamplingConfig{});
  CHECK(out.size() <= 5);
}
