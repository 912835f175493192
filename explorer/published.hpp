// Published measurements as a validation set for the device profiles (`splitsim validate --published [FILE]`,
// default scenarios/validate/published.csv): decode and prefill throughputs that others measured with production
// kernels (llama.cpp, MLC-LLM) on devices of hwprofiles/, each with its source. Each point is predicted by the cost
// model of its profile running the whole model alone (cloud-only on that device, batch and context as published),
// from the profile's datasheet roofline and [efficiency] numbers: what such a kernel achieves is what a profile should
// predict, so measured kernel tables of this project's own kernels are left out here.
//
// CSV columns: id, device, device_note, model, model_note, software, quant, weight_bits, group_size, batch, context,
// metric (decode_tps | prefill_tps), value, unit (tokens/s), source_url, source_locator, role (fit | held-out).
// weight_bits is the stored bits per weight including scales (Q4_0 = 4.5): the point is costed at the OPSC width
// floor(weight_bits) with the group size that gives the same bytes. Decode points are costed at the middle of the
// generated span (context / 2 cached positions), prefill points as one block of `context` tokens.
#pragma once
#include <string>
#include <vector>

namespace splitsim {

struct PublishedPoint {
  std::string id, device, device_note, model, model_note, software, quant;
  double weight_bits = 0;
  int64_t batch = 1, context = 0;
  std::string metric;  // decode_tps | prefill_tps
  double value = 0;    // tokens/s as published
  std::string source_url, source_locator, role;
  std::string origin;  // "file:line" for errors
};

// InputError "file: line N: column: expected ..., got ..." on anything malformed (the CSV is input).
std::vector<PublishedPoint> read_published(const std::string& path);

struct PublishedPrediction {
  PublishedPoint point;
  int bits = 4, group_size = 128;  // the OPSC format it was costed at
  double predicted = 0;            // tokens/s
  double error() const { return predicted / point.value - 1.0; }
};
PublishedPrediction predict_published(const PublishedPoint& p);

// What fitting a profile to its `fit` points gives: memory efficiency and launch overhead from the decode points
// (least squares of log(predicted / published) on a grid; both only when the points separate them, e.g. one model at
// two weight widths or two model sizes, else the launch overhead alone), then the compute efficiency from the prefill
// points. The profile's current values come along for comparison.
// Where a device's decode points include weights at 16 bits and below, in at least three shapes, each width class
// gets its memory efficiency ([efficiency] memory and memory_quantized) beside the launch overhead.
struct ProfileFit {
  std::string device;
  std::vector<std::string> decode_points, prefill_points;
  // fitted (efficiency_memory_quantized equals efficiency_memory unless `separated`)
  double efficiency_memory = 0, efficiency_memory_quantized = 0, launch_overhead = 0, efficiency_compute = 0;
  // the profile now
  double was_efficiency_memory = 0, was_efficiency_memory_quantized = 0, was_launch_overhead = 0,
         was_efficiency_compute = 0;
  bool separated = false, fitted_memory = false, fitted_compute = false;
};
std::vector<ProfileFit> fit_published(const std::vector<PublishedPoint>& points);

struct PublishedErrors {
  int n = 0;
  double mean_abs = 0, worst_abs = 0;
};
// Over the points of `role` and `metric` (empty: all).
PublishedErrors published_errors(const std::vector<PublishedPrediction>& v, const std::string& role = "",
                                 const std::string& metric = "");

// Reads, predicts, prints the table and the summary line, writes out_dir/published_predicted.csv and its figure.
// Returns the predictions.
std::vector<PublishedPrediction> run_published(const std::string& file, const std::string& out_dir, bool plot);
// Prints fit_published's result for the file's fit points.
void run_published_fit(const std::string& file);

}  // namespace splitsim
