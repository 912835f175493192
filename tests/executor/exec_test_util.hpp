// Shared helpers of the executor tests: the real model (skipped with a visible warning when absent).
#pragma once
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>

#include "executor/model_files.hpp"
#include "executor/tokenizer.hpp"
#include "executor/weights.hpp"

namespace splitsim::test {

struct RealModel {
  std::string dir;
  ModelWeights weights;
  std::unique_ptr<Tokenizer> tokenizer;
};

// The stories260K model loaded once per test binary; nullptr (with a WARN) when the files are absent.
inline const RealModel* real_model() {
  static std::unique_ptr<RealModel> model = []() -> std::unique_ptr<RealModel> {
    auto dir = find_model_dir();
    if (!dir) return nullptr;
    auto m = std::make_unique<RealModel>();
    m->dir = *dir;
    m->weights = load_checkpoint(*dir + "/stories260K.bin");
    m->tokenizer = std::make_unique<Tokenizer>(*dir + "/tok512.bin", m->weights.spec.vocab_size);
    return m;
  }();
  if (!model) WARN("stories260K not found (set SPLITSIM_MODEL_DIR or place shared/models/stories260K above the repo): skipped");
  return model.get();
}

// The greedy tokens from BOS listed in VERIFY.txt.
std::vector<int32_t> verify_tokens(const std::string& dir);
std::string verify_text(const std::string& dir);

}  // namespace splitsim::test
