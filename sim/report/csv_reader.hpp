// Reads the CSV files dtsim writes (RFC 4180 quoting), for --resume, the tests and, later, `dtsim
// collect`. A last line without its newline — torn by a kill — is not a row.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace dtsim::report {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // every row has header.size() cells

  // Index of a column, or nullopt.
  std::optional<std::size_t> column(const std::string& name) const;
  // The cell of row `r` in column `name`; throws std::out_of_range when there is no such column.
  const std::string& at(std::size_t r, const std::string& name) const;
};

// Throws std::runtime_error when the file cannot be read or a row's cell count differs from the header's.
CsvTable read_csv(const std::string& path);
// The same, from text already in memory; `label` names it in errors.
CsvTable parse_csv(const std::string& text, const std::string& label);

}  // namespace dtsim::report
