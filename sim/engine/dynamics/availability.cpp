#include "sim/engine/dynamics/availability.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

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

namespace {

constexpr std::int64_t kMaxTraceClient = 1'000'000'000;
constexpr std::uintmax_t kMaxTraceBytes = std::uintmax_t{1} << 30;

bool parse_double(std::string_view text, double& out) {
  const auto* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, out);
  return r.ec == std::errc() && r.ptr == end;
}

}  // namespace

TraceAvailability load_availability_trace(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw TraceError(path + ": cannot read the trace: " + ec.message());
  if (size > kMaxTraceBytes) throw TraceError(path + ": the trace is larger than 1 GiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TraceError(path + ": cannot open the trace");
  std::vector<std::pair<std::int64_t, TraceAvailability::Interval>> rows;
  std::string line;
  std::int64_t number = 0;
  const auto fail = [&](const std::string& why) { throw TraceError(path + ":" + std::to_string(number) + ": " + why); };
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1) {
      if (line != "client,start_s,end_s") fail("the header must be \"client,start_s,end_s\"");
      continue;
    }
    if (line.empty()) continue;
    std::string_view rest(line);
    std::string_view field[3];
    for (int f = 0; f < 3; ++f) {
      const auto comma = rest.find(',');
      if ((f < 2) != (comma != std::string_view::npos)) fail("a row has three fields: client,start_s,end_s");
      field[f] = rest.substr(0, comma);
      rest = f < 2 ? rest.substr(comma + 1) : std::string_view();
    }
    std::int64_t client = -1;
    const auto r = std::from_chars(field[0].data(), field[0].data() + field[0].size(), client);
    if (r.ec != std::errc() || r.ptr != field[0].data() + field[0].size() || client < 0 || client >= kMaxTraceClient)
      fail("the client '" + std::string(field[0]) + "' is not an integer in [0, 10^9)");
    double start = 0, end = 0;
    if (!parse_double(field[1], start) || !std::isfinite(start) || start < 0)
      fail("start_s '" + std::string(field[1]) + "' is not a finite number of seconds >= 0");
    if (!parse_double(field[2], end) || !std::isfinite(end) || end < 0)
      fail("end_s '" + std::string(field[2]) + "' is not a finite number of seconds >= 0");
    if (end <= start) fail("the interval ends (" + std::string(field[2]) + ") at or before it starts");
    rows.push_back({client, {start, end}});
  }
  if (number == 0) throw TraceError(path + ": the trace is empty (it needs the header client,start_s,end_s)");
  if (rows.empty()) throw TraceError(path + ": the trace has no interval");
  return TraceAvailability(std::move(rows));
}

}  // namespace dtsim::engine
