#include "sim/sweep/slurm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace dtsim::sweep {

std::string shell_quote(const std::string& word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-' || c == '=' || c == ':' || c == '+' ||
           c == ',' || c == '@';
  });
  if (plain) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string sbatch_script(const std::filesystem::path& dir, const SweepRecord& sweep, const SlurmOptions& options,
                          const std::string& dtsim, const std::vector<std::string>& run_options) {
  const std::string where = std::filesystem::absolute(dir).lexically_normal().string();
  std::string s = "#!/bin/bash\n";
  s += fmt::format("# dtsim sweep --emit slurm: {} points of {}, one array task each.\n", sweep.points.size(), sweep.name);
  s += fmt::format("#   submit: sbatch {}/sweep.sbatch      then: dtsim collect {}\n", where, where);
  s += "# Each task runs `dtsim run <point>/run.yaml --out <point> --resume` in the sweep's folder: a requeued\n"
       "# task continues from its checkpoint, a finished one does nothing. Its output goes to <point>/log.\n";
  s += fmt::format("#SBATCH --job-name=dtsim-{}\n", sweep.name);
  s += fmt::format("#SBATCH --array=0-{}\n", sweep.points.size() - 1);
  s += fmt::format("#SBATCH --cpus-per-task={}\n", options.cpus);
  if (options.memory_bytes > 0)
    s += fmt::format("#SBATCH --mem={}M\n", static_cast<long long>(std::ceil(options.memory_bytes / 1048576.0)));
  if (!options.time.empty()) s += "#SBATCH --time=" + options.time + "\n";
  if (!options.partition.empty()) s += "#SBATCH --partition=" + options.partition + "\n";
  if (!options.constraint.empty()) s += "#SBATCH --constraint=" + options.constraint + "\n";
  s += "#SBATCH --output=" + where + "/slurm-%A_%a.out\n";
  s += "set -euo pipefail\n";
  s += "cd " + shell_quote(where) + "\n";
  s += "points=(";
  for (const auto& p : sweep.points) s += "\n  " + shell_quote(p.folder);
  s += "\n)\n";
  s += "point=${points[$SLURM_ARRAY_TASK_ID]}\n";
  std::string rest;
  for (const auto& o : run_options) rest += " " + shell_quote(o);
  s += "echo \"=== dtsim sweep (slurm job ${SLURM_ARRAY_JOB_ID:-?}_${SLURM_ARRAY_TASK_ID} on $(hostname))\" >>\"$point/log\"\n";
  s += "exec " + shell_quote(dtsim) + " run \"$point/run.yaml\" --out \"$point\" --resume --threads \"${SLURM_CPUS_PER_TASK:-" +
       std::to_string(options.cpus) + "}\"" + rest + " >>\"$point/log\" 2>&1\n";
  return s;
}

}  // namespace dtsim::sweep
