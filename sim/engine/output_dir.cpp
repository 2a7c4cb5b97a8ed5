#include "sim/engine/output_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sim/report/csv_reader.hpp"

namespace fs = std::filesystem;

namespace dtsim::engine {

const std::vector<std::string>& run_file_names() {
  static const std::vector<std::string> names{"runs.csv",    "rounds.csv", "clients.csv", "platform.csv",
                                              "policy_metrics.csv", "run.yaml",   ".lock",       "checkpoint",
                                              "plots"};
  return names;
}

bool is_run_file(const std::string& name) {
  for (const auto& n : run_file_names()) {
    if (name == n) return true;
    // "<name>.tmp" (older dtsim) and "<name>.tmp.<pid>"
    if (name.starts_with(n + ".tmp") &&
        (name.size() == n.size() + 4 ||
         (name[n.size() + 4] == '.' && name.size() > n.size() + 5 &&
          std::all_of(name.begin() + static_cast<std::ptrdiff_t>(n.size() + 5), name.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))))
      return true;
  }
  return false;
}

bool run_lock_held(const fs::path& dir) {
  const int fd = ::open((dir / ".lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

RunLock::RunLock(const fs::path& dir) {
  fd_ = ::open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot create " + (dir / ".lock").string() + ": " + std::strerror(errno));
  // A reader probing the lock (run_lock_held: dtsim sweep, dtsim collect) holds it shared for a moment:
  // a few short waits tell that from a live run.
  bool locked = false;
  for (int attempt = 0; attempt < 50 && !locked; ++attempt) {
    locked = ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
    if (!locked && errno != EWOULDBLOCK) break;
    if (!locked) ::usleep(10'000);
  }
  if (!locked) {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("another dtsim run is using " + dir.string() + " (its .lock is held)");
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock; the file stays, harmless
}

void remove_run_files(const fs::path& dir, const std::vector<std::string>& keep) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (name != ".lock" && is_run_file(name) && std::find(keep.begin(), keep.end(), name) == keep.end())
      fs::remove_all(entry.path());
  }
}

namespace {

// Whether a folder can be written into, by trying: access(2) says yes to root everywhere, /proc included.
// The probe is a folder made and removed at once.
bool writable(const fs::path& dir) {
  std::string probe = (dir / ".dtsim-probe-XXXXXX").string();
  if (::mkdtemp(probe.data()) == nullptr) return false;
  ::rmdir(probe.c_str());
  return true;
}

void error(ParamsContext& ctx, const std::string& message, std::vector<std::string> notes = {}) {
  ctx.errors.add({{kCommandLine, 0, 0}, "--out", message, std::move(notes)});
}

}  // namespace

std::string first_difference(const YAML::Node& a, const YAML::Node& b, const std::string& path) {
  if (a.Type() != b.Type()) return path.empty() ? "(the whole scenario)" : path;
  if (a.IsScalar()) return a.Scalar() == b.Scalar() ? "" : path;
  if (a.IsSequence()) {
    if (a.size() != b.size()) return path;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (auto d = first_difference(a[i], b[i], path + "[" + std::to_string(i) + "]"); !d.empty()) return d;
    return "";
  }
  if (a.IsMap()) {
    for (const auto& kv : a) {
      const std::string key = kv.first.Scalar();
      const std::string sub = path.empty() ? key : path + "." + key;
      if (!b[key]) return sub;
      if (auto d = first_difference(kv.second, b[key], sub); !d.empty()) return d;
    }
    for (const auto& kv : b)
      if (!a[kv.first.Scalar()]) return path.empty() ? kv.first.Scalar() : path + "." + kv.first.Scalar();
  }
  return "";
}

OutputPlan check_output_dir(const fs::path& dir, OutputMode mode, const YAML::Node& resolved, ParamsContext& ctx) {
  OutputPlan plan;
  plan.dir = dir;
  plan.mode = mode;
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (fs::exists(status) && !fs::is_directory(status)) {
    error(ctx, "'" + dir.string() + "' exists and is not a folder", {"give --out a folder"});
    return plan;
  }
  if (!fs::exists(status)) {
    // The nearest existing ancestor must be a folder we may write into.
    fs::path up = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
    while (!up.empty() && !fs::exists(up, ec)) up = up.has_parent_path() && up.parent_path() != up ? up.parent_path() : fs::path(".");
    if (!fs::is_directory(up, ec))
      error(ctx, "cannot create '" + dir.string() + "': '" + up.string() + "' is not a folder");
    else if (!writable(up))
      error(ctx, "cannot create '" + dir.string() + "': '" + up.string() + "' is not writable");
    return plan;
  }
  if (!writable(dir)) {
    error(ctx, "'" + dir.string() + "' is not writable");
    return plan;
  }
  if (run_lock_held(dir)) {
    error(ctx, "a live dtsim run is using '" + dir.string() + "' (its .lock is held)",
          {"wait for it to end, or choose another --out"});
    return plan;
  }
  std::vector<std::string> foreign;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (name == ".lock") continue;  // left by any run, live or not
    if (is_run_file(name))
      plan.holds_run = true;
    else
      foreign.push_back(name);
  }
  std::sort(foreign.begin(), foreign.end());
  if (!plan.holds_run) return plan;
  switch (mode) {
    case OutputMode::fresh:
      error(ctx, "'" + dir.string() + "' holds an earlier run; dtsim never overwrites one",
            {"choose another --out, or --force to replace it, or --resume to continue it"});
      return plan;
    case OutputMode::force:
      if (!foreign.empty()) {
        std::string list;
        for (std::size_t i = 0; i < foreign.size() && i < 5; ++i) list += (i ? ", " : "") + foreign[i];
        error(ctx, "--force replaces only dtsim's own files, and '" + dir.string() + "' also holds: " + list +
                       (foreign.size() > 5 ? " and " + std::to_string(foreign.size() - 5) + " more" : ""),
              {"move them, or choose another --out"});
      }
      return plan;
    case OutputMode::resume:
      break;
  }
  // Resume: the same scenario, resolved, as the run in the folder.
  try {
    YAML::Node earlier = YAML::LoadFile((dir / "run.yaml").string());
    if (earlier.IsMap()) earlier.remove("provenance");
    YAML::Node now = YAML::Clone(resolved);
    if (now.IsMap()) now.remove("provenance");
    if (const auto key = first_difference(now, earlier, ""); !key.empty()) {
      error(ctx, "--resume: this scenario differs from the run in '" + dir.string() + "' at " + key,
            {"resume with the scenario and --set options that started it (its run.yaml), or choose another --out"});
      return plan;
    }
  } catch (const std::exception& e) {
    error(ctx, "--resume: cannot read the run in '" + dir.string() + "': " + e.what(),
          {"choose another --out, or --force to replace it"});
    return plan;
  }
  try {
    const auto runs = report::read_csv((dir / "runs.csv").string());
    if (!runs.rows.empty()) {
      const auto& outcome = runs.at(0, "status");
      plan.finished = outcome == "ok" || outcome == "diverged";
    }
  } catch (const std::exception&) {
    // no readable runs.csv: a run killed before it wrote one
  }
  try {
    plan.checkpoint = read_checkpoint(dir);
  } catch (const std::exception& e) {
    error(ctx, "--resume: " + std::string(e.what()), {"--force starts the run again from its first round"});
  }
  return plan;
}

}  // namespace dtsim::engine
