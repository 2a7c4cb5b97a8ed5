// CSV rows, and whole files written atomically. Rows go to their files through report::CsvFile
// (csv_file.hpp), appended as whole lines; a file that is replaced whole (runs.csv, run.yaml) is written
// to a temporary name unique to this process and renamed over the final one (atomic on POSIX).
//
// Numbers are written in the shortest form that reads back to the same double (fmt's "{}"), so two
// runs with the same inputs write the same bytes. A cell that does not apply is empty.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dtsim::report {

std::string format_number(double v);
// The text CsvRow::add_count writes.
std::string format_count(double v);

class CsvRow {
 public:
  CsvRow& add(std::string_view text);  // quoted when it contains a comma, quote or newline
  CsvRow& add(double v) { return add_raw(format_number(v)); }
  CsvRow& add(std::int64_t v) { return add_raw(std::to_string(v)); }
  CsvRow& add(int v) { return add_raw(std::to_string(v)); }
  CsvRow& add(const std::optional<double>& v) { return v ? add(*v) : add_raw(""); }
  CsvRow& add(const std::optional<std::int64_t>& v) { return v ? add(*v) : add_raw(""); }
  // A whole number held in a double (flops, bytes, steps): written as integer digits, never in exponent
  // notation ("10300000000000000", not "1.03e+16"); exact up to 2^53, and beyond it the shortest digits that
  // read back as the same double, padded with zeros (1e23 is "100000000000000000000000"). A fraction is
  // rounded to the nearest whole number (ties to even); -0 is "0". Throws std::invalid_argument for NaN or
  // infinity.
  CsvRow& add_count(double v) { return add_raw(format_count(v)); }
  CsvRow& empty() { return add_raw(""); }
  std::size_t size() const { return cells_; }
  const std::string& text() const { return line_; }

 private:
  CsvRow& add_raw(std::string_view s);
  std::string line_;
  std::size_t cells_ = 0;
};

// Writes `content` to `path` through "<path>.tmp.<pid>" and a rename.
void write_file_atomic(const std::string& path, std::string_view content);

}  // namespace dtsim::report
