// When clients are online (dynamics.availability; DESIGN "Dynamics": available(id, t), next_off(id, t)).
// Answered lazily per client, never from a population-sized table: a Markov on/off process drawn from
// the client's own keyed stream, or the online intervals of a trace. Both are oracles for the scheduler
// (policies::AvailabilityOracle) and tell a task when its client goes offline.
//
// Times are simulated seconds. A client is online on [start, end) of each of its online periods.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <unordered_map>
#include <vector>

#include "policies/scheduling/scheduling.hpp"
#include "sim/common/rng.hpp"
#include "sim/scenario/traces.hpp"

namespace dtsim::engine {

class Availability : public policies::AvailabilityOracle {
 public:
  // The end of the online period that holds t_s; t_s itself when the client is offline at t_s.
  virtual double online_until(ClientId client, double t_s) const = 0;
  // The end of the offline period that holds t_s (+inf when it never comes back); t_s when online.
  virtual double offline_until(ClientId client, double t_s) const = 0;
};

// Exponential on and off periods of means mean_on_s and mean_off_s (an alternating renewal process),
// started at t = 0 in its stationary state: online with probability mean_on / (mean_on + mean_off),
// and — the exponential being memoryless — the first period's remainder exponential with its state's
// mean. So P(online at t) = mean_on / (mean_on + mean_off) at every t. Client c draws from
// Rng(seed, "dynamics.availability", c) in period order: the initial state, then each period's length.
//
// A cursor per client asked about (the period it was last asked about) makes queries in increasing time
// O(1) amortised; a query before a client's cursor replays its periods from t = 0. The cursors are a cache:
// every answer is a function of (seed, client, t) alone, so a resumed run answers alike.
class MarkovAvailability final : public Availability {
 public:
  MarkovAvailability(std::uint64_t seed, double mean_on_s, double mean_off_s);
  bool available(ClientId client, double t_s) const override;
  double online_until(ClientId client, double t_s) const override;
  double offline_until(ClientId client, double t_s) const override;
  double on_fraction() const { return mean_on_s_ / (mean_on_s_ + mean_off_s_); }
  // Bytes a cursor costs (for the memory estimate).
  static constexpr double kBytesPerCursor = 96;

 private:
  struct Cursor {
    Rng rng;
    double start_s = 0, end_s = 0;  // the period [start, end)
    bool online = false;
  };
  const Cursor& period_at(ClientId client, double t_s) const;
  Cursor first_period(ClientId client) const;

  std::uint64_t seed_;
  double mean_on_s_, mean_off_s_;
  mutable std::unordered_map<std::int32_t, Cursor> cursors_;  // only the coordinator actor asks
};

// The online intervals of a trace (CSV "client,start_s,end_s"): trace clients 0..M−1, M = the largest
// id + 1; client i follows trace client i mod M, so a small trace serves any population (a trace client
// without a row is never online). Overlapping or touching intervals of one client are merged.
class TraceAvailability final : public Availability {
 public:
  struct Interval {
    double start_s = 0, end_s = 0;
  };
  // Intervals by trace client id (any order, ids >= 0).
  explicit TraceAvailability(std::vector<std::pair<std::int64_t, Interval>> rows);
  bool available(ClientId client, double t_s) const override;
  double online_until(ClientId client, double t_s) const override;
  double offline_until(ClientId client, double t_s) const override;
  std::int64_t trace_clients() const { return modulus_; }  // M
  std::int64_t intervals() const { return static_cast<std::int64_t>(intervals_.size()); }

 private:
  // The owner's intervals [begin, end) and, within them, the first one starting after t_s.
  struct Around {
    const Interval *begin, *end, *after;
  };
  Around around(ClientId client, double t_s) const;
  // The interval holding t_s, or nullptr.
  const Interval* holding(ClientId client, double t_s) const;
  // Sorted by (trace client, start), merged: memory in the trace's rows, whatever its ids.
  std::vector<std::int64_t> owners_;
  std::vector<Interval> intervals_;
  std::int64_t modulus_ = 1;
};

// Reads a trace file (sim/scenario/traces.hpp's reader). Throws TraceError naming the file and line of the
// first problem: besides the reader's, a client id not an integer in [0, 10^9), a time not a finite number
// >= 0, an interval with end <= start; or a file with no row.
TraceAvailability load_availability_trace(const std::string& path);

}  // namespace dtsim::engine
