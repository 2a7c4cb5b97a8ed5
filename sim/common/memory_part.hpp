// One part of a run's modelled peak memory, as the component that owns it reports it (DESIGN "memory":
// the estimate is the sum of the parts, so no dataset or model size is hard-coded in the engine).
#pragma once

#include <string>

namespace dtsim {

struct MemoryPart {
  std::string name;      // "data", "training", "platform", "process"
  double bytes = 0;
  std::string detail;    // what drives it, e.g. "(500000000 clients)"; may be empty
  std::string key_path;  // the scenario key to lower when this part is too large ("platform.clients.count")
};

}  // namespace dtsim
