// The CSV observer: writes platform.csv, rounds.csv, clients.csv, policy_metrics.csv and runs.csv into
// the run's folder (columns: sim/report/csv_schema.hpp). Rows are appended to the final files and
// flushed as each round ends (report::CsvFile), so a killed run keeps every finished round; runs.csv is
// replaced atomically, with status running when the run starts and its outcome when it ends.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "sim/engine/observer.hpp"
#include "sim/engine/observers/checkpoint.hpp"
#include "sim/report/csv_file.hpp"
#include "sim/scenario/scenario.hpp"

namespace dtsim::engine {

struct RunIdentity {
  std::string run_id;
  std::string scenario_file;
  std::uint64_t seed = 0;
  std::string backend;
  std::vector<std::pair<std::string, std::string>> params;  // a sweep point's param.<key> cells (runs.csv)
};

class CsvObserver final : public RunObserver {
 public:
  // Creates the per-round files in `dir` (which must exist and hold none of them), or, resuming, reopens
  // them cut at the checkpoint's byte lengths. Throws std::runtime_error on I/O errors.
  CsvObserver(const std::filesystem::path& dir, RunIdentity identity, const OutputSpec& output,
              const Checkpoint* resume);

  void on_run_start(const RunStart& start) override;  // platform.csv (unless resuming)
  void on_client(const ClientRecord& c) override;
  void on_policy_metric(const PolicyMetric& m) override;
  void on_round(const RoundRecord& r) override;  // and flushes every file: the round is durable
  void on_run_end(const RunEnd& end) override;    // runs.csv

  // runs.csv's row, replaced atomically.
  void write_runs_row(const RunEnd& row) const;
  // Flushes and fsyncs every file; returns their byte lengths (for a checkpoint).
  std::map<std::string, std::uint64_t> sync();

 private:
  report::CsvFile open(const std::string& name, const std::vector<std::string_view>& columns,
                       const Checkpoint* resume) const;
  std::filesystem::path dir_;
  RunIdentity identity_;
  OutputSpec output_;
  bool resuming_ = false;
  report::CsvFile platform_, rounds_, clients_, metrics_;
};

}  // namespace dtsim::engine
