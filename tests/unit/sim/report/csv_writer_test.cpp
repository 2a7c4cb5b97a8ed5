#include "sim/report/csv_writer.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/report/csv_schema.hpp"

namespace fs = std::filesystem;
using namespace dtsim::report;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
fs::path fresh_dir(const char* name) {
  auto dir = fs::temp_directory_path() / ("dtsim_csv_test_" + std::string(name));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}
}  // namespace

TEST_SUITE("report") {
  TEST_CASE("csv writer: the file appears only on commit, with header, rows and empty cells") {
    auto dir = fresh_dir("commit");
    {
      CsvWriter w((dir / "t.csv").string(), {"a", "b", "c"});
      w.write(CsvRow().add(std::int64_t{1}).add(0.1).empty());
      w.write(CsvRow().add("x,y").add(2.5e-7).add(std::optional<double>{}));
      CHECK_FALSE(fs::exists(dir / "t.csv"));
      w.commit();
    }
    CHECK(slurp(dir / "t.csv") == "a,b,c\n1,0.1,\n\"x,y\",2.5e-07,\n");
    CHECK_FALSE(fs::exists(dir / "t.csv.tmp"));
  }

  TEST_CASE("csv writer: an uncommitted writer leaves no file behind") {
    auto dir = fresh_dir("abandon");
    {
      CsvWriter w((dir / "t.csv").string(), {"a"});
      w.write(CsvRow().add(1));
    }
    CHECK(fs::is_empty(dir));
  }

  TEST_CASE("csv writer: a row with the wrong number of cells is refused") {
    auto dir = fresh_dir("width");
    CsvWriter w((dir / "t.csv").string(), rounds_columns);
    CHECK_THROWS_AS(w.write(CsvRow().add(1)), std::logic_error);
  }

  TEST_CASE("format_number: shortest text that reads back to the same double") {
    for (double v : {0.1, 1.0 / 3.0, 123456.789, 1e-300, 6.02214076e23}) {
      CAPTURE(v);
      CHECK(std::stod(format_number(v)) == v);
    }
    CHECK(format_number(2.0) == "2");
  }
}
