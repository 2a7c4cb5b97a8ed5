// Located configuration errors. Library code collects Diagnostics into an ErrorList and throws one
// ConfigError carrying all of them; only main() prints them (GCC format, so editors jump to them)
// and turns them into exit code 2.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace dtsim {

// Where a value came from: a file position (1-based line and column) or a command-line override.
struct Location {
  std::string file;  // scenario path, or "<command line>" for --set
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
};

enum class Severity { error, warning };

struct Diagnostic {
  Location where;
  std::string key_path;  // e.g. "platform.clients.speed"; may be empty for file-level errors
  std::string message;   // what was wrong, quoting the bad value and the expected form
  std::vector<std::string> notes;  // valid alternatives, "did you mean ...?"
  Severity severity = Severity::error;  // a warning: suspicious but valid (an error under --strict)
};

// "file:line:col: error: key.path: message" followed by one "  note: ..." line per note.
std::string format_diagnostic(const Diagnostic& d);

// Keeps the first kMaxKept diagnostics and counts the rest: a hostile file can hold tens of thousands of
// errors (one per unknown key), and megabytes of them help nobody.
class ErrorList {
 public:
  static constexpr std::size_t kMaxKept = 100;

  void add(Diagnostic d) {
    if (items_.size() < kMaxKept)
      items_.push_back(std::move(d));
    else
      ++omitted_;
  }
  bool empty() const { return items_.empty(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  std::vector<Diagnostic> warnings() const { return {}; }  // TEMP shim until the schema work lands
  std::size_t omitted() const { return omitted_; }  // errors found beyond the kept ones
  // Throws ConfigError with every kept diagnostic (and the count of omitted ones) when any was added.
  void throw_if_any(bool strict = false) const;

 private:
  std::vector<Diagnostic> items_;
  std::size_t omitted_ = 0;
};

class ConfigError : public std::runtime_error {
 public:
  // `omitted`: further errors that were found but not kept (ErrorList::kMaxKept).
  explicit ConfigError(std::vector<Diagnostic> diagnostics, std::size_t omitted = 0);
  // A single error without a file position (bad command-line argument).
  explicit ConfigError(const std::string& message);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  std::size_t omitted() const { return omitted_; }
  std::vector<Diagnostic> warnings() const { return {}; }  // TEMP shim

 private:
  std::vector<Diagnostic> diagnostics_;
  std::size_t omitted_ = 0;
};

// Levenshtein-based suggestion: the closest candidate within distance max(2, |word|/3), or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace dtsim
