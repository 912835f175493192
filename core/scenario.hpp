// The Scenario: one experiment, resolved from a TOML file plus --set overrides into an immutable value.
//
// A scenario composes its inputs by name (model = "llama2-7b", edge profile "jetson-xavier-nx", link "wifi5")
// and never copies their numbers; hwprofiles/system.hpp loads those names into a System. Every quantity here
// is in SI base units (s, B, B/s, 1/s).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/codec.hpp"
#include "core/formats/request_trace.hpp"
#include "core/overrides.hpp"
#include "core/toml_reader.hpp"

namespace splitsim {

// The server pool's routing policies (server.router): round-robin | least-outstanding | kv-aware | cell-affinity.
const std::vector<std::string>& router_names();

// A token-count distribution: fixed, uniform in [min, max], lognormal(mu, sigma) clipped to [min, max], or the
// lengths of a replayed trace (their bounds and mean; the simulator takes each request's own).
struct LengthDist {
  std::string kind = "fixed";  // fixed | uniform | lognormal | trace
  int64_t value = 0;           // fixed
  int64_t min = 1, max = 0;    // uniform, lognormal and trace bounds
  double mu = 0, sigma = 0;    // lognormal parameters of log(length)
  double trace_mean = 0;       // trace
  int64_t upper_bound() const { return kind == "fixed" ? value : max; }
  double mean() const;  // analytic mean (lognormal: of the unclipped law, clipped to the bounds)
};

struct DeviceGroup {
  std::string name;       // "edge" for the single-group shorthand
  std::string profile;    // hwprofiles/<profile>.toml
  std::string link;       // hwprofiles/links/<link>.toml: the device's access link
  int64_t count = 1;
  int64_t cell_size = 0;  // 0: every device has its own access link; K: K devices share one access-point link
  std::string power_mode;  // a [[power.modes]] name of the profile; empty: the profile's own (fastest) clocks
  double battery = 0;      // J of battery capacity, for battery hours; 0: mains-powered (no battery figure)
  // Where each access link (a device's own, or a cell's) starts in its link's trace: "random" (a seeded phase per
  // link: links fade independently) or "aligned" (all at the trace's start: one area fading together).
  std::string trace_phase = "random";
};

// One group of identical servers of a pool ([[server.groups]]).
struct ServerGroupConfig {
  std::string name = "server";
  std::string profile = "a6000";
  int64_t count = 1;
  int64_t max_batch = 32;
  double kv_memory = 0;  // as ServerConfig::kv_memory
  // hwprofiles/links/<link>: the network between the router (where the access network ends) and each server of
  // the group; empty: none (the servers sit at the router). The router receives a message whole and forwards it.
  std::string link;
  // The group's own weight precision for its layers (split.cloud_bits for this group's servers; 0: the
  // scenario's): a heterogeneous pool, e.g. memory-tight cards at 4 bits beside 8-bit ones. The devices' side
  // and the KV cache are the scenario's.
  int64_t cloud_bits = 0;
};

struct ServerConfig {
  // The pool: [[server.groups]], or one group made of the keys below (profile, max_batch, kv_memory) when the
  // scenario has none. The keys below always hold the first group's values.
  std::vector<ServerGroupConfig> groups;
  // How a request's server is chosen (sim/router.hpp): one of router_names().
  std::string router = "round-robin";
  int64_t server_count() const;
  // s an iteration waits for the other admitted sequences' steps after its first ready one, as the executor's
  // server does (its --batch-window); 0: none (the default).
  double batch_window = 0;
  // s: the server closes a session silent for longer, from the token it sent (or the request's start) to the
  // session's next block; its KV cache is freed then and the request fails. The executor's server idle timeout.
  double session_timeout = 120;
  int64_t count = 1;  // the single form: this many identical servers (a pool of one group)
  std::string profile = "a6000";
  std::string backbone = "ethernet-10g";  // link between the access network and the server
  int64_t max_batch = 32;
  double kv_memory = 0;  // B reserved for KV caches; 0 = capacity minus weights minus runtime overhead
  // > 0: the edge devices compute on the server's own processor, which has this many cores shared by every
  // edge step and server iteration (a split run of server and clients on one machine, as `splitsim validate`
  // runs the executor). 0: every device has its own processor (the default). "auto" in a file = the cores of
  // the machine that loads the scenario.
  int64_t shared_cores = 0;
};

struct SplitConfig {
  std::string strategy = "opsc";  // see core/strategy.hpp
  int64_t layer = 0;              // layers [0, layer) run on the edge
  std::string schedule;           // "CONTEXT:SPLIT,..." (core/split_schedule.hpp): the split moves; empty: `layer`
  double react_rate = 0;          // B/s: a reacting band moves early once the uplink carries at least this (SplitReaction)
  int64_t react_window = 4;       // uploads the observed rate is taken over
  int64_t edge_bits = 4;          // {2,3,4,8,16,32}: 16 = fp16, 32 = fp32
  int64_t cloud_bits = 8;
  int64_t kv_bits = 16;           // edge and server KV cache precision {4,8,16}
  int64_t group_size = 128;       // weight quantization group along the input dimension
};

struct CodecConfig {
  std::string ts_mode = "sigma";  // none | fixed | percentile | sigma
  double ts_threshold = 6.0;      // fixed: tau; percentile: fraction of |x| kept as outliers; sigma: k
  double tabq_eps = 1e-3;         // relative error budget: Delta^2/12 <= eps * var_t
  std::vector<int64_t> tabq_bits = {2, 3, 4, 6, 8};
  int64_t uniform_bits = 8;       // per-token uniform quantization for split-uniform
  // Expected statistics for analytic estimates (until measured from real activations): TAB-Q bits per
  // element and outliers per token, the System's default codec_stats. Estimates are labelled as such in outputs.
  CodecStatistics expected;
};

// workload.arrival = "trace": a request trace (core/formats/request_trace.hpp) replayed in a window of it.
struct TraceReplay {
  std::string path;                      // as the scenario gives it
  std::string format = "azure";          // azure | generic
  double time_scale = 1;                 // replayed arrival = (trace time - window start) x time_scale
  double window_start = 0, window_end = 1e300;  // s of trace time
  std::string device_map = "round-robin";  // round-robin | random (seeded) | thin (random, thinned to workload.rate)
  std::string too_long = "clip";         // requests longer than max_seq_len: clip | drop
  std::shared_ptr<const RequestTrace> data;  // the file as read
  TraceSelection selected;               // the requests replayed, with the counts of clipped and dropped ones
};

struct Workload;
// Selects a trace workload's requests for its window, time scale and max_seq_len (TraceReplay::selected) and sets
// prompt_tokens / output_tokens to their bounds and means; again whenever max_seq_len changes.
void select_trace(Workload& wl);

struct Workload {
  std::string arrival = "closed";   // closed (think time between requests) | poisson (rate per device) | trace
  double think_time = 0;            // s
  double rate = 0;                  // requests per second per device
  int64_t requests_per_device = 1;
  LengthDist prompt_tokens{"fixed", 128};
  LengthDist output_tokens{"fixed", 128};
  int64_t max_seq_len = 2048;       // KV cache is sized for this many tokens
  TraceReplay trace;                // arrival = "trace"
  bool open_loop() const { return arrival != "closed"; }  // requests arrive on their own clock
};

struct Scenario {
  std::string name;
  std::string description;
  std::string origin;  // the file it came from
  std::vector<std::string> overridden;  // dotted keys set from the command line
  uint64_t seed = 1;
  std::string model;
  std::vector<DeviceGroup> fleet;
  ServerConfig server;
  SplitConfig split;
  CodecConfig codec;
  Workload workload;

  int64_t device_count() const;
  std::string where(const std::string& key) const;  // "file" or "file (--set)", for error messages
  nlohmann::json to_json() const;                   // the resolved values, every default filled in
};

// Loads and validates; InputError names file and key on any problem, including unknown keys.
Scenario load_scenario(const std::string& path, const std::vector<Override>& overrides = {});
Scenario scenario_from_source(const std::shared_ptr<TomlSource>& src);

// The keys the explorer varies point by point (the optimizer's grid). Each is read and checked by the loader's
// own code (`read`, from the key's table, when present) and copied between scenarios without re-reading a file
// (`copy`), so a grid of 10^5 points applies its values without parsing TOML per point.
struct ScenarioKnob {
  const char* key;  // dotted: "split.layer"
  void (*read)(const TomlReader& table, Scenario& s);
  void (*copy)(const Scenario& from, Scenario& to);
};
std::span<const ScenarioKnob> scenario_knobs();
const ScenarioKnob* find_knob(std::string_view key);
// The rules between keys the loader checks after reading them all: the first broken one as {key, expected, got},
// or nothing.
struct KeyProblem {
  std::string key, expected, got;
};
std::optional<KeyProblem> cross_key_problem(const Scenario& s);

// The folder that holds models/, hwprofiles/, scenarios/: $SPLITSIM_DATA_DIR, else the source tree.
std::string data_dir();

}  // namespace splitsim
