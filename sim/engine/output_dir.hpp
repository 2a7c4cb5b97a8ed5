// The output folder of a run (DESIGN "Interface contract"): checked before anything is loaded or
// written, never overwritten silently, and locked while a run uses it.
//
//   fresh  (default)  the folder must not hold a run: absent, empty, or holding only other files;
//   force  (--force)  an earlier run's files are removed — only the files dtsim writes — and the folder
//                     is refused when it holds anything else;
//   resume (--resume) the run in the folder continues from its last checkpoint (an absent or empty
//                     folder starts afresh, so a requeued batch job can always say --resume).
// A folder whose DIR/.lock is held by a live run is refused in every mode.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sim/engine/observers/checkpoint.hpp"
#include "sim/scenario/params.hpp"

namespace dtsim::engine {

enum class OutputMode { fresh, force, resume };

struct OutputPlan {
  std::filesystem::path dir;
  OutputMode mode = OutputMode::fresh;
  bool holds_run = false;               // dtsim's files are there
  bool finished = false;                // resume: runs.csv says the run ended (ok or diverged): nothing to do
  std::optional<Checkpoint> checkpoint;  // resume: the last checkpoint, if any
};

// The names dtsim writes in a run folder (files and folders), and whether `name` is one of them or a
// temporary file of one ("rounds.csv.tmp.1234").
const std::vector<std::string>& run_file_names();
bool is_run_file(const std::string& name);

// Checks `dir` for `mode`; problems are recorded in `context` as errors located at the command line
// (key "--out"). For resume, also reads the folder's runs.csv and checkpoint, and checks that the
// scenario resolves to the folder's run.yaml (`resolved`: this run's resolved tree), naming the first
// differing key.
OutputPlan check_output_dir(const std::filesystem::path& dir, OutputMode mode, const YAML::Node& resolved,
                            ParamsContext& context);

// Holds DIR/.lock (flock) for as long as it lives, so that a reader — and --resume — can tell a live run
// from a killed one. Throws std::runtime_error when another process holds it.
class RunLock {
 public:
  explicit RunLock(const std::filesystem::path& dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

// Whether a live process holds DIR/.lock.
bool run_lock_held(const std::filesystem::path& dir);

// Removes every file dtsim writes in `dir` (--force, and a resume without a checkpoint), but those named
// in `keep`.
void remove_run_files(const std::filesystem::path& dir, const std::vector<std::string>& keep = {});

// The first key path where two YAML trees differ ("training.rounds", "workload.model.hidden[1]"), or ""
// when they are equal.
std::string first_difference(const YAML::Node& a, const YAML::Node& b, const std::string& path = "");

}  // namespace dtsim::engine
