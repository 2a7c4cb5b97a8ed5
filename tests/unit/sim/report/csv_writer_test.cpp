#include "sim/report/csv_writer.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/common/rng.hpp"
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

  TEST_CASE("add_count: whole numbers as integer digits, never in exponent notation") {
    CHECK(format_number(1.03e16) == "1.03e+16");  // why: "{}" switches to exponents above 1e16

    CHECK(format_count(0) == "0");
    CHECK(format_count(-0.0) == "0");
    CHECK(format_count(7) == "7");
    CHECK(format_count(-42) == "-42");
    CHECK(format_count(1e16) == "10000000000000000");
    CHECK(format_count(1.03e16) == "10300000000000000");
    CHECK(format_count(9007199254740991.0) == "9007199254740991");      // 2^53 - 1, exact
    CHECK(format_count(9007199254740992.0) == "9007199254740992");      // 2^53
    CHECK(format_count(123456789012345678.0) == "123456789012345680");  // shortest digits of that double
    CHECK(format_count(1e23) == "100000000000000000000000");            // not its exact value 99999999999999991611392
    CHECK(format_count(1.7976931348623157e308) == "17976931348623157" + std::string(292, '0'));
    CHECK(format_count(2.5) == "2");  // a fraction rounds, ties to even
    CHECK(format_count(3.5) == "4");
    CHECK_THROWS_AS(format_count(NAN), std::invalid_argument);
    CHECK_THROWS_AS(format_count(INFINITY), std::invalid_argument);
  }

  TEST_CASE("add_count: every whole number up to 2^53 reads back exactly, and every larger double to itself") {
    dtsim::Rng rng(9, "csv_writer_test");
    for (int i = 0; i < 20000; ++i) {
      const auto small = static_cast<double>(rng.next_u64() >> 11);  // uniform on [0, 2^53)
      const double large = std::ldexp(1.0 + rng.uniform(), 53 + static_cast<int>(rng.below(960)));
      CAPTURE(small);
      CAPTURE(large);
      const std::string small_text = format_count(small), large_text = format_count(large);
      CHECK(small_text == std::to_string(static_cast<std::uint64_t>(small)));
      CHECK(small_text.find_first_not_of("0123456789") == std::string::npos);
      CHECK(large_text.find_first_not_of("0123456789") == std::string::npos);
      CHECK(std::stod(large_text) == large);
    }
  }

  TEST_CASE("add_count: a row cell holds the integer text") {
    CHECK(CsvRow().add_count(2.5e16).add(std::int64_t{3}).text() == "25000000000000000,3");
  }
}
