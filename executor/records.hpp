// Per-token timing records of the executor (tokens.csv) and the server's per-step timings that travel back
// to the edge at the end of a session. Per-request rows and summary.json use core/metrics.hpp, so that they
// compare column by column with the simulator's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/metrics.hpp"

namespace splitsim {

// One step of one request: step 0 is the prompt block (prefill), step k >= 1 the k-th decode step.
struct TokenRecord {
  int64_t request = 0, step = 0;
  double edge_compute = 0, encode = 0, uplink = 0, server_queue = 0, server_compute = 0, downlink = 0,
         decode = 0;  // s; decode = the server's decoding of the wire block
  int64_t bytes_up = 0, bytes_down = 0;  // frames, header included
  int64_t split = 0;        // the edge ran layers [0, split) for this step
  int64_t bytes_moved = 0;  // the kv_move frame sent before this step's block (0: the split did not move)
};

const std::vector<std::string>& token_columns();
void write_tokens_csv(const std::string& path, const std::vector<TokenRecord>& rows);
std::string tokens_csv(const std::vector<TokenRecord>& rows);  // the file's text

// What the server spent on one step of a session.
struct ServerStep {
  double queue = 0;    // s from the hidden frame's arrival to the start of its batch
  double decode = 0;   // s decoding the wire block
  double compute = 0;  // s of the batch's forward pass (layers [S,L) + head + sampling)
  int64_t batch = 1;   // sequences in that batch
};
nlohmann::json steps_to_json(const std::vector<ServerStep>& steps);
std::vector<ServerStep> steps_from_json(const nlohmann::json& j);  // InputError on a malformed list

// Writes requests.csv, tokens.csv, summary.json (core summary + `extra` under "executor") and config.json.
void write_run_outputs(const std::string& dir, const nlohmann::json& config, const std::vector<RequestRecord>& requests,
                       const std::vector<TokenRecord>& tokens, const RunTotals& totals, const nlohmann::json& extra);

}  // namespace splitsim
