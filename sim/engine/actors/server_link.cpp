#include "sim/engine/actors/server_link.hpp"

#include <algorithm>
#include <limits>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine::actors {

struct ServerLink::State {
  std::vector<double> latency_s;  // by client
  SharedLinkSchedule down, up;
  std::vector<Transfer*> down_transfers, up_transfers;  // by flow id, while in flight
  sg4::SemaphorePtr wake = sg4::Semaphore::create(0);
  // When the daemon wakes by itself (kNever: only when woken); −∞ once woken and not yet run.
  double sleeping_until = -std::numeric_limits<double>::infinity();

  State(double bandwidth, const std::vector<FlowClass>& classes, std::vector<double> latencies)
      : latency_s(std::move(latencies)), down(bandwidth, classes), up(bandwidth, classes) {}

  SharedLinkSchedule& schedule(Direction d) { return d == Direction::download ? down : up; }
  std::vector<Transfer*>& transfers(Direction d) { return d == Direction::download ? down_transfers : up_transfers; }
  double next_event() const { return std::min(down.next_event_s(), up.next_event_s()); }

  // Processes both schedules up to now and wakes the tasks whose transfers finished.
  void advance() {
    const double now = sg4::Engine::get_clock();
    for (Direction d : {Direction::download, Direction::upload}) {
      schedule(d).advance(now);
      for (const auto id : schedule(d).take_finished()) {
        Transfer*& t = transfers(d)[static_cast<std::size_t>(id)];
        t->finished = true;
        t->done->release();
        t = nullptr;
      }
    }
  }
  // After a change: the daemon must wake before its planned time if an event now comes first.
  void reschedule() {
    if (next_event() < sleeping_until) {
      sleeping_until = -std::numeric_limits<double>::infinity();
      wake->release();
    }
  }
};

ServerLink::ServerLink(sg4::Host* server, double bandwidth_bytes_per_s, const std::vector<Route>& routes) {
  std::vector<FlowClass> classes(routes.size());
  std::vector<double> latencies(routes.size());
  for (std::size_t i = 0; i < routes.size(); ++i) {
    // SimGrid's sharing penalty is the route's latency (1 when it is 0: the variable starts at 1).
    const double penalty = routes[i].latency_s > 0 ? routes[i].latency_s : 1.0;
    classes[i] = {routes[i].cap_bytes_per_s, 1.0 / penalty};
    latencies[i] = routes[i].latency_s;
  }
  state_ = std::make_shared<State>(bandwidth_bytes_per_s, classes, std::move(latencies));
  sg4::Actor::create("server-link", server, [s = state_] {
    for (;;) {
      const double next = s->next_event();
      s->sleeping_until = next;
      if (next == SharedLinkSchedule::kNever)
        s->wake->acquire();
      else if (const double left = next - sg4::Engine::get_clock(); left > 0)
        s->wake->acquire_timeout(left);
      s->sleeping_until = -std::numeric_limits<double>::infinity();
      s->advance();
    }
  })->daemonize();
}

std::shared_ptr<ServerLink::Transfer> ServerLink::start(Direction direction, ClientId client, double bytes) {
  State& s = *state_;
  s.advance();
  auto t = std::make_shared<Transfer>();
  t->direction = direction;
  t->done = sg4::Semaphore::create(0);
  const auto c = static_cast<std::size_t>(client.value);
  t->flow = s.schedule(direction).start(c, bytes, s.latency_s.at(c), sg4::Engine::get_clock());
  auto& slots = s.transfers(direction);
  if (slots.size() <= static_cast<std::size_t>(t->flow)) slots.resize(static_cast<std::size_t>(t->flow) + 1, nullptr);
  slots[static_cast<std::size_t>(t->flow)] = t.get();
  for (const auto id : s.schedule(direction).take_finished()) {  // a transfer of nothing on a route of no latency
    Transfer*& done = slots[static_cast<std::size_t>(id)];
    done->finished = true;
    done->done->release();
    done = nullptr;
  }
  s.reschedule();
  return t;
}

void ServerLink::wait(Transfer& t) {
  if (!t.finished && !t.cancelled) t.done->acquire();
}

bool ServerLink::wait_for(Transfer& t, double timeout) {
  if (!t.finished && !t.cancelled) t.done->acquire_timeout(timeout);
  return t.finished;
}

double ServerLink::remaining(Transfer& t) {
  if (t.finished || t.cancelled) return 0;
  state_->advance();
  return t.finished ? 0 : state_->schedule(t.direction).remaining(t.flow, sg4::Engine::get_clock());
}

void ServerLink::cancel(Transfer& t) {
  State& s = *state_;
  s.advance();
  if (t.finished || t.cancelled) return;
  s.schedule(t.direction).cancel(t.flow, sg4::Engine::get_clock());
  s.transfers(t.direction)[static_cast<std::size_t>(t.flow)] = nullptr;
  t.cancelled = true;
  t.done->release();
  s.reschedule();
}

}  // namespace dtsim::engine::actors
