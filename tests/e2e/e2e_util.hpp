// Helpers for tests that run the dtsim binary (one SimGrid engine per process, DESIGN.md).
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/report/csv_reader.hpp"

extern "C" char** environ;

namespace e2e {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string out, err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A fresh, empty scratch folder under the system temp dir.
inline fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / "dtsim_e2e" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Runs `dtsim args...` in `cwd`, capturing stdout, stderr and the exit code.
inline Result run_dtsim(const std::vector<std::string>& args, const fs::path& cwd = fs::current_path()) {
  static int counter = 0;
  const auto tmp = fs::temp_directory_path() / "dtsim_e2e" / "capture";
  fs::create_directories(tmp);
  // Per process: ctest -j runs several test files at once, each counting from 1.
  const std::string tag = std::to_string(::getpid()) + "_" + std::to_string(++counter);
  const auto out = tmp / ("out" + tag);
  const auto err = tmp / ("err" + tag);
  std::string cmd = "cd " + quote(cwd.string()) + " && " + quote(DTSIM_BINARY);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote(out.string()) + " 2>" + quote(err.string()) + " </dev/null";
  const int status = std::system(cmd.c_str());
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// Starts `dtsim args...` without waiting (to signal or kill it): stdout to /dev/null, stderr to `err`.
// Returns its pid; throws std::runtime_error when it cannot start.
inline pid_t spawn(std::vector<std::string> args, const fs::path& err) {
  args.insert(args.begin(), DTSIM_BINARY);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int failed = posix_spawn(&pid, DTSIM_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (failed != 0) throw std::runtime_error(std::string("cannot start ") + DTSIM_BINARY);
  return pid;
}

// `args` followed by one "--set KEY=VALUE" pair per entry of `sets`.
inline std::vector<std::string> with_sets(std::vector<std::string> args, const std::vector<std::string>& sets) {
  for (const auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  return args;
}

using Table = std::vector<std::map<std::string, std::string>>;

// A CSV file written by dtsim, read by dtsim's own reader (sim/report/csv_reader.hpp), as rows keyed by
// column. A missing file reads as no rows.
inline Table read_csv(const fs::path& p) {
  Table rows;
  if (!fs::exists(p)) return rows;
  const auto t = dtsim::report::read_csv(p.string());
  for (const auto& cells : t.rows) {
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < t.header.size(); ++i) row[t.header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

inline fs::path source_dir() { return fs::path(DTSIM_SOURCE_DIR); }

}  // namespace e2e
