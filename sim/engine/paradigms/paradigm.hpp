// The paradigm seam (DESIGN "Paradigm"): a training protocol played on the platform. Non-virtual
// interface: run() spawns the coordinator actor on the platform's coordinator host, runs SimGrid's
// engine to the end and rethrows what any actor threw; each paradigm implements only its protocol, in
// do_coordinate(), built from the shared actors (actors/task.hpp, actors/collector.hpp), which are the
// only code that issues SimGrid activities for participants.
//
// A "round" is one server aggregation attempt — one new global model version — in every paradigm: a
// federated round, a buffer flush, a data-parallel or expert-parallel step.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/workload.hpp"
#include "policies/aggregation/aggregation.hpp"
#include "policies/scheduling/scheduling.hpp"
#include "sim/common/memory_part.hpp"
#include "sim/common/registry.hpp"
#include "sim/engine/dynamics/dynamics.hpp"
#include "sim/engine/learning/learner.hpp"
#include "sim/engine/observer.hpp"
#include "sim/engine/platform/platform.hpp"
#include "sim/scenario/scenario.hpp"

namespace dtsim::engine {

struct PolicySet {
  policies::AggregationPolicy& aggregation;
  policies::SchedulingPolicy& scheduling;
};

class Checkpointer;
struct Checkpoint;

// Everything a paradigm plays with; it owns none of it.
struct RunContext {
  const Scenario& scenario;
  Platform& platform;
  const Dynamics& dynamics;
  const models::Workload& workload;
  PolicySet policies;
  Learner& learner;
  RunObserver& observer;
  const std::atomic<bool>& stop_requested;  // checked between rounds (SIGINT/SIGTERM)
  Checkpointer* checkpointer = nullptr;      // hand it the paradigm's state after each round; null: none
  const Checkpoint* resume = nullptr;        // continue after this checkpoint (its "paradigm" section)
};

struct ParadigmOutcome {
  std::int64_t rounds_completed = 0;
  double final_sim_time_s = 0;
  std::optional<double> final_test_accuracy;
  std::optional<std::int64_t> final_test_round;
  bool diverged = false;
  std::string divergence;  // why, when diverged
  bool interrupted = false;
};

class Paradigm {
 public:
  virtual ~Paradigm() = default;
  // Requires a live SimGrid engine holding the platform. Call once per process.
  ParadigmOutcome run(RunContext& context);

  // The keys under training.* this protocol reads (a scenario setting any other built one is refused).
  virtual std::vector<std::string> training_keys() const = 0;
  // Modelled memory the protocol holds while it runs (its round state, its actors).
  virtual std::vector<MemoryPart> memory(const Scenario& scenario) const = 0;
  // Whether a checkpoint of this protocol resumes to the very bytes of an uninterrupted run (a paradigm
  // that cannot refuses --resume).
  virtual bool can_resume() const = 0;

 private:
  // The protocol; runs inside the coordinator actor, so it may block on simulated time.
  virtual void do_coordinate(RunContext& context, ParadigmOutcome& outcome) = 0;
};

// Paradigms by "<training.paradigm>_<training.mode>" (federated_sync, later federated_async, ...).
using ParadigmRegistry = Registry<std::unique_ptr<Paradigm>()>;
const ParadigmRegistry& paradigm_registry();
std::string paradigm_name(ParadigmKind paradigm, TrainingMode mode);

}  // namespace dtsim::engine
