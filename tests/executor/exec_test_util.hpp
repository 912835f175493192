// Shared helpers of the executor tests: the real model (skipped with a visible warning when absent).
#pragma once
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "executor/generate.hpp"
#include "executor/local_run.hpp"
#include "executor/model_files.hpp"
#include "executor/tokenizer.hpp"
#include "executor/weights.hpp"

namespace splitsim::test {

struct RealModel {
  std::string dir;
  ModelWeights weights;
  std::unique_ptr<Tokenizer> tokenizer;
};

// A model split at layer s into the edge's and the server's halves.
struct Halves {
  ModelWeights edge, server;
};
inline Halves split_weights(const ModelWeights& whole, int64_t s) {
  Halves h{whole, whole};
  h.edge.keep_only(ModelPart::edge(s));
  h.server.keep_only(ModelPart::server(whole.spec, s));
  return h;
}

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

// `whole` split at every layer S, both halves at `bits` (32 = fp32), run greedily over loopback TCP with 1 and 3
// concurrent clients (batched on the server, lossless fp32 wire): every request must generate the unsplit
// model's tokens `want`; `more` checks anything else of each run.
inline void check_every_split(const ModelWeights& whole, int bits, std::span<const int32_t> prompt, int64_t steps,
                              const SamplingConfig& greedy, const std::vector<int32_t>& want,
                              const std::function<void(const LocalRunResult&, int64_t split)>& more = {}) {
  for (int clients : {1, 3}) {
    for (int64_t s = 0; s <= whole.spec.n_layers; ++s) {
      INFO("split " << s << ", " << clients << " clients, " << bits << "-bit weights");
      ModelWeights edge = whole, server = whole;
      edge.keep_only(ModelPart::edge(s));
      server.keep_only(ModelPart::server(whole.spec, s));
      edge.quantize(bits, 0);
      server.quantize(bits, 0);
      EdgeOptions o;
      o.split = s;
      o.steps = steps;
      o.sampling = greedy;
      ServerOptions so;
      so.batch_window = 5e-3;
      const LocalRunResult r = run_local_split(edge, server, o, so, clients, 1, prompt);
      REQUIRE(r.requests.size() == static_cast<size_t>(clients));
      for (const auto& e : r.requests) CHECK(e.tokens == want);
      CHECK(r.server.sessions_completed == clients);
      CHECK(r.server.sessions_failed == 0);
      if (clients == 3 && s == 2) CHECK(r.server.max_batch_seen >= 2);  // the server did batch
      if (more) more(r, s);
    }
  }
}

// The greedy tokens from BOS listed in VERIFY.txt.
std::vector<int32_t> verify_tokens(const std::string& dir);
std::string verify_text(const std::string& dir);

}  // namespace splitsim::test
