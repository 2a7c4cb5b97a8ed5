#include "sim/engine/memory.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace dtsim::engine {

double MemoryEstimate::total() const {
  double sum = 0;
  for (const auto& p : parts) sum += p.bytes;
  return sum;
}

const MemoryPart* MemoryEstimate::largest() const {
  const MemoryPart* best = nullptr;
  for (const auto& p : parts)
    if (!best || p.bytes > best->bytes) best = &p;
  return best;
}

MemoryPart process_memory() { return {"process", 40.0 * 1024 * 1024, "", ""}; }

namespace {
double available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  double kib = 0;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024.0;
  return 0;
}
}  // namespace

double memory_limit_bytes() {
  double limit = available_memory_bytes();
  if (limit <= 0) {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) limit = static_cast<double>(pages) * static_cast<double>(page);
  }
  std::ifstream cgroup_max("/sys/fs/cgroup/memory.max");
  double cap = 0;
  if (cgroup_max >> cap && cap > 0) limit = limit > 0 ? std::min(limit, cap) : cap;
  return limit;
}

std::string format_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024 && u < 5) {
    b /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f %s", b, units[u]);
  return buf;
}

bool check_memory(const MemoryEstimate& need, double limit_bytes, ParamsContext& context) {
  const bool given = limit_bytes > 0;
  const double limit = given ? limit_bytes : memory_limit_bytes();
  if (limit <= 0 || need.total() <= limit) return true;
  std::string parts;
  for (const auto& p : need.parts)
    parts += (parts.empty() ? "" : ", ") + p.name + " " + format_bytes(p.bytes) + (p.detail.empty() ? "" : " " + p.detail);
  report_at(context, Severity::error, need.largest()->key_path,
            "this run needs an estimated " + format_bytes(need.total()) + " of memory, more than the limit of " +
                format_bytes(limit) + (given ? " (--mem-limit)" : " (the memory available on this machine)"),
            {"estimated: " + parts,
             "lower platform.clients.count, training.clients_per_round or the model size, or raise --mem-limit"});
  return false;
}

}  // namespace dtsim::engine
