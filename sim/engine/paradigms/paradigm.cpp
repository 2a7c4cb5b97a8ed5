#include "sim/engine/paradigms/paradigm.hpp"

#include <exception>
#include <simgrid/s4u.hpp>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

std::string paradigm_name(ParadigmKind paradigm, TrainingMode mode) {
  return std::string(to_string(paradigm)) + "_" + to_string(mode);
}

ParadigmOutcome Paradigm::run(RunContext& context) {
  ParadigmOutcome outcome;
  // An exception must not escape an actor (SimGrid would abort): keep it, end the simulation, rethrow.
  std::exception_ptr failure;
  sg4::Actor::create("coordinator", context.platform.coordinator(), [this, &context, &outcome, &failure] {
    try {
      do_coordinate(context, outcome);
    } catch (...) {
      failure = std::current_exception();
      sg4::Actor::kill_all();  // the participants still in flight have nothing left to do
    }
  });
  sg4::Engine::get_instance()->run();
  if (failure) std::rethrow_exception(failure);
  return outcome;
}

}  // namespace dtsim::engine
