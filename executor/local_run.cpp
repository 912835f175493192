// Server and clients in one process over real TCP on loopback: the same code paths as separate processes.
// Client c uses sampling seed + c, so concurrent clients with temperature > 0 generate different texts.
#include "executor/local_run.hpp"

#include <barrier>
#include <exception>
#include <thread>

namespace splitsim {

LocalRunResult run_local_split(const ModelWeights& edge_part, const ModelWeights& server_part, EdgeOptions options,
                               const ServerOptions& server_options, int clients, int requests_per_client,
                               std::span<const int32_t> prompt,
                               const std::function<void(int client, int32_t token)>& on_token) {
  LocalRunResult out;
  SplitServer server(server_part, server_part.part.layer_begin, server_options);
  server.start();
  options.host = "127.0.0.1";
  options.port = server.port();
  out.requests.resize(static_cast<size_t>(clients * requests_per_client));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(clients));
  out.run_start = now_s();
  // The clients' first requests start together once every client has connected and shaken hands (as the
  // simulator's devices all start at time 0), not staggered by thread start-up and connection set-up.
  std::barrier gate(clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      bool gated = false;
      try {
        EdgeOptions o = options;
        o.sampling.seed = options.sampling.seed + static_cast<uint64_t>(c);
        SplitTracker tracker;  // this client's observations of its uplink, across its requests
        if (o.reaction && o.schedule) tracker = SplitTracker(&*o.schedule, *o.reaction), o.tracker = &tracker;
        o.start_gate = [&] {
          gated = true;
          gate.arrive_and_wait();
        };
        for (int k = 0; k < requests_per_client; ++k) {
          const int64_t index = static_cast<int64_t>(c) * requests_per_client + k;
          out.requests[static_cast<size_t>(index)] = run_edge_request(
              edge_part, o, prompt, index, c, out.run_start, [&](int32_t t) {
                if (on_token) on_token(c, t);
              });
          o.start_gate = nullptr;  // later requests follow the previous one at once (closed loop)
        }
      } catch (...) {
        errors[static_cast<size_t>(c)] = std::current_exception();
        if (!gated) gate.arrive_and_drop();  // a client that failed before the gate must not hold the others
      }
    });
  for (auto& t : threads) t.join();
  out.wall = now_s() - out.run_start;
  server.stop();
  out.server = server.totals();
  out.server_errors = server.session_errors();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

}  // namespace splitsim
