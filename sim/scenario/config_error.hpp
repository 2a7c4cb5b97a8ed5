// Located configuration errors and warnings. Library code collects Diagnostics into an ErrorList and
// throws one ConfigError carrying all of its errors; only main() prints them (GCC format, so editors jump
// to them) and turns them into exit code 2. Warnings (suspicious but valid values) are kept apart: they
// never stop a run unless `strict` (--strict) turns them into errors.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dtsim {

// Where a value came from: a file position (1-based line and column) or a command-line override.
struct Location {
  std::string file;  // scenario path, or "<command line>" for --set
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
};

// The file name of locations on the command line (--set).
inline constexpr const char* kCommandLine = "<command line>";

enum class Severity { error, warning };

struct Diagnostic {
  Location where;
  std::string key_path;                 // e.g. "platform.clients.speed"; may be empty for file-level errors
  std::string message;                  // what was wrong, quoting the bad value and the expected form
  std::vector<std::string> notes;       // valid alternatives, "did you mean ...?"
  Severity severity = Severity::error;  // a warning: suspicious but valid (an error under --strict)
};

// "file:line:col: error: key.path: message" (or "warning:") followed by one "  note: ..." line per note.
// Every field goes through escape_control: a value quoted from a scenario or the command line can hold
// terminal escapes ("\e[31m" in a double-quoted YAML string), which would otherwise reach the terminal raw.
std::string format_diagnostic(const Diagnostic& d);

// `diagnostics` sorted stably by (file, in the order files first appear; line; column), the command-line
// ones after every file's: the order a reader walks the scenario in.
std::vector<Diagnostic> in_file_order(std::vector<Diagnostic> diagnostics);

// Keeps the first kMaxKept errors and, apart, the first kMaxKept warnings, and counts the rest: a hostile
// file can hold tens of thousands of errors (one per unknown key), and megabytes of them help nobody.
class ErrorList {
 public:
  static constexpr std::size_t kMaxKept = 100;

  // Files `d` among the errors or the warnings, by its severity.
  void add(Diagnostic d);
  bool empty() const { return items_.empty(); }                    // no errors (warnings may exist)
  const std::vector<Diagnostic>& items() const { return items_; }  // the errors, in the order found
  std::size_t omitted() const { return omitted_; }                 // errors found beyond the kept ones
  // The warnings in file order (in_file_order), for main to print after a successful load.
  std::vector<Diagnostic> warnings() const { return in_file_order(warnings_); }
  std::size_t omitted_warnings() const { return omitted_warnings_; }
  // Throws ConfigError with every kept error in file order (and the count of omitted ones) when any was
  // added. `strict` (--strict): warnings count as errors too, their severity turned to error.
  void throw_if_any(bool strict = false) const;

 private:
  std::vector<Diagnostic> items_;
  std::vector<Diagnostic> warnings_;
  std::size_t omitted_ = 0;
  std::size_t omitted_warnings_ = 0;
};

class ConfigError : public std::runtime_error {
 public:
  // `omitted`: further errors that were found but not kept (ErrorList::kMaxKept). `warnings` ride along
  // (not in what()), so that main can print them with the errors.
  explicit ConfigError(std::vector<Diagnostic> diagnostics, std::size_t omitted = 0,
                       std::vector<Diagnostic> warnings = {});
  // A single error without a file position (bad command-line argument).
  explicit ConfigError(const std::string& message);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  std::size_t omitted() const { return omitted_; }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }  // in file order

 private:
  std::vector<Diagnostic> diagnostics_;
  std::size_t omitted_ = 0;
  std::vector<Diagnostic> warnings_;
};

// `text` with every character that could move a terminal's cursor, recolour it or reorder what it shows
// written as an escape: C0 controls and DEL as \xNN ("\x1b"; also tab, CR and newline), C1 controls and the
// bidirectional controls (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) as \uNNNN, and each byte of
// invalid UTF-8 as \xNN. Other text, backslashes included, is unchanged.
std::string escape_control(std::string_view text);

// `text` as quoted in a message: at most about `max_bytes`, cut at a UTF-8 character boundary with
// "... (N bytes)" appended when longer (a value may be megabytes, and each error about it quotes it).
std::string shortened(std::string_view text, std::size_t max_bytes = 120);

// Levenshtein-based suggestion: the closest candidate within distance max(2, |word|/3), or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace dtsim
