#include "sim/sweep/collect.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

#include "scratch.hpp"

#include "sim/report/csv_reader.hpp"
#include "sim/sweep/record.hpp"

namespace fs = std::filesystem;
using namespace dtsim;
using namespace dtsim::sweep;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

const std::string kHeader =
    "schema_version,run_id,scenario,seed,backend,status,rounds_completed,final_sim_time_s,final_test_accuracy,"
    "wall_time_s,message,final_test_round,param.policies.aggregation\n";

std::string own_row(const std::string& id, const std::string& folder, const std::string& status) {
  return kHeader + "1,demo#" + id + "," + folder + "/run.yaml,1,cpu," + status + ",3,12.5,0.5,0.25,,3,{name: fedavg}\n";
}

SweepRecord five_points() {
  SweepRecord s;
  s.name = "demo";
  s.scenario = "/x/demo.yaml";
  s.backend = "cpu";
  s.param_keys = {"policies.aggregation"};
  for (std::int64_t i = 0; i < 5; ++i)
    s.points.push_back({i, "000" + std::to_string(i) + "-p", i + 1, {{"policies.aggregation", "{name: fedprox, mu: 0.01}"}}});
  return s;
}

}  // namespace

TEST_SUITE("sweep") {
  TEST_CASE("collect: one row per point in point order, each point's state read from its own folder") {
    const auto dir = fresh_dir("states");
    const auto sweep = five_points();
    write(dir / "0000-p" / "runs.csv", own_row("0000", "0000-p", "ok"));
    write(dir / "0001-p" / "runs.csv", own_row("0001", "0001-p", "running"));  // nobody holds its lock: killed
    write(dir / "0001-p" / "rounds.csv",  // what it finished before the kill (only the columns collect reads)
          "run_id,round,sim_time_s,test_accuracy\ndemo#0001,1,2.5,0.25\ndemo#0001,2,5.5,\n");
    write(dir / "0002-p" / "log", "=== dtsim sweep: ...\nSegmentation fault\n");  // started, no runs.csv
    // 0003-p: never started
    fs::create_directories(dir / "0004-p");
    const int lock = ::open((dir / "0004-p" / ".lock").c_str(), O_RDWR | O_CREAT, 0644);
    REQUIRE(::flock(lock, LOCK_EX | LOCK_NB) == 0);  // a live run (in another process, flock is per open file)

    const auto c = collect(dir, sweep);
    ::close(lock);

    const auto t = report::read_csv((dir / "runs.csv").string());
    REQUIRE(t.rows.size() == 5);
    CHECK(t.header.back() == "param.policies.aggregation");
    std::vector<std::string> ids, statuses;
    for (std::size_t r = 0; r < 5; ++r) {
      ids.push_back(t.at(r, "run_id"));
      statuses.push_back(t.at(r, "status"));
    }
    CHECK(ids == std::vector<std::string>{"demo#0000", "demo#0001", "demo#0002", "demo#0003", "demo#0004"});
    CHECK(statuses == std::vector<std::string>{"ok", "interrupted", "failed", "pending", "running"});
    CHECK(t.at(0, "final_sim_time_s") == "12.5");  // the point's own cells, as it wrote them
    CHECK(t.at(1, "message").find("killed") != std::string::npos);
    CHECK(t.at(1, "rounds_completed") == "2");  // from its rounds.csv, not the row it wrote when it started
    CHECK(t.at(1, "final_sim_time_s") == "5.5");
    CHECK(t.at(1, "final_test_accuracy") == "0.25");
    CHECK(t.at(1, "final_test_round") == "1");
    CHECK(t.at(2, "message").find("0002-p/log") != std::string::npos);
    CHECK(t.at(3, "seed") == "4");  // from the record, for a point that wrote nothing
    CHECK(t.at(3, "scenario") == "0003-p/run.yaml");
    // The param cell comes from the sweep's record (the point's own file said fedavg).
    CHECK(t.at(0, "param.policies.aggregation") == "{name: fedprox, mu: 0.01}");
    CHECK(c.ok == 1);
    CHECK(c.failed == 2);
    CHECK(c.pending == 1);
    CHECK(c.running == 1);
    CHECK(c.points[0].done());
    CHECK_FALSE(c.points[1].done());
    CHECK(c.warnings.empty());
  }

  TEST_CASE("collect: points that ran on different CPU classes are warned about, naming both") {
    const auto dir = fresh_dir("classes");
    auto sweep = five_points();
    sweep.points.resize(2);
    for (int i = 0; i < 2; ++i) {
      const std::string folder = "000" + std::to_string(i) + "-p";
      write(dir / folder / "runs.csv", own_row("000" + std::to_string(i), folder, "ok"));
      write(dir / folder / "run.yaml",
            "name: demo\nprovenance: {cpu_model: " + std::string(i == 0 ? "Model A" : "Model B") + ", isa: avx2}\n");
    }

    const auto c = collect(dir, sweep);

    REQUIRE(c.warnings.size() == 1);
    CHECK(c.warnings[0].find("Model A (avx2)") != std::string::npos);
    CHECK(c.warnings[0].find("Model B (avx2)") != std::string::npos);
  }

  TEST_CASE("record: written and read back to the same points, and a changed point is named") {
    const auto dir = fresh_dir("record");
    const auto sweep = five_points();
    write_record(dir, sweep);

    const auto back = read_record(dir);

    CHECK(back.name == "demo");
    REQUIRE(back.points.size() == 5);
    CHECK(back.points[4].folder == "0004-p");
    CHECK(back.points[4].seed == 5);
    CHECK(back.points[4].params == sweep.points[4].params);
    CHECK(difference(back, sweep).empty());
    auto changed = sweep;
    changed.points[2].folder = "0002-q";
    CHECK(difference(back, changed).find("point 2") != std::string::npos);
    write(dir / "sweep.yaml", "points: [{folder: ../escape}]\n");
    CHECK_THROWS_AS(read_record(dir), std::runtime_error);
  }
}
