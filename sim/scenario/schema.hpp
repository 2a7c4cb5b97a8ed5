// TEMP stub until the schema work lands.
#pragma once
#include <string>
namespace dtsim {
std::string schema_text();
std::string schema_markdown();
}  // namespace dtsim
