#include "sim/sweep/collect.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <map>

#include "sim/engine/output_dir.hpp"
#include "sim/report/csv_file.hpp"
#include "sim/report/csv_reader.hpp"
#include "sim/report/csv_schema.hpp"
#include "sim/report/csv_writer.hpp"

namespace fs = std::filesystem;

namespace dtsim::sweep {

namespace {

// The CPU class a point ran on, from its run.yaml's provenance ("" when unknown).
std::string cpu_class(const fs::path& folder) {
  try {
    const YAML::Node p = YAML::LoadFile((folder / "run.yaml").string())["provenance"];
    if (!p || !p["cpu_model"]) return "";
    return p["cpu_model"].as<std::string>() + " (" + p["isa"].as<std::string>("") + ")";
  } catch (const std::exception&) {
    return "";
  }
}

// The cells of a run killed before it could record its end (its runs.csv still says running, as written
// when it started): what its rounds.csv holds — every row there is a whole, finished round.
std::map<std::string, std::string> killed_run_cells(const fs::path& folder) {
  std::map<std::string, std::string> cells{
      {"message", "killed before it recorded its end; its finished rounds are kept (dtsim sweep --resume continues it)"}};
  try {
    const auto rounds = report::read_csv((folder / "rounds.csv").string());
    if (rounds.rows.empty()) return cells;
    const std::size_t last = rounds.rows.size() - 1;
    cells["rounds_completed"] = rounds.at(last, "round");
    cells["final_sim_time_s"] = rounds.at(last, "sim_time_s");
    for (std::size_t r = rounds.rows.size(); r-- > 0;)
      if (!rounds.at(r, "test_accuracy").empty()) {
        cells["final_test_accuracy"] = rounds.at(r, "test_accuracy");
        cells["final_test_round"] = rounds.at(r, "round");
        break;
      }
  } catch (const std::exception&) {
    // no readable rounds.csv: the row the run wrote at its start stands
  }
  return cells;
}

}  // namespace

Collected collect(const fs::path& dir, const SweepRecord& sweep) {
  Collected out;
  std::vector<std::string> param_columns;
  for (const auto& k : sweep.param_keys) param_columns.push_back(report::param_column(k));
  auto header = report::runs_table().names();
  header.insert(header.end(), param_columns.begin(), param_columns.end());
  std::string text = report::csv_header(header);
  std::map<std::string, std::vector<std::string>> classes;  // CPU class -> run_ids

  for (const auto& point : sweep.points) {
    const fs::path folder = dir / point.folder;
    const bool alive = engine::run_lock_held(folder);
    std::optional<report::CsvTable> own;
    std::error_code ec;
    if (fs::exists(folder / "runs.csv", ec)) {
      try {
        own = report::read_csv((folder / "runs.csv").string());
        if (own->rows.empty()) own.reset();
      } catch (const std::exception&) {
        own.reset();  // unreadable: treated as not written; the point's log says why
      }
    }
    report::CsvRow row;
    PointState state;
    if (own) {
      state.status = own->at(0, "status");
      std::map<std::string, std::string> cells;  // column -> cell, where the point's own row is out of date
      if (state.status == "running" && !alive) {
        state.status = "interrupted";
        cells = killed_run_cells(folder);
      }
      cells["status"] = state.status;
      for (const auto& column : report::runs_table().columns) {
        const std::string name(column.name);
        if (const auto it = cells.find(name); it != cells.end()) row.add(it->second);
        else row.add(own->column(name) ? own->at(0, name) : std::string());
      }
      if (const auto c = cpu_class(folder); !c.empty()) classes[c].push_back(run_id_of(sweep, point));
    } else {
      std::string message;
      if (alive) {
        state.status = "running";
      } else if (fs::exists(folder / "log", ec)) {
        state.status = "failed";
        message = "it ended before writing runs.csv; see " + point.folder + "/log";
      } else {
        state.status = "pending";
        message = "not started";
      }
      row.add(report::schema_version)
          .add(run_id_of(sweep, point))
          .add(point.folder + "/run.yaml")
          .add(point.seed)
          .add(sweep.backend)
          .add(state.status)
          .add(std::int64_t{0})
          .add(0.0)
          .empty()
          .add(0.0)
          .add(message)
          .empty();
    }
    for (const auto& key : sweep.param_keys) {
      std::string cell;
      for (const auto& [k, v] : point.params)
        if (k == key) cell = v;
      row.add(cell);
    }
    text += row.text() + "\n";
    if (state.status == "ok") ++out.ok;
    else if (state.status == "running") ++out.running;
    else if (state.status == "pending") ++out.pending;
    else ++out.failed;
    out.points.push_back(state);
  }
  if (classes.size() > 1) {
    std::string list;
    for (const auto& [c, ids] : classes)
      list += fmt::format("{}{} ({} point{}, the first {})", list.empty() ? "" : "; ", c, ids.size(),
                          ids.size() == 1 ? "" : "s", ids.front());
    out.warnings.push_back("the points ran on different CPU classes: " + list +
                           "; their learning columns may differ in the last bits (time columns do not)");
  }
  report::write_file_atomic((dir / "runs.csv").string(), text);
  return out;
}

}  // namespace dtsim::sweep
