// Strong ids (STYLE: "strong types for ids, not bare ints"): a ClientId cannot be passed where a
// WorkerId is expected, nor mixed up with a round number or a sample count.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace dtsim {

template <class Tag>
struct StrongId {
  std::int32_t value = 0;  // 0-based index into its population
  auto operator<=>(const StrongId&) const = default;
  std::size_t index() const { return static_cast<std::size_t>(value); }
};

using ClientId = StrongId<struct ClientTag>;  // a federated client, 0 <= value < platform.clients.count
using WorkerId = StrongId<struct WorkerTag>;  // a data-parallel worker
using DeviceId = StrongId<struct DeviceTag>;  // an expert-parallel device

}  // namespace dtsim

template <class Tag>
struct std::hash<dtsim::StrongId<Tag>> {
  std::size_t operator()(const dtsim::StrongId<Tag>& id) const noexcept { return std::hash<std::int32_t>{}(id.value); }
};
