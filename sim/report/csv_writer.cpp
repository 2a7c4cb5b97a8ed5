#include "sim/report/csv_writer.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace dtsim::report {

std::string format_number(double v) { return fmt::format("{}", v); }

std::string format_count(double v) {
  if (!std::isfinite(v)) throw std::invalid_argument(fmt::format("format_count: {} is not a whole number", v));
  v = std::nearbyint(v);
  if (v == 0) return "0";
  // The shortest round-trip digits in scientific form ("1.03e+16"), then the digits shifted by the exponent.
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v, std::chars_format::scientific);
  const std::string_view text(buffer, static_cast<std::size_t>(result.ptr - buffer));
  const auto e = text.find('e');
  std::string out;
  std::string_view mantissa = text.substr(0, e);
  if (mantissa.starts_with('-')) {
    out += '-';
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  const int exponent = std::stoi(std::string(text.substr(e + 1)));
  // A whole number has at least as many integer digits as significant ones; should rounding ever say otherwise,
  // its exact decimal expansion is written.
  if (exponent < 0 || static_cast<std::size_t>(exponent) + 1 < digits.size()) return fmt::format("{:.0f}", v);
  out += digits;
  out.append(static_cast<std::size_t>(exponent + 1) - digits.size(), '0');
  return out;
}

CsvRow& CsvRow::add_raw(std::string_view s) {
  if (cells_++) line_ += ',';
  line_ += s;
  return *this;
}

CsvRow& CsvRow::add(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return add_raw(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return add_raw(quoted);
}

namespace {
[[noreturn]] void io_error(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}
}  // namespace

void write_file_atomic(const std::string& path, std::string_view content) {
  // Unique per process: two runs writing into one folder never share a temporary file.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) io_error("cannot create", tmp);
  const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    io_error("cannot write", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) io_error("cannot rename", tmp);
}

}  // namespace dtsim::report
