#include "sim/scenario/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

#include "sim/scenario/config_error.hpp"

namespace dtsim {

namespace {

struct Unit {
  std::string_view name;
  double factor;  // to the SI base unit of its kind
};

const std::vector<Unit>& units_of(UnitKind kind) {
  static const std::vector<Unit> flop_rate{{"f", 1},        {"kf", 1e3},     {"Mf", 1e6},      {"Gf", 1e9},
                                           {"Tf", 1e12},    {"Pf", 1e15},    {"flops", 1},     {"kflops", 1e3},
                                           {"Mflops", 1e6}, {"Gflops", 1e9}, {"Tflops", 1e12}, {"Pflops", 1e15}};
  // Bit rates are divided by 8: values are bytes per second.
  static const std::vector<Unit> data_rate{
      {"bps", 1.0 / 8},  {"kbps", 1e3 / 8},    {"Mbps", 1e6 / 8},      {"Gbps", 1e9 / 8}, {"Tbps", 1e12 / 8},
      {"Bps", 1},        {"kBps", 1e3},        {"MBps", 1e6},          {"GBps", 1e9},     {"TBps", 1e12},
      {"KiBps", 1024.0}, {"MiBps", 1048576.0}, {"GiBps", 1073741824.0}};
  static const std::vector<Unit> time{{"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1},
                                      {"m", 60},    {"min", 60},  {"h", 3600},  {"d", 86400}};
  static const std::vector<Unit> data_size{{"B", 1},     {"kB", 1e3},     {"MB", 1e6},        {"GB", 1e9},
                                           {"TB", 1e12}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}};
  switch (kind) {
    case UnitKind::flop_rate:
      return flop_rate;
    case UnitKind::data_rate:
      return data_rate;
    case UnitKind::time:
      return time;
    case UnitKind::data_size:
      return data_size;
  }
  return time;
}

std::vector<std::string> unit_names(UnitKind kind) {
  std::vector<std::string> names;
  for (const auto& u : units_of(kind)) names.emplace_back(u.name);
  return names;
}

std::string joined_units(UnitKind kind) {
  std::string out;
  for (const auto& name : unit_names(kind)) out += (out.empty() ? "" : ", ") + name;
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of the number at the start of `s` (digits, optional fraction, optional exponent), or 0.
std::size_t number_length(std::string_view s) {
  std::size_t i = 0;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return 0;
  // An exponent only when digits follow, so that a unit could never start with 'e'.
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    if (j < s.size() && is_digit(s[j])) {
      while (j < s.size() && is_digit(s[j])) ++j;
      i = j;
    }
  }
  return i;
}

bool starts_with_word(std::string_view s, std::string_view word) {
  if (s.size() < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != word[i]) return false;
  return true;
}

}  // namespace

std::string unit_expectation(UnitKind kind) {
  switch (kind) {
    case UnitKind::flop_rate:
      return "a flop rate such as 5Gf or 1.5Tf";
    case UnitKind::data_rate:
      return "a data rate such as 20Mbps or 1.25GBps";
    case UnitKind::time:
      return "a time such as 30ms or 2s";
    case UnitKind::data_size:
      return "a data size such as 10MB or 2GiB";
  }
  return "";
}

std::optional<double> parse_quantity(std::string_view text, UnitKind kind, std::string* why,
                                     std::vector<std::string>* notes) {
  const std::string quoted = "'" + std::string(text) + "'";
  auto fail = [&](const std::string& problem, std::vector<std::string> extra = {}) -> std::optional<double> {
    if (why) *why = problem + "; expected " + unit_expectation(kind);
    if (notes) *notes = std::move(extra);
    return std::nullopt;
  };
  if (text.empty()) return fail("empty value");

  std::string_view rest = text;
  const bool negative = rest.front() == '-';
  if (rest.front() == '+' || rest.front() == '-') rest.remove_prefix(1);
  const std::string_view word = rest.starts_with('.') ? rest.substr(1) : rest;  // YAML spells them .nan, .inf
  if (starts_with_word(word, "nan")) return fail(quoted + " is not a number (NaN)");
  if (starts_with_word(word, "inf")) return fail(quoted + " is infinite");

  const std::size_t length = number_length(rest);
  if (length == 0) return fail(quoted + " is not a number followed by a unit");
  double value = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + length, value);
  if (ec != std::errc() || end != rest.data() + length) return fail(quoted + " is out of range");
  if (negative && value != 0) return fail(quoted + " is negative");

  std::string_view unit = rest.substr(length);
  if (unit.starts_with(' ')) unit.remove_prefix(1);
  const std::string valid_note = "valid units are: " + joined_units(kind);
  if (unit.empty()) return fail(quoted + " needs a unit (a bare number is ambiguous)", {valid_note});
  for (char c : unit)
    if (std::isspace(static_cast<unsigned char>(c))) return fail(quoted + " has unexpected spaces");

  for (const auto& u : units_of(kind)) {
    if (u.name != unit) continue;
    const double si = value * u.factor;
    if (!std::isfinite(si)) return fail(quoted + " is out of range");
    return si;
  }
  std::vector<std::string> extra{valid_note};
  if (auto near = did_you_mean(std::string(unit), unit_names(kind)); !near.empty())
    extra.push_back("did you mean '" + std::string(text.substr(0, text.size() - unit.size())) + near + "'?");
  return fail("unknown unit '" + std::string(unit) + "' in " + quoted, std::move(extra));
}

}  // namespace dtsim
