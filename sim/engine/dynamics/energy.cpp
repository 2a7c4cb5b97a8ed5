#include "sim/engine/dynamics/energy.hpp"

#include <algorithm>

namespace dtsim::engine {

double participant_energy_j(const actors::TaskOutcome& t, double round_start_s, const HostPower& power) {
  // The last moment the client worked: its upload's end, else where it was stopped, else its start.
  const double end = t.upload_end_s ? *t.upload_end_s : t.stopped_s ? *t.stopped_s : t.start_s;
  // It computed from its download's end to its computation's end, or to where it was stopped then.
  double compute = 0;
  if (t.download_end_s) {
    const double until = t.compute_end_s ? *t.compute_end_s : t.stopped_s ? *t.stopped_s : *t.download_end_s;
    compute = std::max(0.0, until - *t.download_end_s);
  }
  const double span = std::max(0.0, end - round_start_s);
  return power.busy_w * compute + power.idle_w * std::max(0.0, span - compute);
}

}  // namespace dtsim::engine
