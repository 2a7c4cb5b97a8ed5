#include "sim/engine/observers/csv_observer.hpp"

#include <stdexcept>

#include "sim/report/csv_schema.hpp"

namespace dtsim::engine {

report::CsvFile CsvObserver::open(const std::string& name, const std::vector<std::string_view>& columns,
                                  const Checkpoint* resume) const {
  const std::string path = (dir_ / name).string();
  if (!resume) return report::CsvFile(path, columns);
  const auto it = resume->csv_bytes.find(name);
  if (it == resume->csv_bytes.end()) throw std::runtime_error("the checkpoint records no length for " + name);
  return report::CsvFile::resume(path, columns, it->second);
}

CsvObserver::CsvObserver(const std::filesystem::path& dir, RunIdentity identity, const OutputSpec& output,
                         const Checkpoint* resume)
    : dir_(dir),
      identity_(std::move(identity)),
      output_(output),
      resuming_(resume != nullptr),
      platform_(open("platform.csv", report::platform_table().names(), resume)),
      rounds_(open("rounds.csv", report::rounds_table().names(), resume)),
      clients_(open("clients.csv", report::clients_table().names(), resume)),
      metrics_(open("policy_metrics.csv", report::policy_metrics_table().names(), resume)) {}

void CsvObserver::on_run_start(const RunStart& start) {
  if (resuming_) return;  // platform.csv is complete
  for (std::int64_t i = 0; i < start.clients; ++i) {
    const PlatformRecord p = start.client(ClientId{static_cast<std::int32_t>(i)});
    platform_.write(report::CsvRow()
                        .add(identity_.run_id)
                        .add(std::int64_t{p.client.value})
                        .add(p.host_class)
                        .add(p.speed_flops_per_s)
                        .add(p.bandwidth_bytes_per_s)
                        .add(p.latency_s)
                        .add(p.samples)
                        .add(p.host)
                        .add(p.route_links)
                        .add(p.route_latency_s)
                        .add(p.route_bandwidth_bytes_per_s));
  }
  platform_.flush();
}

void CsvObserver::on_client(const ClientRecord& c) {
  if (!output_.clients_csv || c.round % output_.every != 0) return;
  clients_.write(report::CsvRow()
                     .add(identity_.run_id)
                     .add(c.round)
                     .add(std::int64_t{c.client.value})
                     .add(to_string(c.status))
                     .add(c.start_s)
                     .add(c.download_end_s)
                     .add(c.compute_end_s)
                     .add(c.upload_end_s)
                     .add(c.local_steps)
                     .add_count(c.flops)
                     .add_count(c.bytes_down)
                     .add_count(c.bytes_up)
                     .add(c.energy_j)
                     .add(c.samples)
                     .add(c.train_loss));
}

void CsvObserver::on_policy_metric(const PolicyMetric& m) {
  metrics_.write(
      report::CsvRow().add(identity_.run_id).add(m.round).add(m.family).add(m.policy).add(m.metric).add(m.value));
}

void CsvObserver::on_round(const RoundRecord& r) {
  rounds_.write(report::CsvRow()
                    .add(identity_.run_id)
                    .add(r.round)
                    .add(r.sim_time_s)
                    .add(r.round_duration_s)
                    .add(r.selected)
                    .add(r.completed)
                    .add(r.dropped)
                    .add_count(r.bytes_down)
                    .add_count(r.bytes_up)
                    .add(r.train_loss)
                    .add(r.test_loss)
                    .add(r.test_accuracy)
                    .add(r.energy_j)
                    .add(r.aggregated ? 1 : 0)
                    .add(r.train_accuracy)
                    .add(r.global_train_loss)
                    .add(r.global_train_accuracy));
  // The round's clients and metrics first: whoever sees a round in rounds.csv sees all of it.
  clients_.flush();
  metrics_.flush();
  rounds_.flush();
}

std::map<std::string, std::uint64_t> CsvObserver::sync() {
  std::map<std::string, std::uint64_t> bytes;
  for (auto* f : {&platform_, &clients_, &metrics_, &rounds_}) {
    f->sync();
    bytes[std::filesystem::path(f->path()).filename().string()] = f->offset();
  }
  return bytes;
}

void CsvObserver::write_runs_row(const RunEnd& end) const {
  report::CsvRow row;
  row.add(report::schema_version)
      .add(identity_.run_id)
      .add(identity_.scenario_file)
      .add(static_cast<std::int64_t>(identity_.seed))
      .add(identity_.backend)
      .add(end.status)
      .add(end.rounds_completed)
      .add(end.final_sim_time_s)
      .add(end.final_test_accuracy)
      .add(end.wall_time_s)
      .add(end.message);
  if (end.final_test_round)
    row.add(*end.final_test_round);
  else
    row.empty();
  std::vector<std::string> params;
  for (const auto& [key, cell] : identity_.params) {
    params.push_back(report::param_column(key));
    row.add(cell);
  }
  auto header = report::runs_table().names();
  header.insert(header.end(), params.begin(), params.end());
  report::write_file_atomic((dir_ / "runs.csv").string(), report::csv_header(header) + row.text() + "\n");
}

void CsvObserver::on_run_end(const RunEnd& end) {
  for (auto* f : {&platform_, &clients_, &metrics_, &rounds_}) f->flush();
  write_runs_row(end);
}

}  // namespace dtsim::engine
