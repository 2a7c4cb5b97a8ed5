#include "sim/engine/actors/shared_link.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace dtsim::engine::actors {

double SharedLinkSchedule::due_by(double now) { return now + 1e-14 * std::max(1.0, std::abs(now)); }

SharedLinkSchedule::SharedLinkSchedule(double capacity_bytes_per_s, const std::vector<FlowClass>& classes)
    : capacity_(capacity_bytes_per_s) {
  if (!(capacity_ > 0)) throw std::invalid_argument("shared link: the capacity must be positive");
  const std::size_t n = classes.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  const auto theta = [&](std::size_t c) { return classes[c].cap_bytes_per_s / classes[c].weight; };
  for (const auto& c : classes)
    if (!(c.cap_bytes_per_s > 0) || !(c.weight > 0)) throw std::invalid_argument("shared link: caps and weights must be positive");
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return theta(a) < theta(b); });
  rank_of_class_.resize(n);
  theta_.assign(n + 1, 0);
  for (std::size_t p = 0; p < n; ++p) {
    rank_of_class_[order[p]] = p + 1;
    theta_[p + 1] = theta(order[p]);
  }
  cap_tree_.assign(n + 1, 0);
  weight_tree_.assign(n + 1, 0);
  count_tree_.assign(n + 1, 0);
  while (top_bit_ * 2 <= n) top_bit_ *= 2;
  boundary_ = n;
  classes_ = classes;
}

void SharedLinkSchedule::fenwick_add(std::size_t rank, double cap, double weight, std::int64_t count) {
  for (std::size_t i = rank; i < cap_tree_.size(); i += i & (~i + 1)) {
    cap_tree_[i] += cap;
    weight_tree_[i] += weight;
    count_tree_[i] += count;
  }
  total_cap_ += cap;
  total_weight_ += weight;
}

double SharedLinkSchedule::next_shared_end() const {
  if (shared_.empty()) return kNever;
  return now_ + std::max(0.0, shared_.begin()->first - virtual_) / level_;
}

double SharedLinkSchedule::next_event_s() const {
  return std::min({next_latency_end(), next_capped_end(), next_shared_end()});
}

void SharedLinkSchedule::move_clock(double t) {
  if (t <= now_) return;
  if (!shared_.empty()) virtual_ += level_ * (t - now_);
  now_ = t;
}

void SharedLinkSchedule::advance(double now) {
  for (;;) {
    const double latency_end = next_latency_end(), capped_end = next_capped_end(), shared_end = next_shared_end();
    const double next = std::min({latency_end, capped_end, shared_end});
    if (next > due_by(now)) break;
    move_clock(std::min(next, now));
    if (next == latency_end)
      activate(latency_.begin()->second);
    else if (next == capped_end)
      finish(capped_.begin()->second);
    else
      finish(shared_.begin()->second);
  }
  move_clock(now);
}

SharedLinkSchedule::FlowId SharedLinkSchedule::start(std::size_t cls, double bytes, double latency_s, double now) {
  advance(now);
  FlowId id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<FlowId>(flows_.size());
    flows_.emplace_back();
  }
  Flow& f = flows_[static_cast<std::size_t>(id)];
  f = Flow{};
  f.rank = rank_of_class_.at(cls);
  f.cap = classes_[cls].cap_bytes_per_s;
  f.weight = classes_[cls].weight;
  f.bytes = bytes;
  f.key = now + latency_s;
  f.phase = Phase::latency;
  if (latency_s > 0) {
    latency_.emplace(f.key, id);
  } else {
    activate(id);
  }
  return id;
}

void SharedLinkSchedule::activate(FlowId id) {
  Flow& f = flows_[static_cast<std::size_t>(id)];
  if (f.phase == Phase::latency) latency_.erase({f.key, id});
  if (!(f.bytes > 0)) {  // nothing to carry: done when its latency is
    f.phase = Phase::done;
    finished_.push_back(id);
    free_.push_back(id);
    return;
  }
  fenwick_add(f.rank, f.cap, f.weight, 1);
  active_.emplace(f.rank, id);
  place(id, f.bytes);
  relevel();
}

void SharedLinkSchedule::place(FlowId id, double left) {
  Flow& f = flows_[static_cast<std::size_t>(id)];
  f.left = left;
  if (f.rank <= boundary_) {
    f.phase = Phase::capped;
    f.ref = now_;
    f.key = now_ + left / f.cap;
    capped_.emplace(f.key, id);
  } else {
    f.phase = Phase::shared;
    f.ref = virtual_;
    f.key = virtual_ + left / f.weight;
    shared_.emplace(f.key, id);
  }
}

double SharedLinkSchedule::left_of(const Flow& f) const {
  switch (f.phase) {
    case Phase::latency:
      return f.bytes;
    case Phase::capped:
      return std::max(0.0, f.left - f.cap * (now_ - f.ref));
    case Phase::shared:
      return std::max(0.0, f.left - f.weight * (virtual_ - f.ref));
    default:
      return 0;
  }
}

void SharedLinkSchedule::unlink(FlowId id) {
  Flow& f = flows_[static_cast<std::size_t>(id)];
  switch (f.phase) {
    case Phase::latency:
      latency_.erase({f.key, id});
      break;
    case Phase::capped:
    case Phase::shared:
      (f.phase == Phase::capped ? capped_ : shared_).erase({f.key, id});
      active_.erase({f.rank, id});
      fenwick_add(f.rank, -f.cap, -f.weight, -1);
      break;
    default:
      break;
  }
  f.phase = Phase::done;
  free_.push_back(id);
  if (active_.empty()) {  // start the sums afresh: what the adds and subtracts left is rounding
    std::fill(cap_tree_.begin(), cap_tree_.end(), 0.0);
    std::fill(weight_tree_.begin(), weight_tree_.end(), 0.0);
    std::fill(count_tree_.begin(), count_tree_.end(), 0);
    total_cap_ = total_weight_ = 0;
  }
}

void SharedLinkSchedule::finish(FlowId id) {
  const bool active = flows_[static_cast<std::size_t>(id)].phase != Phase::latency;
  unlink(id);
  finished_.push_back(id);
  if (active) relevel();
}

void SharedLinkSchedule::relevel() {
  const std::size_t n = theta_.size() - 1;
  std::size_t q = n;
  double level = kNever;
  if (total_cap_ > capacity_ && !active_.empty()) {
    // The longest prefix of capped flows: Σ_{≤q} cap + θ_q · Σ_{>q} w ≤ C (non-decreasing in q).
    std::size_t pos = 0;
    double caps = 0, weights = 0;
    std::int64_t count = 0;
    for (std::size_t step = top_bit_; step > 0; step >>= 1) {
      const std::size_t next = pos + step;
      if (next > n) continue;
      const double c = caps + cap_tree_[next], w = weights + weight_tree_[next];
      if (c + theta_[next] * std::max(0.0, total_weight_ - w) <= capacity_) {
        pos = next;
        caps = c;
        weights = w;
        count += count_tree_[next];
      }
    }
    q = pos;
    if (count < static_cast<std::int64_t>(active_.size())) level = (capacity_ - caps) / (total_weight_ - weights);
  }
  const std::size_t old = boundary_;
  boundary_ = q;
  // The clock is at now_ (U advanced at the old level): only the flows between the old and the new
  // boundary can be on the wrong side.
  for (auto it = active_.lower_bound({std::min(q, old) + 1, 0}); it != active_.end() && it->first <= std::max(q, old);
       ++it) {
    Flow& f = flows_[static_cast<std::size_t>(it->second)];
    if ((f.phase == Phase::capped) == (it->first <= q)) continue;
    const double left = left_of(f);
    (f.phase == Phase::capped ? capped_ : shared_).erase({f.key, it->second});
    place(it->second, left);
  }
  level_ = level;
}

double SharedLinkSchedule::remaining(FlowId flow, double now) {
  advance(now);
  return left_of(flows_.at(static_cast<std::size_t>(flow)));
}

void SharedLinkSchedule::cancel(FlowId flow, double now) {
  advance(now);
  Flow& f = flows_.at(static_cast<std::size_t>(flow));
  if (f.phase == Phase::done) return;
  const bool active = f.phase != Phase::latency;
  unlink(flow);
  if (active) relevel();
}

void SharedLinkSchedule::change_class(FlowId flow, std::size_t cls, double now) {
  advance(now);
  Flow& f = flows_.at(static_cast<std::size_t>(flow));
  if (f.phase == Phase::done) return;
  const bool active = f.phase != Phase::latency;
  double left = 0;
  if (active) {  // out of the sums and the orders, then back in with the new class
    left = left_of(f);
    (f.phase == Phase::capped ? capped_ : shared_).erase({f.key, flow});
    active_.erase({f.rank, flow});
    fenwick_add(f.rank, -f.cap, -f.weight, -1);
  }
  f.rank = rank_of_class_.at(cls);
  f.cap = classes_[cls].cap_bytes_per_s;
  f.weight = classes_[cls].weight;
  if (active) {
    fenwick_add(f.rank, f.cap, f.weight, 1);
    active_.emplace(f.rank, flow);
    place(flow, left);
    relevel();
  }
}

std::vector<SharedLinkSchedule::FlowId> SharedLinkSchedule::take_finished() {
  std::vector<FlowId> out;
  out.swap(finished_);
  return out;
}

}  // namespace dtsim::engine::actors
