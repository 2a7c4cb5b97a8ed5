// Golden end-to-end cases: tests/e2e/<case>/scenario.yaml is run by the dtsim binary and its CSVs are
// compared with tests/e2e/<case>/expected/: time and integer columns exactly, float learning metrics
// within a tolerance (builds tuned for the host CPU may round differently). DTSIM_UPDATE_GOLDEN=1
// rewrites the expected files for review. Each case's README derives some of its figures by hand
// (golden_figures_test.cpp checks them).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <set>

#include "e2e_util.hpp"

using namespace e2e;

namespace {

const std::set<std::string> float_metrics{"train_loss", "test_loss", "test_accuracy", "train_accuracy"};

void compare(const fs::path& got_path, const fs::path& want_path) {
  const auto got = read_csv(got_path);
  const auto want = read_csv(want_path);
  REQUIRE_MESSAGE(got.size() == want.size(), got_path.filename() << ": row count differs");
  for (std::size_t r = 0; r < got.size(); ++r) {
    for (const auto& [column, expected] : want[r]) {
      CAPTURE(r);
      CAPTURE(column);
      REQUIRE(got[r].count(column));
      const auto& actual = got[r].at(column);
      if (float_metrics.count(column) && !expected.empty()) {
        REQUIRE_FALSE(actual.empty());
        CHECK(std::stod(actual) == doctest::Approx(std::stod(expected)).epsilon(1e-3));
      } else {
        CHECK(actual == expected);
      }
    }
  }
}

void run_case(const std::string& name) {
  const auto dir = source_dir() / "tests" / "e2e" / name;
  const auto out = scratch("golden_" + name);
  const auto r = run_dtsim({"run", (dir / "scenario.yaml").string(), "--out", out.string(), "--quiet"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto expected = dir / "expected";
  if (std::getenv("DTSIM_UPDATE_GOLDEN")) {
    fs::create_directories(expected);
    for (const char* f : {"rounds.csv", "clients.csv", "platform.csv", "policy_metrics.csv"})
      fs::copy_file(out / f, expected / f, fs::copy_options::overwrite_existing);
    MESSAGE("rewrote " << expected);
  }
  for (const char* f : {"rounds.csv", "clients.csv", "platform.csv", "policy_metrics.csv"}) {
    CAPTURE(f);
    compare(out / f, expected / f);
  }
  const auto runs = read_csv(out / "runs.csv");
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].at("status") == "ok");
  CHECK(runs[0].at("schema_version") == "1");
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("golden: synthetic_small matches its expected CSVs") { run_case("synthetic_small"); }
  TEST_CASE("golden: fmnist_small matches its expected CSVs") { run_case("fmnist_small"); }
  TEST_CASE("golden: analytic matches its expected CSVs") { run_case("analytic"); }
  TEST_CASE("golden: xml_lab (a SimGrid platform file) matches its expected CSVs") { run_case("xml_lab"); }
}
