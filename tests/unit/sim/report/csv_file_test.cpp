#include "sim/report/csv_file.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "sim/report/csv_reader.hpp"
#include "sim/report/csv_schema.hpp"

namespace fs = std::filesystem;
using namespace dtsim::report;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
fs::path fresh_dir(const char* name) {
  auto dir = fs::temp_directory_path() / ("dtsim_csv_file_test_" + std::string(name));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}
}  // namespace

TEST_SUITE("report") {
  TEST_CASE("csv file: the header is on disk at once, rows once flushed, as whole lines") {
    const auto dir = fresh_dir("flush");
    CsvFile f((dir / "t.csv").string(), {"a", "b"});
    CHECK(slurp(dir / "t.csv") == "a,b\n");
    f.write(CsvRow().add(1).add(2));
    CHECK(slurp(dir / "t.csv") == "a,b\n");  // buffered
    f.flush();
    CHECK(slurp(dir / "t.csv") == "a,b\n1,2\n");
    CHECK(f.offset() == 8);
  }

  TEST_CASE("csv file: an existing file is never overwritten") {
    const auto dir = fresh_dir("exists");
    std::ofstream(dir / "t.csv") << "precious\n";
    CHECK_THROWS_AS(CsvFile((dir / "t.csv").string(), {"a"}), std::runtime_error);
    CHECK(slurp(dir / "t.csv") == "precious\n");
  }

  TEST_CASE("csv file: resume cuts the file at the offset (a torn line and later rows go) and appends") {
    const auto dir = fresh_dir("resume");
    std::uint64_t after_first = 0;
    {
      CsvFile f((dir / "t.csv").string(), {"a", "b"});
      f.write(CsvRow().add(1).add(2));
      f.flush();
      after_first = f.offset();
      f.write(CsvRow().add(3).add(4));
      f.flush();
    }
    std::ofstream(dir / "t.csv", std::ios::app) << "5,";  // a torn line
    auto f = CsvFile::resume((dir / "t.csv").string(), {"a", "b"}, after_first);
    f.write(CsvRow().add(7).add(8));
    f.flush();
    CHECK(slurp(dir / "t.csv") == "a,b\n1,2\n7,8\n");
    CHECK_THROWS_AS(CsvFile::resume((dir / "t.csv").string(), {"a", "c"}, 4), std::runtime_error);  // other header
    CHECK_THROWS_AS(CsvFile::resume((dir / "t.csv").string(), {"a", "b"}, 1000), std::runtime_error);  // too short
  }

  TEST_CASE("csv file: a row with the wrong number of cells is refused") {
    const auto dir = fresh_dir("width");
    CsvFile f((dir / "t.csv").string(), rounds_table().names());
    CHECK_THROWS_AS(f.write(CsvRow().add(1)), std::logic_error);
  }

  TEST_CASE("csv reader: reads quoted cells and drops a torn last line") {
    const auto t = parse_csv("a,b,c\n1,\"x,\"\"y\"\"\",\n2,z,3\n4,w", "t.csv");
    REQUIRE(t.header == std::vector<std::string>{"a", "b", "c"});
    REQUIRE(t.rows.size() == 2);
    CHECK(t.rows[0] == std::vector<std::string>{"1", "x,\"y\"", ""});
    CHECK(t.at(1, "c") == "3");
    CHECK_THROWS_AS(t.at(0, "d"), std::out_of_range);
    CHECK_THROWS_AS(parse_csv("a,b\n1\n", "bad.csv"), std::runtime_error);
  }

  TEST_CASE("csv schema: every file's columns are unique, typed, and columns were only added at the end") {
    for (const auto* table : all_tables()) {
      CAPTURE(table->file);
      std::set<std::string_view> names;
      for (const auto& c : table->columns) {
        CHECK(names.insert(c.name).second);
        CHECK_FALSE(c.help.empty());
      }
    }
    // The spine's columns come first, in their order (columns are only ever added at the end).
    const std::vector<std::string_view> spine_rounds{"run_id",     "round",    "sim_time_s", "round_duration_s",
                                                     "selected",   "completed", "dropped",   "bytes_down",
                                                     "bytes_up",   "train_loss", "test_loss", "test_accuracy",
                                                     "energy_j"};
    const auto rounds = rounds_table().names();
    CHECK(std::vector<std::string_view>(rounds.begin(), rounds.begin() + 13) == spine_rounds);
    const auto runs = runs_table().names();
    CHECK(runs[9] == "wall_time_s");
    CHECK(runs[10] == "message");
    CHECK(runs[11] == "final_test_round");
  }
}
