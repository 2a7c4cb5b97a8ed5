#include "sim/report/csv_reader.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace dtsim::report {

std::optional<std::size_t> CsvTable::column(const std::string& name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  return std::nullopt;
}

const std::string& CsvTable::at(std::size_t r, const std::string& name) const {
  const auto c = column(name);
  if (!c) throw std::out_of_range("no column '" + name + "'");
  return rows.at(r).at(*c);
}

CsvTable parse_csv(const std::string& text, const std::string& label) {
  // Complete lines only: everything after the last newline is a torn line.
  const auto end = text.rfind('\n');
  const std::string_view body = end == std::string::npos ? std::string_view() : std::string_view(text).substr(0, end + 1);
  std::vector<std::vector<std::string>> lines;
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false, line_has_content = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (quoted) {
      if (c == '"' && i + 1 < body.size() && body[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      line_has_content = true;
    } else if (c == ',') {
      cells.push_back(std::move(cell));
      cell.clear();
      line_has_content = true;
    } else if (c == '\n') {
      if (line_has_content || !cell.empty()) {
        cells.push_back(std::move(cell));
        lines.push_back(std::move(cells));
      }
      cells.clear();
      cell.clear();
      line_has_content = false;
    } else if (c != '\r') {
      cell += c;
      line_has_content = true;
    }
  }
  CsvTable t;
  if (lines.empty()) return t;
  t.header = std::move(lines.front());
  for (std::size_t l = 1; l < lines.size(); ++l) {
    if (lines[l].size() != t.header.size())
      throw std::runtime_error(
          fmt::format("{}: row {} has {} cells, the header {}", label, l, lines[l].size(), t.header.size()));
    t.rows.push_back(std::move(lines[l]));
  }
  return t;
}

CsvTable read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return parse_csv(s.str(), path);
}

}  // namespace dtsim::report
