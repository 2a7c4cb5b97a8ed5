#include "sim/engine/observers/csv_observer.hpp"

#include "sim/report/csv_schema.hpp"

namespace dtsim::engine {

CsvObserver::CsvObserver(const std::filesystem::path& dir, RunIdentity identity, const OutputSpec& output)
    : dir_(dir),
      identity_(std::move(identity)),
      output_(output),
      platform_((dir / "platform.csv").string(), report::platform_columns),
      rounds_((dir / "rounds.csv").string(), report::rounds_columns),
      clients_((dir / "clients.csv").string(), report::clients_columns),
      metrics_((dir / "policy_metrics.csv").string(), report::policy_metrics_columns) {}

void CsvObserver::on_run_start(const RunStart& start) {
  for (std::int64_t i = 0; i < start.clients; ++i) {
    const PlatformRecord p = start.client(ClientId{static_cast<std::int32_t>(i)});
    platform_.write(report::CsvRow()
                        .add(identity_.run_id)
                        .add(std::int64_t{p.client.value})
                        .add(p.host_class)
                        .add(p.speed_flops_per_s)
                        .add(p.bandwidth_bytes_per_s)
                        .add(p.latency_s)
                        .add(p.samples));
  }
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
                     .add(c.flops)
                     .add(c.bytes_down)
                     .add(c.bytes_up)
                     .empty());  // energy_j: no power model yet
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
                    .add(r.bytes_down)
                    .add(r.bytes_up)
                    .add(r.train_loss)
                    .add(r.test_loss)
                    .add(r.test_accuracy)
                    .empty()  // energy_j: no power model yet
                    .add(r.aggregated ? 1 : 0));
}

void CsvObserver::on_run_end(const RunEnd& end) {
  platform_.commit();
  rounds_.commit();
  clients_.commit();
  metrics_.commit();
  report::CsvWriter runs((dir_ / "runs.csv").string(), report::runs_columns);
  runs.write(report::CsvRow()
                 .add(report::schema_version)
                 .add(identity_.run_id)
                 .add(identity_.scenario_file)
                 .add(static_cast<std::int64_t>(identity_.seed))
                 .add(identity_.backend)
                 .add(end.status)
                 .add(end.rounds_completed)
                 .add(end.final_sim_time_s)
                 .add(end.final_test_accuracy)
                 .add(end.wall_time_s));
  runs.commit();
}

}  // namespace dtsim::engine
