// The server actor: continuous batching with KV-memory admission (see server.hpp).
//
// Cost per iteration is O(batch + log(pending)): the ready items live in two deques (prefills, decode steps)
// that are merged from their fronts, so a long queue of waiting devices is never scanned.
#include "sim/server.hpp"

#include <simgrid/s4u.hpp>

#include <algorithm>
#include <limits>

namespace splitsim {

namespace s4u = simgrid::s4u;

Server::Server(int64_t max_batch, double kv_capacity, IterationTime iteration_time, Done done, Execute execute)
    : max_batch_(max_batch),
      kv_capacity_(kv_capacity),
      iteration_time_(std::move(iteration_time)),
      done_(std::move(done)),
      execute_(std::move(execute)),
      doorbell_(s4u::Semaphore::create(0)) {}

void Server::push(const ServerItem& item) {
  arrivals_.push(item);
  if (idle_ && !rung_) {
    rung_ = true;
    doorbell_->release();
  }
}

void Server::release_kv(double bytes) {
  kv_used_ = std::max(0.0, kv_used_ - bytes);
  active_ = std::max<int64_t>(0, active_ - 1);
}

void Server::abandon(double kv_bytes) {
  release_kv(kv_bytes);
  if (idle_ && !rung_) {
    rung_ = true;
    doorbell_->release();
  }
}

double Server::gather_until(double now) const {
  if (window_ <= 0) return -1;
  const auto ready = static_cast<int64_t>(prefills_.size() + decodes_.size());
  if (ready == 0 || ready >= std::min(active_ + static_cast<int64_t>(prefills_.size()), max_batch_)) return -1;
  double first = prefills_.empty() ? decodes_.front().ready : prefills_.front().ready;
  if (!decodes_.empty()) first = std::min(first, decodes_.front().ready);
  const double deadline = first + window_;
  return now < deadline ? deadline : -1;
}

void Server::form_batch() {
  batch_.clear();
  bool prefill_blocked = false;
  Later later;
  while (static_cast<int64_t>(batch_.size()) < max_batch_) {
    bool have_p = !prefill_blocked && !prefills_.empty(), have_d = !decodes_.empty();
    if (!have_p && !have_d) break;
    bool take_p = have_p && (!have_d || !later(prefills_.front(), decodes_.front()));
    if (take_p) {
      const ServerItem& p = prefills_.front();
      if (kv_used_ + p.kv_need > kv_capacity_) {
        prefill_blocked = true;
        continue;
      }
      kv_used_ += p.kv_need;
      ++active_;
      stats_.kv_peak = std::max(stats_.kv_peak, kv_used_);
      batch_.push_back(p);
      prefills_.pop_front();
    } else {
      batch_.push_back(decodes_.front());
      decodes_.pop_front();
    }
  }
}

void Server::run() {
  double wake_target = 0;
  while (true) {
    // Let every actor woken at this same instant hand in its item before the batch is formed.
    s4u::this_actor::yield();
    const double now = std::max(s4u::Engine::get_clock(), wake_target);
    while (!arrivals_.empty() && arrivals_.top().ready <= now) {
      const ServerItem& it = arrivals_.top();
      (it.prefill ? prefills_ : decodes_).push_back(it);
      arrivals_.pop();
    }
    if (asleep_ && handoff_ > 0 && (!prefills_.empty() || !decodes_.empty())) {
      double first = std::numeric_limits<double>::infinity();
      if (!prefills_.empty()) first = prefills_.front().ready;
      if (!decodes_.empty()) first = std::min(first, decodes_.front().ready);
      if (now < first + handoff_) {  // still waking up: items arriving meanwhile join the batch
        wake_target = first + handoff_;
        s4u::this_actor::sleep_until(wake_target);
        continue;
      }
    }
    asleep_ = false;
    if (const double until = gather_until(now); until >= 0) {
      // The batch window: wait for the other sequences' steps, or for the window to close.
      idle_ = true;
      rung_ = false;
      const double next = arrivals_.empty() ? until : std::min(until, arrivals_.top().ready);
      wake_target = next;
      if (!doorbell_->acquire_timeout(std::max(0.0, next - s4u::Engine::get_clock()))) wake_target = 0;
      idle_ = false;
      continue;
    }
    form_batch();
    if (batch_.empty()) {
      asleep_ = true;
      idle_ = true;
      rung_ = false;
      if (!arrivals_.empty()) {
        wake_target = arrivals_.top().ready;
        // Woken early by a push: the target is not reached yet.
        if (!doorbell_->acquire_timeout(std::max(0.0, wake_target - s4u::Engine::get_clock()))) wake_target = 0;
      } else {
        wake_target = 0;
        doorbell_->acquire();
      }
      idle_ = false;
      continue;
    }
    wake_target = 0;
    const double start = s4u::Engine::get_clock();
    const double duration = iteration_time_(batch_, start - last_end_);
    if (duration > 0) {
      if (execute_)
        execute_(duration);
      else
        s4u::this_actor::execute(duration);  // the server host runs at 1 flop/s
    }
    const double end = s4u::Engine::get_clock();
    last_end_ = end;
    stats_.busy += duration;
    stats_.iterations += 1;
    stats_.items += static_cast<int64_t>(batch_.size());
    stats_.largest_batch = std::max<int64_t>(stats_.largest_batch, static_cast<int64_t>(batch_.size()));
    for (const auto& it : batch_) done_(it, start, end);
  }
}

}  // namespace splitsim
