#include "sim/sweep/folder.hpp"

#include <algorithm>
#include <cctype>

#include "sim/engine/output_dir.hpp"

namespace fs = std::filesystem;

namespace dtsim::sweep {

namespace {

// A point's folder: four or more digits, then the end or '-' ("0003-fedprox_0.01-s2").
bool looks_like_point(const std::string& name) {
  std::size_t digits = 0;
  while (digits < name.size() && std::isdigit(static_cast<unsigned char>(name[digits]))) ++digits;
  return digits >= 4 && (digits == name.size() || name[digits] == '-');
}

bool is_sweep_file(const std::string& name) {
  return name == "sweep.yaml" || name == "runs.csv" || name == "sweep.sbatch" || name == "plots" ||
         (name.starts_with("slurm-") && name.ends_with(".out")) || name.starts_with("sweep.yaml.tmp") ||
         name.starts_with("runs.csv.tmp");
}

bool is_point_file(const std::string& name) { return name == "log" || engine::is_run_file(name); }

std::vector<fs::path> point_folders(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec) && looks_like_point(e.path().filename().string())) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> check_sweep_dir(const fs::path& dir, SweepMode mode, const SweepRecord& now) {
  std::vector<std::string> problems;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return problems;
  if (!fs::is_directory(dir, ec)) return {"'" + dir.string() + "' exists and is not a folder"};
  if (engine::run_lock_held(dir)) return {"a live dtsim sweep is using '" + dir.string() + "' (its .lock is held)"};
  bool holds_sweep = false;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if ((is_sweep_file(name) && name != "plots") || looks_like_point(name)) holds_sweep = true;
  }
  if (!holds_sweep) return problems;
  switch (mode) {
    case SweepMode::fresh:
      problems.push_back("'" + dir.string() +
                         "' holds an earlier sweep; dtsim never overwrites one (choose another --out, or --force to "
                         "replace it, or --resume to continue it)");
      break;
    case SweepMode::force:
      for (const auto& folder : point_folders(dir)) {
        if (engine::run_lock_held(folder)) {
          problems.push_back("a live dtsim run is using '" + folder.string() + "' (its .lock is held)");
          continue;
        }
        for (const auto& e : fs::directory_iterator(folder, ec))
          if (const auto name = e.path().filename().string(); !is_point_file(name))
            problems.push_back("--force replaces only dtsim's own files, and '" + folder.string() + "' also holds " + name);
      }
      break;
    case SweepMode::resume:
      try {
        const SweepRecord earlier = read_record(dir);
        if (const auto d = difference(earlier, now); !d.empty())
          problems.push_back("--resume: this sweep differs from the one in '" + dir.string() + "': " + d +
                             " (resume with the scenario, --set, --grid, --zip and --seeds that started it)");
      } catch (const std::exception& e) {
        problems.push_back("--resume: cannot read the sweep in '" + dir.string() + "': " + e.what());
      }
      break;
  }
  return problems;
}

void clear_sweep_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  for (const auto& folder : point_folders(dir)) {
    for (const auto& e : fs::directory_iterator(folder, ec))
      if (const auto name = e.path().filename().string(); is_point_file(name) && name != ".lock") fs::remove_all(e.path());
    fs::remove(folder / ".lock", ec);
    fs::remove(folder, ec);  // only when empty
  }
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (is_sweep_file(e.path().filename().string())) fs::remove_all(e.path());
}

}  // namespace dtsim::sweep
