// The paradigms, by "<training.paradigm>_<training.mode>": one line per protocol.
#include "sim/engine/paradigms/paradigm.hpp"

namespace dtsim::engine {

std::unique_ptr<Paradigm> make_federated_sync();

const ParadigmRegistry& paradigm_registry() {
  static const ParadigmRegistry registry(
      "paradigm",
      {
          {"federated_sync",
           "synchronous federated rounds: select, train, collect the first K (deadline, over-selection), aggregate",
           {},
           make_federated_sync},
      });
  return registry;
}

}  // namespace dtsim::engine
