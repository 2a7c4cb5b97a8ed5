#include "sim/scenario/config_error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string_view>

namespace dtsim {

std::string escape_control(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x20 || lead == 0x7F) {
      out += fmt::format("\\x{:02x}", lead);
      ++i;
      continue;
    }
    if (lead < 0x80) {
      out += static_cast<char>(lead);
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence is copied whole unless it encodes a control; anything else is escaped bytewise.
    const std::size_t length = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
    bool valid = length != 0 && i + length <= text.size();
    char32_t cp = length == 2 ? lead & 0x1F : length == 3 ? lead & 0x0F : lead & 0x07;
    for (std::size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xC0) == 0x80;
      cp = (cp << 6) | (next & 0x3F);
    }
    const char32_t least = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (!valid || cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      out += fmt::format("\\x{:02x}", lead);
      ++i;
      continue;
    }
    const bool control = (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
                         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
    if (control)
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
    else
      out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

std::string shortened(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes > 20 ? max_bytes - 20 : 0;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  return std::string(text.substr(0, cut)) + fmt::format("... ({} bytes)", text.size());
}

std::string format_diagnostic(const Diagnostic& d) {
  std::string out = escape_control(d.where.file);
  if (d.where.line > 0) {
    out += ":" + std::to_string(d.where.line);
    if (d.where.column > 0) out += ":" + std::to_string(d.where.column);
  }
  const std::string_view label = d.severity == Severity::warning ? "warning: " : "error: ";
  if (!out.empty()) out += ": ";
  out += label;
  if (!d.key_path.empty()) out += escape_control(d.key_path) + ": ";
  out += escape_control(d.message);
  for (const auto& note : d.notes) out += "\n  note: " + escape_control(note);
  return out;
}

std::vector<Diagnostic> in_file_order(std::vector<Diagnostic> diagnostics) {
  std::vector<std::string> files;  // in the order they first appear
  for (const auto& d : diagnostics)
    if (d.where.file != kCommandLine && std::find(files.begin(), files.end(), d.where.file) == files.end())
      files.push_back(d.where.file);
  auto rank = [&files](const Diagnostic& d) {
    return static_cast<std::size_t>(std::find(files.begin(), files.end(), d.where.file) - files.begin());
  };
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [&rank](const Diagnostic& a, const Diagnostic& b) {
    const std::size_t ra = rank(a), rb = rank(b);
    if (ra != rb) return ra < rb;
    if (a.where.line != b.where.line) return a.where.line < b.where.line;
    return a.where.column < b.where.column;
  });
  return diagnostics;
}

void ErrorList::add(Diagnostic d) {
  const bool warning = d.severity == Severity::warning;
  auto& kept = warning ? warnings_ : items_;
  if (kept.size() < kMaxKept)
    kept.push_back(std::move(d));
  else
    ++(warning ? omitted_warnings_ : omitted_);
}

void ErrorList::throw_if_any(bool strict) const {
  if (!strict) {
    if (!items_.empty()) throw ConfigError(in_file_order(items_), omitted_, warnings());
    return;
  }
  if (items_.empty() && warnings_.empty()) return;
  std::vector<Diagnostic> all = items_;
  for (Diagnostic w : warnings_) {
    w.severity = Severity::error;
    w.notes.emplace_back("a warning, made an error by --strict");
    all.push_back(std::move(w));
  }
  throw ConfigError(in_file_order(std::move(all)), omitted_ + omitted_warnings_);
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

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics, std::size_t omitted, std::vector<Diagnostic> warnings)
    : std::runtime_error(join_diagnostics(diagnostics, omitted)),
      diagnostics_(std::move(diagnostics)),
      omitted_(omitted),
      warnings_(std::move(warnings)) {}

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
