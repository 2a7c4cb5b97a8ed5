// Shared vocabulary of the policy families. Policies never see SimGrid or a model: they get plain values
// (ids, sample counts, steps) and, for aggregation, parameter vectors in Backend memory, so their tests
// run in microseconds.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "sim/common/build_context.hpp"
#include "sim/common/client_status.hpp"
#include "sim/common/ids.hpp"
#include "sim/common/registry.hpp"

namespace dtsim {
class Params;
}

namespace dtsim::policies {

using dtsim::BuildContext;
using dtsim::ClientId;  // a client of the federated population, 0 <= value < population
using dtsim::ClientStatus;

// A policy was handed inputs that break its contract, or produced an invalid result.
class PolicyError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Round-level context handed to policies.
struct RoundContext {
  std::int64_t round = 1;          // counts from 1
  std::int64_t model_version = 0;  // version of the global model before this aggregation
  double sim_time_s = 0;           // simulated time now
};

}  // namespace dtsim::policies
