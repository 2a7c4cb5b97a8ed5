// The CSV observer: writes platform.csv, rounds.csv, clients.csv, policy_metrics.csv and runs.csv into
// the run's folder (column lists: sim/report/csv_schema.hpp). Files stream into temporary names and
// on_run_end renames them into place (commit), so no final file is ever half-written.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "sim/engine/observer.hpp"
#include "sim/report/csv_writer.hpp"
#include "sim/scenario/scenario.hpp"

namespace dtsim::engine {

struct RunIdentity {
  std::string run_id;
  std::string scenario_file;
  std::uint64_t seed = 0;
  std::string backend;
};

class CsvObserver final : public RunObserver {
 public:
  // Creates the temporary files in `dir` (which must exist). Throws std::runtime_error on I/O errors.
  CsvObserver(const std::filesystem::path& dir, RunIdentity identity, const OutputSpec& output);

  void on_run_start(const RunStart& start) override;
  void on_client(const ClientRecord& c) override;
  void on_policy_metric(const PolicyMetric& m) override;
  void on_round(const RoundRecord& r) override;
  // Commits the per-round files and writes runs.csv.
  void on_run_end(const RunEnd& end) override;

 private:
  std::filesystem::path dir_;
  RunIdentity identity_;
  OutputSpec output_;
  report::CsvWriter platform_, rounds_, clients_, metrics_;
};

}  // namespace dtsim::engine
