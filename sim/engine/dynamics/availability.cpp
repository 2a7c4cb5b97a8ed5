#include "sim/engine/dynamics/availability.hpp"

#include <algorithm>
#include <limits>

namespace dtsim::engine {

// ---- Markov ----

MarkovAvailability::MarkovAvailability(std::uint64_t seed, double mean_on_s, double mean_off_s)
    : seed_(seed), mean_on_s_(mean_on_s), mean_off_s_(mean_off_s) {}

MarkovAvailability::Cursor MarkovAvailability::first_period(ClientId client) const {
  Cursor c{Rng(seed_, "dynamics.availability", client.value)};
  c.online = c.rng.uniform() < on_fraction();
  c.start_s = 0;
  c.end_s = c.rng.exponential(1.0 / (c.online ? mean_on_s_ : mean_off_s_));
  return c;
}

const MarkovAvailability::Cursor& MarkovAvailability::period_at(ClientId client, double t_s) const {
  auto it = cursors_.find(client.value);
  if (it == cursors_.end() || t_s < it->second.start_s)
    it = cursors_.insert_or_assign(client.value, first_period(client)).first;
  Cursor& c = it->second;
  while (t_s >= c.end_s) {
    c.online = !c.online;
    c.start_s = c.end_s;
    c.end_s = c.start_s + c.rng.exponential(1.0 / (c.online ? mean_on_s_ : mean_off_s_));
  }
  return c;
}

bool MarkovAvailability::available(ClientId client, double t_s) const { return period_at(client, t_s).online; }

double MarkovAvailability::online_until(ClientId client, double t_s) const {
  const Cursor& c = period_at(client, t_s);
  return c.online ? c.end_s : t_s;
}

double MarkovAvailability::offline_until(ClientId client, double t_s) const {
  const Cursor& c = period_at(client, t_s);
  return c.online ? t_s : c.end_s;
}

// ---- Trace ----

TraceAvailability::TraceAvailability(std::vector<std::pair<std::int64_t, Interval>> rows) {
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.start_s < b.second.start_s;
  });
  for (const auto& [owner, i] : rows) {
    if (!owners_.empty() && owners_.back() == owner && i.start_s <= intervals_.back().end_s) {
      intervals_.back().end_s = std::max(intervals_.back().end_s, i.end_s);
      continue;
    }
    owners_.push_back(owner);
    intervals_.push_back(i);
  }
  modulus_ = owners_.empty() ? 1 : owners_.back() + 1;
}

TraceAvailability::Around TraceAvailability::around(ClientId client, double t_s) const {
  const std::int64_t owner = client.value % modulus_;
  const auto first = std::lower_bound(owners_.begin(), owners_.end(), owner) - owners_.begin();
  const auto last = std::upper_bound(owners_.begin(), owners_.end(), owner) - owners_.begin();
  const Interval* begin = intervals_.data() + first;
  const Interval* end = intervals_.data() + last;
  const Interval* after = std::upper_bound(begin, end, t_s, [](double t, const Interval& i) { return t < i.start_s; });
  return {begin, end, after};
}

const TraceAvailability::Interval* TraceAvailability::holding(ClientId client, double t_s) const {
  const Around a = around(client, t_s);
  if (a.after == a.begin) return nullptr;
  const Interval* last_started = a.after - 1;  // the owner's last interval starting at or before t
  return t_s < last_started->end_s ? last_started : nullptr;
}

bool TraceAvailability::available(ClientId client, double t_s) const { return holding(client, t_s) != nullptr; }

double TraceAvailability::online_until(ClientId client, double t_s) const {
  const Interval* i = holding(client, t_s);
  return i ? i->end_s : t_s;
}

double TraceAvailability::offline_until(ClientId client, double t_s) const {
  if (holding(client, t_s)) return t_s;
  const Around a = around(client, t_s);
  return a.after == a.end ? std::numeric_limits<double>::infinity() : a.after->start_s;
}

TraceAvailability load_availability_trace(const std::string& path) {
  std::vector<std::pair<std::int64_t, TraceAvailability::Interval>> rows;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  read_trace_csv(path, {"client,start_s,end_s"}, [&](std::size_t, std::span<const std::string_view> f) {
    const std::int64_t client = trace_client(f[0]);
    const double start = trace_number(f[1], "start_s", 0, kInf, "a finite number of seconds >= 0");
    const double end = trace_number(f[2], "end_s", 0, kInf, "a finite number of seconds >= 0");
    if (end <= start) throw TraceError("the interval ends (" + std::string(f[2]) + ") at or before it starts");
    rows.push_back({client, {start, end}});
  });
  if (rows.empty()) throw TraceError(path + ": the trace has no interval");
  return TraceAvailability(std::move(rows));
}

}  // namespace dtsim::engine
