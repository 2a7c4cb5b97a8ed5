// Exact max-min sharing of one link by many flows, the way SimGrid 3.32's CM02 network model shares it
// (issue "Scale"; shared/reference/SIMGRID.md §4.6) — pure arithmetic, no SimGrid. It is what a star's
// server link does under `network_model: analytic` (CM02, no cross-traffic, no TCP window cap), when the
// clients can saturate it: SimGrid re-solves every flow crossing it at each of the ~4N events of a round,
// O(N) or worse each; this does the same sharing in O(log N) per event.
//
// The model, from SimGrid's sources (src/surf/network_cm02.cpp, src/kernel/lmm/maxmin.cpp): a flow first
// waits out its route's latency, carrying nothing; then, on the shared link of capacity C, flow i gets
//   rate_i = min(cap_i, λ · w_i),   with λ (the water level) such that Σ rate_i = C, or λ = ∞ when every
// flow's cap fits; cap_i is the route's smallest bandwidth (the variable's bound; the flow's own access link
// is no tighter), w_i = 1 / the route's latency (its sharing penalty; 1 when the latency is 0).
//
// How (bytes, seconds): the flows' classes are sorted once by θ = cap / w; a flow is capped exactly when
// θ ≤ λ. Fenwick trees over that order hold the active flows' caps, weights and count, so λ is one descent:
// the capped flows are the longest prefix q with Σ_{≤q} cap + θ_q · Σ_{>q} w ≤ C (that sum grows with q).
// A capped flow finishes at a real time (now + bytes left / cap); a shared one at a virtual time in
// U(t) = ∫ λ dt (U + bytes left / w), so a change of λ moves every shared flow at once without touching
// them. Only the flows whose θ lies between the old and the new λ change side when λ moves.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <utility>
#include <vector>

namespace dtsim::engine::actors {

// What SimGrid derives from a flow's route.
struct FlowClass {
  double cap_bytes_per_s = 0;  // the route's smallest bandwidth: > 0
  double weight = 1;           // 1 / sharing penalty: 1 / the route's latency (s), or 1 when it is 0
};

class SharedLinkSchedule {
 public:
  using FlowId = std::int64_t;
  static constexpr double kNever = std::numeric_limits<double>::infinity();

  // `capacity` in bytes/s (> 0); `classes` are the flows' possible classes (a star's clients).
  SharedLinkSchedule(double capacity_bytes_per_s, const std::vector<FlowClass>& classes);

  // Each of these first processes every event up to `now` (simulated seconds, never decreasing).
  // A flow of class `cls` carrying `bytes` from `now`, after `latency_s` carrying nothing.
  FlowId start(std::size_t cls, double bytes, double latency_s, double now);
  // Bytes it has left (all of them in its latency phase); 0 once finished.
  double remaining(FlowId flow, double now);
  // Takes a flow that has not finished out of the sharing (a cancelled transfer).
  void cancel(FlowId flow, double now);
  // Gives a flow that has not finished another class from now on (its cap changed: a bandwidth profile).
  void change_class(FlowId flow, std::size_t cls, double now);
  void advance(double now);

  // Events this close after `now` are due at `now`: a sleep to an event's time ends within an ulp or so
  // of it, and an event left a few ulps ahead would otherwise be slept for again and again (45 ulps, far
  // below any stage time's 1e-9).
  static double due_by(double now);

  // The time of the next event (a latency phase ending, a flow finishing), or kNever.
  double next_event_s() const;
  // Whether the next event is a flow finishing (else a latency phase ending, which advance() takes first
  // on a tie).
  bool next_is_finish() const { return next_latency_end() > std::min(next_capped_end(), next_shared_end()); }
  // The flows that finished since the last call, in the order they finished.
  std::vector<FlowId> take_finished();
  // Active flows (past their latency phase).
  std::size_t active_flows() const { return active_.size(); }

 private:
  enum class Phase { latency, capped, shared, done };
  struct Flow {
    std::size_t rank = 0;  // the class's position in θ order, 1-based (Fenwick index)
    double cap = 0, weight = 1;
    double bytes = 0;  // in the latency phase: all of them
    double key = 0;    // latency: when it ends; capped: real finish time; shared: virtual finish in U
    // Bytes left at `ref` (capped: a real time, shared: a virtual one) when it was last placed: what is
    // left later is computed from these, not from `key` (key − now cancels catastrophically for a fast flow).
    double ref = 0, left = 0;
    Phase phase = Phase::done;
  };
  using Keyed = std::pair<double, FlowId>;

  // The earliest pending event and its kind, or kNever.
  double next_latency_end() const { return latency_.empty() ? kNever : latency_.begin()->first; }
  double next_capped_end() const { return capped_.empty() ? kNever : capped_.begin()->first; }
  double next_shared_end() const;
  void move_clock(double t);
  void activate(FlowId id);
  void finish(FlowId id);
  void unlink(FlowId id);  // out of every structure, its class's sums included
  // Puts an active flow on the side of the current level, with `left` bytes to carry from now.
  void place(FlowId id, double left);
  double left_of(const Flow& f) const;
  void relevel();  // recomputes λ and moves the flows that change side
  void fenwick_add(std::size_t rank, double cap, double weight, std::int64_t count);

  double capacity_;
  std::vector<FlowClass> classes_;
  std::vector<std::size_t> rank_of_class_;  // class → 1-based position in θ order
  std::vector<double> theta_;               // position → θ (index 0 unused)
  std::vector<double> cap_tree_, weight_tree_;
  std::vector<std::int64_t> count_tree_;
  double total_cap_ = 0, total_weight_ = 0;
  std::size_t top_bit_ = 1;

  std::vector<Flow> flows_;
  std::vector<FlowId> free_;
  std::set<Keyed> latency_, capped_, shared_;
  std::set<std::pair<std::size_t, FlowId>> active_;  // (rank, id): in θ order
  std::vector<FlowId> finished_;

  double now_ = 0;      // the time the state is at
  double virtual_ = 0;  // U(now_)
  double level_ = kNever;
  std::size_t boundary_ = 0;  // flows of rank ≤ boundary_ are capped
};

}  // namespace dtsim::engine::actors
