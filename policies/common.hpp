// Shared vocabulary of the policy families. Policies never see SimGrid or the Backend: they get plain
// values (ids, sample counts, parameter vectors) so their tests run in microseconds.
#pragma once

#include <cstdint>
#include <span>
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

// What an aggregation rule asks of the clients' local training (shared/reference/POLICIES.md §7).
// FedAvg needs none of these; FedProx sets proximal_mu, SCAFFOLD control_variates, and so on.
struct LocalTrainingHooks {
  double proximal_mu = 0.0;        // μ of the proximal term (μ/2)‖w − x_t‖² (FedProx)
  bool control_variates = false;   // clients need c and c_i (SCAFFOLD)
  bool needs_start_model = false;  // the update must carry the model version it started from (async)
};

// One client's result of local training, as the server receives it.
struct ClientUpdate {
  ClientId client;
  std::span<const float> params;   // y_k, the client's model after local training (d values)
  double samples = 0;              // n_k, the client's training-sample count (weight of FedAvg)
  std::int64_t local_steps = 0;    // τ_k, SGD steps taken
  std::int64_t start_version = 0;  // the global model version (round) the client started from
  double bytes_up = 0;             // bytes the client sent
};

// Round-level context handed to policies.
struct RoundContext {
  std::int64_t round = 1;          // counts from 1
  std::int64_t model_version = 0;  // version of the global model before this aggregation
  double sim_time_s = 0;           // simulated time now
};

}  // namespace dtsim::policies
