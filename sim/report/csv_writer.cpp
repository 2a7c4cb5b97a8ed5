#include "sim/report/csv_writer.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace dtsim::report {

std::string format_number(double v) { return fmt::format("{}", v); }

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
