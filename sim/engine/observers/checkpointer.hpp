// Writes a checkpoint every training.checkpoint_every rounds (DESIGN "Checkpoints are observers"): the
// paradigm hands it its own state as bytes when a round has ended (its rows written); the checkpointer
// adds the learner's and the policies' state (Checkpointable), the CSV files' byte lengths (after an
// fsync), the exact simulated time and the wall time so far, and writes DIR/checkpoint/state.bin.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "sim/engine/learning/learner.hpp"
#include "sim/engine/observers/checkpoint.hpp"
#include "sim/engine/observers/csv_observer.hpp"
#include "sim/engine/paradigms/paradigm.hpp"

namespace dtsim::engine {

class Checkpointer {
 public:
  // every >= 1. wall_before_s: the wall time of earlier segments (a resumed run).
  Checkpointer(std::filesystem::path dir, std::int64_t every, CsvObserver& csv, const Learner& learner,
               const PolicySet& policies, double wall_before_s);

  // After round `round`, which ended at `sim_time_s`: saves when round is a multiple of `every`.
  void round_finished(std::int64_t round, double sim_time_s, const std::string& paradigm_state);
  // Saves now (an interrupted run, so that --resume redoes nothing), unless this round is saved already.
  void save(std::int64_t round, double sim_time_s, const std::string& paradigm_state);

  // Wall time of every segment so far (s).
  double wall_time_s() const;

 private:
  std::filesystem::path dir_;
  std::int64_t every_;
  CsvObserver& csv_;
  const Learner& learner_;
  PolicySet policies_;
  double wall_before_s_;
  std::chrono::steady_clock::time_point start_;
  std::int64_t saved_round_ = -1;
};

// Loads a checkpoint's learner and policy sections into them (a resumed run, before it plays).
void restore(const Checkpoint& checkpoint, Learner& learner, const PolicySet& policies);

}  // namespace dtsim::engine
