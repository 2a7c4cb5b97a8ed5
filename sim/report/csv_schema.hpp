// The CSV contract (DESIGN "Outputs"): every file's columns, each with its type and unit, and the schema
// version. Columns are only ever added at the end. The writers take the names from here, the reader and
// the type test check against the types, and `dtsim list --markdown` renders the tables into
// docs/scenario.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dtsim::report {

inline constexpr int schema_version = 1;

// integer: an optional '-' and digits, never an exponent; real: a finite decimal or scientific number
// (never nan or inf); flag: 0 or 1; text: anything (quoted when it holds a comma, quote or newline).
enum class ColumnType { text, integer, real, flag };
const char* to_string(ColumnType t);

struct Column {
  std::string_view name;
  ColumnType type;
  std::string_view unit;  // "s", "bytes", "flops", "flops/s", "bytes/s", "J", "nats", "fraction", ""
  bool may_be_empty;      // empty means "not measured" or "does not apply", never 0
  std::string_view help;
};

struct Table {
  std::string_view file;  // "rounds.csv"
  std::string_view help;
  std::vector<Column> columns;
  std::vector<std::string_view> names() const {
    std::vector<std::string_view> out;
    for (const auto& c : columns) out.push_back(c.name);
    return out;
  }
};

const Table& runs_table();
// runs.csv's columns after runs_table(), for a sweep point: one per swept key, "param.<key>" (text: the
// value as one line of flow YAML).
inline std::string param_column(std::string_view key) { return "param." + std::string(key); }
const Table& rounds_table();
const Table& clients_table();
const Table& platform_table();
const Table& policy_metrics_table();
const std::vector<const Table*>& all_tables();

}  // namespace dtsim::report
