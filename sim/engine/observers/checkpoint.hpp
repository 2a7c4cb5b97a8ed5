// A run's checkpoint (DESIGN "Checkpoints"): everything a resumed run needs to continue to the very
// bytes an uninterrupted run writes — the last finished round, its exact simulated time, the byte length
// of every CSV file after that round, the wall time spent so far, and named sections of state (the
// paradigm's counters, the learner's model, each policy's state: Checkpointable bytes).
//
// File: DIR/checkpoint/state.bin, written to a unique temporary name, fsynced, then renamed over the
// previous one, so a kill at any moment leaves the previous or the new checkpoint, whole. Format: the
// magic "DTSIMCKP", the format version, then the fields below (sim/common/checkpointable.hpp encoding).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace dtsim::engine {

struct Checkpoint {
  static constexpr std::uint64_t kVersion = 1;
  std::int64_t round = 0;    // the last finished round
  double sim_time_s = 0;     // when it ended (exact)
  double wall_time_s = 0;    // wall time of every segment until this checkpoint
  std::map<std::string, std::uint64_t> csv_bytes;  // file name -> bytes after `round`
  std::map<std::string, std::string> sections;     // "paradigm", "learner", "policy.aggregation", ...
};

std::filesystem::path checkpoint_path(const std::filesystem::path& run_dir);
void write_checkpoint(const std::filesystem::path& run_dir, const Checkpoint& checkpoint);
// nullopt when the run has none yet; throws std::runtime_error when it is unreadable or of another version.
std::optional<Checkpoint> read_checkpoint(const std::filesystem::path& run_dir);

}  // namespace dtsim::engine
