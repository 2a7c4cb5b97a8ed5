#include "sim/scenario/config_error.hpp"

#include <algorithm>
#include <cctype>

namespace dtsim {

std::string format_diagnostic(const Diagnostic& d) {
  std::string out = d.where.file;
  if (d.where.line > 0) {
    out += ":" + std::to_string(d.where.line);
    if (d.where.column > 0) out += ":" + std::to_string(d.where.column);
  }
  out += out.empty() ? "error: " : ": error: ";
  if (!d.key_path.empty()) out += d.key_path + ": ";
  out += d.message;
  for (const auto& note : d.notes) out += "\n  note: " + note;
  return out;
}

void ErrorList::throw_if_any(bool) const {
  if (!items_.empty()) throw ConfigError(items_, omitted_);
}

namespace {

std::string join_diagnostics(const std::vector<Diagnostic>& diagnostics, std::size_t omitted) {
  std::string out;
  for (const auto& d : diagnostics) out += (out.empty() ? "" : "\n") + format_diagnostic(d);
  if (omitted > 0) out += "\n... and " + std::to_string(omitted) + " more error" + (omitted == 1 ? "" : "s");
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::size_t levenshtein(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics, std::size_t omitted)
    : std::runtime_error(join_diagnostics(diagnostics, omitted)),
      diagnostics_(std::move(diagnostics)),
      omitted_(omitted) {}

namespace {
std::vector<Diagnostic> single(const std::string& message) {
  Diagnostic d;
  d.message = message;
  return {d};
}
}  // namespace

ConfigError::ConfigError(const std::string& message) : ConfigError(single(message)) {}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  if (word.empty()) return "";
  const std::string needle = lower(word);
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    // The distance is at least the difference in length: skip the quadratic work when that already loses.
    const std::size_t gap =
        word.size() > candidate.size() ? word.size() - candidate.size() : candidate.size() - word.size();
    if (gap >= best_distance) continue;
    const std::size_t distance = levenshtein(needle, lower(candidate));
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace dtsim
