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

MemoryPart process_memory() { return {"process", 64.0 * 1024 * 1024, "", ""}; }

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

}  // namespace dtsim::engine
