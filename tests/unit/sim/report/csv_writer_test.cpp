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
  TEST_CASE("csv row: cells are joined with commas, text with a comma quoted, absent values empty") {
    const auto row = CsvRow().add(std::int64_t{1}).add(0.1).empty().add("x,y").add(2.5e-7).add(std::optional<double>{});
    CHECK(row.text() == "1,0.1,,\"x,y\",2.5e-07,");
    CHECK(row.size() == 6);
  }

  TEST_CASE("write_file_atomic: replaces the file whole, through a temporary name unique to the process") {
    auto dir = fresh_dir("atomic");
    write_file_atomic((dir / "f.txt").string(), "one");
    write_file_atomic((dir / "f.txt").string(), "two");
    CHECK(slurp(dir / "f.txt") == "two");
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
    CHECK(files == 1);
  }

  TEST_CASE("format_number: shortest text that reads back to the same double") {
    for (double v : {0.1, 1.0 / 3.0, 123456.789, 1e-300, 6.02214076e23}) {
      CAPTURE(v);
      CHECK(std::stod(format_number(v)) == v);
    }
    CHECK(format_number(2.0) == "2");
  }
}
