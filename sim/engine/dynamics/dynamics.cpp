#include "sim/engine/dynamics/dynamics.hpp"

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

}  // namespace dtsim::engine
