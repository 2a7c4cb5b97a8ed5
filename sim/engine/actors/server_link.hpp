// A star's server link shared exactly by dtsim instead of SimGrid's solver (issue "Scale": the exact fast
// path; platform.solver: auto under network_model: analytic when the clients can saturate the link). The
// sharing is SharedLinkSchedule's — SimGrid's own CM02 semantics, O(log N) per event where SimGrid
// re-solves every flow crossing the link — one schedule per direction (the link is split-duplex and
// analytic has no cross-traffic, so downloads and uploads never meet). SimGrid keeps the clock, the hosts,
// the computations and every other activity: a daemon actor on the server sleeps until the next event of
// the schedules and wakes the tasks whose transfers finished. A transfer's task waits on its own
// semaphore; a stop (collector, crash, going offline) takes the transfer out of the sharing at once.
//
// A task without dynamics may run folded into the solver (Task::start_folded): its transfers call back
// when they finish, and its computation is a timer (flops / host speed, as SimGrid's execution of it alone
// on its host would take), so it costs no actor and no SimGrid activity. Every event — the two directions'
// and the timers' — is processed in time order, each at its own time.
#pragma once

#include <simgrid/s4u.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "sim/common/ids.hpp"
#include "sim/engine/actors/shared_link.hpp"

namespace dtsim::engine::actors {

class ServerLink {
 public:
  // A client's route to the server, as SimGrid would route it through the server's link.
  struct Route {
    double cap_bytes_per_s = 0;  // its smallest bandwidth: min(the client's link, the server's)
    double latency_s = 0;        // its summed latency (the client's link's + the server's)
    double host_speed_flops_per_s = 0;  // the client's host (a folded computation's rate)
    // The client's link bandwidth over time (dynamics.bandwidth_profile): (absolute time, bytes/s) in time
    // order, cap_bytes_per_s's link bandwidth before the first; null: none. SimGrid bounds a transfer by its
    // route's bandwidth when it starts and its link by the profile's current value, so a transfer's cap is
    // min(server, link at its start, link now).
    const std::vector<std::pair<double, double>>* bandwidth_steps = nullptr;
  };
  enum class Direction { download, upload };
  struct Transfer {
    Direction direction = Direction::download;
    SharedLinkSchedule::FlowId flow = 0;
    simgrid::s4u::SemaphorePtr done;  // released once: finished or cancelled (none with on_finish)
    std::function<void(double)> on_finish;  // else: called with the time it finished
    bool finished = false, cancelled = false;
    std::vector<std::uint64_t> cap_changes;  // its timers at the bandwidth profile's later steps
  };
  using TimerId = std::uint64_t;

  // The link's bandwidth in each direction (bytes/s); `routes` by client id (their cap_bytes_per_s: the
  // smaller of the server's and the client's drawn link bandwidth). Creates the daemon actor.
  ServerLink(simgrid::s4u::Host* server, double bandwidth_bytes_per_s, const std::vector<Route>& routes);
  ServerLink(const ServerLink&) = delete;
  ServerLink& operator=(const ServerLink&) = delete;

  // A transfer of `bytes` between `client` and the server, from now; waited for with wait / wait_for.
  std::shared_ptr<Transfer> start(Direction direction, ClientId client, double bytes);
  // The same from time `at` (now, or the time of the event being processed), calling `on_finish` instead.
  std::shared_ptr<Transfer> start(Direction direction, ClientId client, double bytes, double at,
                                  std::function<void(double)> on_finish);
  // Calls `fire` with `at` once the clock reaches it (in time order with the transfers' events).
  TimerId add_timer(double at, std::function<void(double)> fire);
  void cancel_timer(TimerId timer);
  // Every task in flight runs folded (a round without dynamics): no input can come before `horizon` (the
  // round's deadline, or never) but from an arrival, so the solver may process its other events ahead of
  // the clock — a download ending, a computation ending, an upload's latency — and sleeps only until the
  // next arrival: about 2 wakes a client instead of 5. Off again with run_ahead_until(−∞); an input
  // behind what it processed is a logic error (thrown), never a silent one.
  void run_ahead_until(double horizon);
  void wait(Transfer& t);
  // Waits at most `timeout` seconds; whether it finished.
  bool wait_for(Transfer& t, double timeout);
  // Bytes it has left now.
  double remaining(Transfer& t);
  // Out of the sharing now, unless finished; its waiter returns.
  void cancel(Transfer& t);
  // The client's host speed (flops/s), as its route gave it: read here, not from SimGrid's host, for
  // every folded computation.
  double host_speed(ClientId client) const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the daemon actor, which may outlive this object at the end
};

}  // namespace dtsim::engine::actors
