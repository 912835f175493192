#include "sim/router.hpp"

#include <algorithm>

namespace splitsim {

Router::Router(std::string policy, std::vector<double> kv_capacity)
    : policy_(std::move(policy)),
      kv_capacity_(std::move(kv_capacity)),
      kv_committed_(kv_capacity_.size(), 0.0),
      outstanding_(kv_capacity_.size(), 0),
      routed_(kv_capacity_.size(), 0) {}

size_t Router::route(int64_t device, int64_t cell, int64_t tokens, double kv_need) {
  const size_t n = kv_capacity_.size();
  size_t s = 0;
  if (policy_ == "cell-affinity") {
    s = static_cast<size_t>(cell >= 0 ? cell : device) % n;
  } else if (policy_ == "least-outstanding" || policy_ == "kv-aware") {
    // Scan from the round-robin position so that ties rotate.
    s = next_ % n;
    for (size_t k = 1; k < n; ++k) {
      const size_t c = (next_ + k) % n;
      const bool better = policy_ == "least-outstanding"
                              ? outstanding_[c] < outstanding_[s]
                              : kv_capacity_[c] - kv_committed_[c] > kv_capacity_[s] - kv_committed_[s];
      if (better) s = c;
    }
    next_ = (next_ + 1) % n;
  } else {  // round-robin
    s = next_ % n;
    next_ = (next_ + 1) % n;
  }
  outstanding_[s] += tokens;
  kv_committed_[s] += kv_need;
  ++routed_[s];
  return s;
}

void Router::served(size_t server, int64_t tokens) { outstanding_[server] -= tokens; }

void Router::released(size_t server, double kv_need) {
  kv_committed_[server] = std::max(0.0, kv_committed_[server] - kv_need);
}

}  // namespace splitsim
