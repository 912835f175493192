// Exact max-min sharing on the star (see star_network.hpp): processor-sharing access links under a backbone
// water level, advanced from event to event.
//
// Water filling: with demand D (B for a SHARED link, n B for a FATPIPE one) and weight n / penalty per active
// link, the backbone binds when the demands sum beyond its capacity C. Then the links are walked by their
// threshold D penalty / n (the level at which the link caps itself): a link below the running level
// (C - fixed demand) / (remaining weight) is self-limited and fixes its demand; the first one above it sets
// lambda for itself and all later ones. This is the order in which SimGrid's progressive filling saturates
// the same constraints.
#include "sim/star_network.hpp"

#include <algorithm>
#include <cmath>

namespace splitsim {

namespace {
// Two keys this close are the same instant (a few ulps of the clock): float noise, not a later event.
double tolerance(double x) { return 1e-14 * std::max(1.0, std::abs(x)); }
}  // namespace

int32_t StarNetwork::add_link(double bandwidth, double penalty, bool fatpipe) {
  Link l;
  l.bandwidth = bandwidth;
  l.penalty = penalty > 0 ? penalty : 1.0;  // a zero route latency shares equally, as any common weight does
  l.fatpipe = fatpipe;
  links_.push_back(std::move(l));
  return static_cast<int32_t>(links_.size() - 1);
}

void StarNetwork::add_flow(double start, int32_t link, double bytes, uint64_t tag, double issued) {
  starts_.push({std::max(start, now_), seq_++, link, bytes, tag, issued});
}

double StarNetwork::service(const Link& l) const {
  if (l.n == 0) return l.s;
  if (l.bb) return l.s + (level_sum_ - l.l0) / l.penalty;
  const double rate = l.fatpipe ? l.bandwidth : l.bandwidth / static_cast<double>(l.n);
  return l.s + rate * (now_ - l.t0);
}

void StarNetwork::settle(int32_t i) {
  Link& l = links_[static_cast<size_t>(i)];
  l.s = service(l);
  l.t0 = now_;
  l.l0 = level_sum_;
}

void StarNetwork::rekey(int32_t i) {
  Link& l = links_[static_cast<size_t>(i)];
  ++l.version;
  if (l.n == 0) return;
  const double left = std::max(0.0, l.targets.top().at - l.s);
  if (l.bb) {
    bb_keys_.push({l.l0 + left * l.penalty, i, l.version});
  } else {
    const double rate = l.fatpipe ? l.bandwidth : l.bandwidth / static_cast<double>(l.n);
    // A link that is down (a traced outage) completes nothing until set_bandwidth brings it back.
    self_keys_.push({rate > 0 ? l.t0 + left / rate : kNever, i, l.version});
  }
}

void StarNetwork::advance_level(double t) {
  if (std::isfinite(level_)) level_sum_ += level_ * (t - now_);
  now_ = std::max(now_, t);
}

void StarNetwork::file(int32_t i) {
  Link& l = links_[static_cast<size_t>(i)];
  l.filed = l.threshold();
  auto [it, fresh] = order_.try_emplace(l.filed, -1);
  l.prev = -1;
  l.next = it->second;
  if (l.next >= 0) links_[static_cast<size_t>(l.next)].prev = i;
  it->second = i;
}

void StarNetwork::unfile(int32_t i) {
  Link& l = links_[static_cast<size_t>(i)];
  if (l.prev >= 0) {
    links_[static_cast<size_t>(l.prev)].next = l.next;
  } else {
    auto it = order_.find(l.filed);
    if (l.next >= 0)
      it->second = l.next;
    else
      order_.erase(it);
  }
  if (l.next >= 0) links_[static_cast<size_t>(l.next)].prev = l.prev;
  l.prev = l.next = -1;
}

void StarNetwork::resolve(const std::vector<int32_t>& changed) {
  if (!std::isfinite(capacity_)) return;
  const bool binds = demand_sum_ > capacity_ * (1 + 1e-12);
  auto make = [&](int32_t i, bool bb) {
    Link& l = links_[static_cast<size_t>(i)];
    if (l.bb == bb) return;
    settle(i);
    l.bb = bb;
    rekey(i);
  };
  if (!binds) {
    if (std::isfinite(level_)) {  // the backbone stops binding: every link is self-limited again
      for_each_filed([&](int32_t i) { make(i, false); });
      level_ = kNever;
      level_sum_ = 0;
    }
    return;
  }
  // The backbone weight of all active flows, exact from the per-penalty counts (no drift from +/-).
  double fixed = 0, weight = 0;
  for (const auto& [penalty, n] : flows_by_penalty_) weight += static_cast<double>(n) / penalty;
  double level = 0;
  // Walk the links by threshold to the first one above the running level: (b, cur) is where it stops.
  auto b = order_.begin();
  int32_t cur = -1;
  bool stopped = false;
  while (b != order_.end()) {
    for (cur = b->second; cur >= 0; cur = links_[static_cast<size_t>(cur)].next) {
      level = (capacity_ - fixed) / weight;
      if (b->first > level) {
        stopped = true;
        break;
      }
      const Link& l = links_[static_cast<size_t>(cur)];
      fixed += l.demand();
      weight -= static_cast<double>(l.n) / l.penalty;
    }
    if (stopped) break;
    ++b;
  }
  if (!stopped) {  // every link caps itself below the backbone (float edge case of the test above)
    for_each_filed([&](int32_t i) { make(i, false); });
    level_ = kNever;
    level_sum_ = 0;
    return;
  }
  for (auto j = order_.begin(); j != b; ++j)
    for (int32_t i = j->second; i >= 0; i = links_[static_cast<size_t>(i)].next) make(i, false);
  for (int32_t i = b->second; i != cur; i = links_[static_cast<size_t>(i)].next) make(i, false);
  // A new level changes the rates of all backbone-limited links at once without touching them: their keys
  // are in level-sum units. Only links that cross the boundary move: the others' thresholds did not change,
  // so the links that were self-limited and are no longer follow the boundary contiguously (a changed link
  // may sit among them and is set apart below).
  level_ = level;
  auto is_changed = [&](int32_t i) { return std::binary_search(changed.begin(), changed.end(), i); };
  for (bool done = false; b != order_.end() && !done;) {
    for (; cur >= 0; cur = links_[static_cast<size_t>(cur)].next) {
      if (links_[static_cast<size_t>(cur)].bb && !is_changed(cur)) {
        done = true;
        break;
      }
      make(cur, true);
    }
    if (!done && ++b != order_.end()) cur = b->second;
  }
  for (int32_t i : changed) {
    const Link& l = links_[static_cast<size_t>(i)];
    if (l.n > 0) make(i, l.threshold() > level);
  }
}

void StarNetwork::set_bandwidth(double t, int32_t i, double bandwidth) {
  advance_level(t);
  Link& l = links_[static_cast<size_t>(i)];
  settle(i);
  const bool tracked = std::isfinite(capacity_) && l.n > 0;
  if (tracked) unfile(i);
  if (l.n > 0) demand_sum_ -= l.demand();
  l.bandwidth = bandwidth;
  if (l.n > 0) demand_sum_ += l.demand();
  if (tracked) file(i);
  changed_.assign(1, i);
  const std::vector<int32_t> one = changed_;
  resolve(one);
  settle(i);
  rekey(i);
}

double StarNetwork::next_event() {
  auto clean = [&](auto& heap) {
    while (!heap.empty()) {
      const Key& k = heap.top();
      if (k.version == links_[static_cast<size_t>(k.link)].version) break;
      heap.pop();
    }
  };
  clean(self_keys_);
  clean(bb_keys_);
  double t = kNever;
  trigger_ = 0;
  if (!starts_.empty()) t = starts_.top().at;
  if (!self_keys_.empty() && self_keys_.top().at < t) t = self_keys_.top().at, trigger_ = 1;
  if (!bb_keys_.empty() && std::isfinite(level_)) {
    const double at = now_ + std::max(0.0, bb_keys_.top().at - level_sum_) / level_;
    if (at < t) t = at, trigger_ = 2;
  }
  return std::max(t, now_);
}

double StarNetwork::step(std::vector<Done>& completed) {
  const double t = next_event();  // sets trigger_
  if (!std::isfinite(t)) return t;
  advance_level(t);
  std::vector<int32_t>& changed = changed_;
  changed.clear();
  auto touch = [&](int32_t i, int64_t dn, double bytes, uint64_t tag, double issued) {
    Link& l = links_[static_cast<size_t>(i)];
    if (std::isfinite(capacity_) && l.n > 0) unfile(i);
    if (l.n > 0) demand_sum_ -= l.demand();
    if (std::isfinite(capacity_) && (flows_by_penalty_[l.penalty] += dn) == 0) flows_by_penalty_.erase(l.penalty);
    if (dn > 0) {
      if (l.n == 0) l.s = 0, l.t0 = now_, l.l0 = level_sum_, l.bb = false;
      l.targets.push({l.s + bytes, tag, issued});
    }
    l.n += dn;
    active_ += dn;
    if (l.n > 0) {
      demand_sum_ += l.demand();
      if (std::isfinite(capacity_)) file(i);
    } else {
      l.bb = false;
    }
    changed.push_back(i);
  };
  // Completions first (they ran at the old rates up to now), then the starts, then one water filling.
  // The key that set t completes even when float rounding leaves it a hair ahead of the clock.
  auto complete = [&](auto& heap, bool bb) {
    bool force = trigger_ == (bb ? 2 : 1);
    while (!heap.empty()) {
      const Key k = heap.top();
      Link& l = links_[static_cast<size_t>(k.link)];
      if (k.version != l.version) {
        heap.pop();
        continue;
      }
      // Both heaps group keys by the clock's noise. A level sum restarts at 0 whenever the backbone begins to
      // bind, so late in a run its own ulps are far finer than the clock's ulps it integrates (level x ulp(now)):
      // two flows that end together (in SimGrid: one event, their server items in device order) would
      // otherwise complete a step, a few ulps, apart, and the server would take them in the other order.
      const double at = bb ? level_sum_ : now_;
      const double tol = bb ? std::max(tolerance(level_sum_), level_ * tolerance(now_)) : tolerance(now_);
      if (!force && !(k.at <= at + tol)) break;
      force = false;
      heap.pop();
      settle(k.link);
      // The flow whose key this is completes now; so does any other flow of the link with the same target.
      const double top = l.targets.top().at;
      int64_t done = 0;
      while (!l.targets.empty() && l.targets.top().at <= std::max(l.s, top) + tolerance(top)) {
        completed.push_back({l.targets.top().tag, l.targets.top().issued});
        l.targets.pop();
        ++done;
      }
      l.s = std::max(l.s, top);
      touch(k.link, -done, 0, 0, 0);
      ++l.version;  // re-keyed below
    }
  };
  complete(self_keys_, false);
  if (std::isfinite(level_)) complete(bb_keys_, true);
  while (!starts_.empty() && starts_.top().at <= now_) {
    const Start s = starts_.top();
    starts_.pop();
    settle(s.link);
    touch(s.link, 1, s.bytes, s.tag, s.issued);
  }
  if (active_ == 0) demand_sum_ = 0;  // no drift carried across idle periods
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  resolve(changed);
  for (int32_t i : changed) {
    settle(i);
    rekey(i);
  }
  return t;
}

}  // namespace splitsim
