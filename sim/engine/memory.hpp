// The run's modelled peak memory: the sum of the parts each component reports (dataset source, learner,
// platform builder, paradigm, the process itself), checked against --mem-limit before anything starts.
#pragma once

#include <string>
#include <vector>

#include "sim/common/memory_part.hpp"
#include "sim/scenario/params.hpp"

namespace dtsim::engine {

// How the run executes, as far as its memory goes: the backend's threads, --chunk (0 = the backend's
// preference) and whether it trains whole clients concurrently, one per thread (the CPU backend: its
// slots follow the threads) or in batched calls of `chunk` clients (CUDA: slots follow the chunk).
struct ExecutionShape {
  int threads = 0;  // 0: the CPUs this process may use
  std::int64_t chunk = 0;
  bool concurrent = true;
};

struct MemoryEstimate {
  std::vector<MemoryPart> parts;
  double total() const;
  const MemoryPart* largest() const;  // nullptr when empty
};

// The process's own footprint (code, libraries, SimGrid's engine, the backend's threads): 40 MiB, measured
// (peak RSS of dtsim run on 2 clients: 38 MiB timing-only, 41 MiB training a logistic model).
MemoryPart process_memory();

// The memory this process may use: MemAvailable (the physical memory when /proc is unreadable), no more
// than the cgroup's memory.max (a Slurm job, a container). 0 when nothing can be read.
double memory_limit_bytes();

// "53.5 TiB"
std::string format_bytes(double bytes);

// Whether `need` fits in `limit_bytes` (0: the memory this process may use); if not, records an error,
// with every part, at the key of the largest part.
bool check_memory(const MemoryEstimate& need, double limit_bytes, ParamsContext& context);

}  // namespace dtsim::engine
