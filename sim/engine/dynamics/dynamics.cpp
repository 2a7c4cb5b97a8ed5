#include "sim/engine/dynamics/dynamics.hpp"

#include <simgrid/s4u.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>

namespace dtsim::engine {

Dynamics::Dynamics(const DynamicsSpec& spec, std::uint64_t seed, std::shared_ptr<const TraceAvailability> trace)
    : spec_(spec), seed_(seed) {
  switch (spec.availability) {
    case AvailabilityModel::always:
      break;
    case AvailabilityModel::markov:
      availability_ = std::make_shared<MarkovAvailability>(seed, spec.mean_on_s, spec.mean_off_s);
      break;
    case AvailabilityModel::trace:
      if (!trace) throw std::logic_error("Dynamics: availability from a trace, but no trace was loaded");
      availability_ = std::move(trace);
      break;
  }
}

bool Dynamics::slow_host(ClientId client) const {
  if (spec_.slow_fraction <= 0) return false;
  Rng rng(seed_, "dynamics.slow_host", client.value);
  return rng.uniform() < spec_.slow_fraction;
}

Slowdown Dynamics::slowdown(ClientId client, std::int64_t round) const {
  if (!slows()) return {};
  double factor = slow_host(client) ? spec_.slow_factor : 1.0;
  if (spec_.straggler) {
    Rng rng(seed_, "dynamics.straggler", client.value, round);
    factor *= spec_.straggler->draw_within(rng, kMinSlowdown, kMaxSlowdown);
  }
  Slowdown s;
  if (spec_.target != StragglerTarget::link) s.compute = factor;
  if (spec_.target != StragglerTarget::compute) s.link = factor;
  return s;
}

double Dynamics::online_until(ClientId client, double t_s) const {
  return availability_ ? availability_->online_until(client, t_s) : std::numeric_limits<double>::infinity();
}

std::optional<double> Dynamics::crash_point(ClientId client, std::int64_t round) const {
  if (spec_.crash_probability <= 0) return std::nullopt;
  Rng rng(seed_, "dynamics.crash", client.value, round);
  if (!(rng.uniform() < spec_.crash_probability)) return std::nullopt;
  return rng.uniform();
}

std::vector<bool> Dynamics::epoch_stragglers(std::int64_t round, std::size_t planned) const {
  std::vector<bool> straggles(planned, false);
  if (!spec_.epoch_straggler_fraction || planned == 0) return straggles;
  const double n = static_cast<double>(planned);
  // nearbyint in the default rounding mode rounds half to even; 10 × (1 − 0.9) = 0.99999999999999978 → 1.
  const auto on_time = static_cast<std::size_t>(std::nearbyint(n * (1 - *spec_.epoch_straggler_fraction)));
  // A partial Fisher-Yates shuffle of the plan's positions: its first `on_time` keep their full work.
  std::vector<std::size_t> order(planned);
  for (std::size_t i = 0; i < planned; ++i) order[i] = i;
  Rng rng(seed_, "dynamics.epoch_stragglers", round);
  for (std::size_t i = 0; i < on_time; ++i) std::swap(order[i], order[i + rng.below(planned - i)]);
  for (std::size_t i = on_time; i < planned; ++i) straggles[order[i]] = true;
  return straggles;
}

std::int64_t Dynamics::straggler_epochs(ClientId client, std::int64_t round, std::int64_t epochs) const {
  if (epochs <= 1) return epochs;
  Rng rng(seed_, "dynamics.straggler_epochs", client.value, round);
  return 1 + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(epochs - 1)));
}

std::vector<MemoryPart> dynamics_memory(const Scenario& s) {
  std::vector<MemoryPart> parts;
  if (!s.platform.clients.trace_rows.empty())
    parts.push_back({"traces", static_cast<double>(s.platform.clients.trace_rows.size() * sizeof(ClientTraceRow)),
                     "(platform.clients.trace's rows)", "platform.clients.trace"});
  const DynamicsSpec& d = s.dynamics;
  if (d.availability == AvailabilityModel::markov) {
    const double on = d.mean_on_s / (d.mean_on_s + d.mean_off_s);
    const double wanted = static_cast<double>(over_selected_count(s.training.over_selection, s.training.clients_per_round));
    const double cursors = std::min(static_cast<double>(s.platform.clients.count),
                                    static_cast<double>(s.training.rounds) * std::ceil(wanted / on));
    parts.push_back({"dynamics", cursors * MarkovAvailability::kBytesPerCursor,
                     "(availability cursors of " + std::to_string(static_cast<std::int64_t>(cursors)) + " clients)",
                     "dynamics.availability"});
  }
  if (d.availability == AvailabilityModel::trace) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(d.availability_trace, ec);
    if (!ec)
      parts.push_back({"dynamics", static_cast<double>(size) / 6 * 24, "(the availability trace's intervals)",
                       "dynamics.availability.trace"});
  }
  return parts;
}

void apply_dynamics(const Dynamics& dynamics, const Platform& platform, double t0, actors::TaskPlan& task) {
  const Slowdown slow = dynamics.slowdown(task.client, task.round);
  task.compute_slowdown = slow.compute;
  task.link_slowdown = slow.link;
  const std::optional<double> crash = dynamics.crash_point(task.client, task.round);
  if (crash) {
    const RouteInfo route = platform.route_of(task.client);
    const auto transfer_s = [&](double bytes) {
      return route.links == 0 ? 0.0 : route.latency_s + bytes * slow.link / route.bandwidth_bytes_per_s;
    };
    const double planned = transfer_s(task.bytes_down) +
                           task.flops * task.compute_scale * slow.compute / task.host->get_speed() +
                           transfer_s(task.bytes_up);
    task.fail_at_s = t0 + *crash * planned;
    task.fail_status = ClientStatus::crashed;
  }
  const double offline_at = dynamics.online_until(task.client, t0);
  if (!task.fail_at_s || offline_at < *task.fail_at_s) {
    if (std::isfinite(offline_at)) {
      task.fail_at_s = offline_at;
      task.fail_status = ClientStatus::unavailable;
    }
  }
}

}  // namespace dtsim::engine
