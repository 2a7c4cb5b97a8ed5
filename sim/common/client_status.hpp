// How one participant's part in a round ended (DESIGN "actors::Task"): shared by the engine's records,
// the CSV files and the scheduling policies' feedback.
#pragma once

namespace dtsim {

enum class ClientStatus {
  completed,    // its update arrived and was used
  late,         // not arrived when the round stopped without reaching its K (deadline): update unused
  dropped,      // not used because the round already had its K updates (over-selection)
  crashed,      // failed during its task (dynamics.crash)
  unavailable,  // went offline during its task (dynamics.availability)
};

constexpr const char* to_string(ClientStatus s) {
  switch (s) {
    case ClientStatus::completed:
      return "completed";
    case ClientStatus::late:
      return "late";
    case ClientStatus::dropped:
      return "dropped";
    case ClientStatus::crashed:
      return "crashed";
    case ClientStatus::unavailable:
      return "unavailable";
  }
  return "?";
}

}  // namespace dtsim
