// A whole split deployment in one process: the server on an ephemeral loopback port and N edge clients as
// threads, each running its requests one after the other. For tests, demos and `splitsim exec local`.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "executor/edge.hpp"
#include "executor/server.hpp"

namespace splitsim {

struct LocalRunResult {
  std::vector<EdgeResult> requests;  // client-major: client c's request k at c * requests_per_client + k
  ServerTotals server;
  std::vector<std::string> server_errors;
  double run_start = 0, wall = 0;  // now_s() at the start; s the run took
};

// `edge_part` and `server_part` are the two halves: the edge holds layers [0, S) for the split S (or the first of its
// schedule), the server [S', L) for the lowest split S' the clients' schedule reaches.
LocalRunResult run_local_split(const ModelWeights& edge_part, const ModelWeights& server_part, EdgeOptions options,
                               const ServerOptions& server_options, int clients, int requests_per_client,
                               std::span<const int32_t> prompt,
                               const std::function<void(int client, int32_t token)>& on_token = {});

}  // namespace splitsim
