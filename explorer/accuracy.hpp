// The accuracy model: accuracy_loss of a configuration, measured where the executor measured it, else
// estimated from published perplexities and the codec's distortion (explorer/accuracy_estimates.toml).
//
// accuracy_loss = ppl / ppl_reference - 1: the relative perplexity increase over the unsplit fp16/fp32 model.
//
// Measured results: accuracy.csv written by the executor's evaluation, one row per evaluated configuration:
//   method        strategy name (opsc, split-fp16, split-uniform, cloud-only, edge-only)
//   model         models/ name (stories260k)
//   split         split layer
//   edge_bits, cloud_bits, kv_bits, group_size
//   ts_mode, ts_threshold, tabq_eps, tabq_bits ("2;3;4;6;8"), uniform_bits   codec settings (empty: n/a)
//   tokens        evaluated tokens
//   perplexity    of the split configuration
//   perplexity_ref of the unsplit reference model on the same tokens
//   kl            mean KL divergence of next-token distributions (reference || split), nats
//   agreement     fraction of positions where the greedy tokens agree
// Columns beyond these are ignored; empty codec cells match any codec setting. The file is found at
// $SPLITSIM_ACCURACY_CSV, else <data dir>/results/accuracy/accuracy.csv.
#pragma once
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "explorer/codec_model.hpp"
#include "hwprofiles/system.hpp"

namespace splitsim {

struct AccuracyResult {
  double loss = 0;            // fraction: 0.005 = 0.5 %
  bool measured = false;      // false: "estimated"
  double kl = NAN, agreement = NAN;  // measured only
  std::string source;         // "measured: accuracy.csv" or the estimate's basis
  const char* label() const { return measured ? "measured" : "estimated"; }
};

struct MeasuredAccuracy {
  std::string method, model, ts_mode, tabq_bits;
  int64_t split = -1, edge_bits = -1, cloud_bits = -1, kv_bits = -1, group_size = -1, uniform_bits = -1;
  double ts_threshold = NAN, tabq_eps = NAN;
  double perplexity = 0, perplexity_ref = 0, kl = NAN, agreement = NAN;
};

class AccuracyModel {
 public:
  // Loads the estimate table and, when present, the measured table. Empty paths: the defaults.
  static AccuracyModel load(const std::string& estimates_path = "", const std::string& measured_path = "");

  AccuracyResult evaluate(const System& sys, bool with_source = true) const;
  // The estimate alone, from its parts (used by evaluate and the screen).
  double weight_loss(const std::string& model, int64_t bits) const;
  double kv_loss(int64_t kv_bits) const;
  double codec_loss(double relative_mse) const { return codec_sensitivity_ * relative_mse; }
  CodecEstimate codec_stats(const System& sys) const;

  const ActivationModel& activations() const { return activations_; }
  const std::string& measured_path() const { return measured_path_; }
  size_t measured_rows() const { return measured_.size(); }
  std::vector<std::string> sources() const;  // every source string used by the estimates

 private:
  std::map<std::string, std::map<int64_t, std::pair<double, std::string>>> ppl_;  // model -> bits -> ppl, source
  std::map<std::string, std::pair<double, std::string>> relative_;               // bits8, kv4, ...
  double codec_sensitivity_ = 0;
  ActivationModel activations_;
  std::vector<MeasuredAccuracy> measured_;
  std::string estimates_path_, measured_path_;
};

std::string default_accuracy_csv();
std::vector<MeasuredAccuracy> read_accuracy_csv(const std::string& path);

}  // namespace splitsim
