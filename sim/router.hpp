// Which server of a pool takes a request. The router sees every request when its device starts it and keeps the
// books it decides on: the tokens each server still has to serve (queued and running) and the KV memory its
// admitted and queued requests hold. A request's decode steps go where its prefill went (its KV cache is there).
//
// Policies: round-robin (in the order requests start); least-outstanding (fewest tokens still to serve, ties to the
// next in round-robin order); kv-aware (most KV memory free after what is committed, ties likewise; a server whose
// memory is committed gets nothing while another has room); cell-affinity (every device of one access cell, or one
// private-link device, always to the same server: its cell index modulo the pool).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace splitsim {

class Router {
 public:
  Router(std::string policy, std::vector<double> kv_capacity);  // one entry per server

  // The server of a request of `tokens` (prompt + output) reserving kv_need B; `cell` is its access cell's index
  // (-1 on a private link).
  size_t route(int64_t device, int64_t cell, int64_t tokens, double kv_need);
  void served(size_t server, int64_t tokens);  // the server produced or prefilled this many of a request's tokens
  void released(size_t server, double kv_need);  // a request's last token: its KV reservation ends

  int64_t outstanding(size_t server) const { return outstanding_[server]; }
  double kv_committed(size_t server) const { return kv_committed_[server]; }
  int64_t routed(size_t server) const { return routed_[server]; }

 private:
  std::string policy_;
  std::vector<double> kv_capacity_, kv_committed_;
  std::vector<int64_t> outstanding_, routed_;
  size_t next_ = 0;  // round-robin position
};

}  // namespace splitsim
