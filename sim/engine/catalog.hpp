// What `dtsim list` prints: every registered component (policies, datasets, partitions, models,
// topologies, paradigms with the training keys they read), the distributions, the backends, and every
// scenario key of the schema table. catalog_markdown() is the same reference as markdown: it is
// docs/scenario.md, and a test fails when that file is stale.
#pragma once

#include <string>

namespace dtsim::engine {

std::string catalog_text();
std::string catalog_markdown();

}  // namespace dtsim::engine
