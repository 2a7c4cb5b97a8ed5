#include "sim/engine/actors/server_link.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine::actors {

struct ServerLink::State {
  std::vector<double> latency_s;  // by client
  std::vector<double> speed;      // by client: its host's flops/s
  // Bandwidth profiles: by client, its steps (null: none), its drawn link bandwidth, and the classes of the
  // caps its steps can give (cap → class; the client's own class is its drawn cap).
  double server_bandwidth = 0;
  std::vector<const std::vector<std::pair<double, double>>*> steps;
  std::vector<double> link_bandwidth;
  std::vector<std::map<double, std::size_t>> step_classes;
  SharedLinkSchedule down, up;
  std::vector<Transfer*> down_transfers, up_transfers;  // by flow id, while in flight
  std::map<std::pair<double, TimerId>, std::function<void(double)>> timers;  // in time order, then creation
  std::map<TimerId, double> timer_times;
  TimerId next_timer = 0;
  sg4::SemaphorePtr wake = sg4::Semaphore::create(0);
  // When the daemon wakes by itself (kNever: only when woken); −∞ once woken and not yet run.
  double sleeping_until = -std::numeric_limits<double>::infinity();

  State(double bandwidth, const std::vector<FlowClass>& classes, std::vector<double> latencies)
      : latency_s(std::move(latencies)), down(bandwidth, classes), up(bandwidth, classes) {}

  SharedLinkSchedule& schedule(Direction d) { return d == Direction::download ? down : up; }
  std::vector<Transfer*>& transfers(Direction d) { return d == Direction::download ? down_transfers : up_transfers; }
  double next_timer_time() const { return timers.empty() ? SharedLinkSchedule::kNever : timers.begin()->first.first; }
  double next_event() const { return std::min({down.next_event_s(), up.next_event_s(), next_timer_time()}); }

  // The transfers of direction `d` that finished (at `t`): their waiters wake, or their callbacks run.
  void settle(Direction d, double t) {
    for (const auto id : schedule(d).take_finished()) {
      Transfer*& slot = transfers(d)[static_cast<std::size_t>(id)];
      Transfer* done = slot;
      slot = nullptr;
      done->finished = true;
      drop_cap_changes(*done);
      if (done->on_finish) {
        // Moved out first: the callback may release the transfer (its task moves on), and with it itself.
        const auto fire = std::move(done->on_finish);
        fire(t);
      } else {
        done->done->release();
      }
    }
  }
  bool advancing = false;  // in advance(): callbacks must not advance again (events would run out of order)
  double ahead_until = -std::numeric_limits<double>::infinity();  // run_ahead_until's horizon
  double processed = -std::numeric_limits<double>::infinity();    // the latest event time processed
  // Processes every event up to now — and, for the daemon running ahead, the events after it up to the
  // next arrival — in time order, each at its own time: a callback may start a transfer or a timer at
  // that time, which the later events then see.
  void advance(bool daemon = false) {
    if (advancing) return;
    const double now = sg4::Engine::get_clock();
    const double due = SharedLinkSchedule::due_by(now);
    if (processed > due)
      throw std::logic_error("server link: an input at " + std::to_string(now) + " s came after the solver ran ahead to " +
                             std::to_string(processed) + " s");
    advancing = true;
    bool arrived = false;  // an arrival was posted now: wait for the clock to move before running ahead again
    for (;;) {
      const double td = down.next_event_s(), tu = up.next_event_s(), tt = next_timer_time();
      const double t = std::min({td, tu, tt});
      if (t > due) {
        const bool arrival = t == tu && up.next_is_finish() && t != td && t != tt;
        if (!daemon || arrived || t > ahead_until || arrival) break;
      }
      processed = std::max(processed, t);
      if (t == tu && t != td && up.next_is_finish()) arrived = true;
      if (t == td) {
        down.advance(t);
        settle(Direction::download, t);
      } else if (t == tu) {
        up.advance(t);
        settle(Direction::upload, t);
      } else {
        auto first = timers.begin();
        auto fire = std::move(first->second);
        timer_times.erase(first->first.second);
        timers.erase(first);
        fire(t);
      }
    }
    if (processed <= due)
      for (Direction d : {Direction::download, Direction::upload}) {
        schedule(d).advance(now);
        settle(d, now);
      }
    advancing = false;
  }
  std::size_t class_of(std::size_t client, double cap) const {
    if (cap == std::min(server_bandwidth, link_bandwidth[client])) return client;
    return step_classes[client].at(cap);
  }
  std::uint64_t add_timer(double at, std::function<void(double)> fire) {
    const TimerId id = next_timer++;
    timers.emplace(std::pair{at, id}, std::move(fire));
    timer_times.emplace(id, at);
    reschedule();
    return id;
  }
  void cancel_timer(TimerId timer) {
    const auto it = timer_times.find(timer);
    if (it == timer_times.end()) return;
    timers.erase({it->second, timer});
    timer_times.erase(it);
  }
  // A transfer done (finished or cancelled): its cap changes are void.
  void drop_cap_changes(Transfer& t) {
    for (const auto id : t.cap_changes) cancel_timer(id);
    t.cap_changes.clear();
  }
  // After a change: the daemon must wake before its planned time if an event now comes first.
  void reschedule() {
    if (next_event() < sleeping_until) {
      sleeping_until = -std::numeric_limits<double>::infinity();
      wake->release();
    }
  }
  std::shared_ptr<Transfer> start(Direction direction, ClientId client, double bytes, double at,
                                  std::function<void(double)> on_finish) {
    auto t = std::make_shared<Transfer>();
    t->direction = direction;
    t->on_finish = std::move(on_finish);
    if (!t->on_finish) t->done = sg4::Semaphore::create(0);
    const auto c = static_cast<std::size_t>(client.value);
    // Under a bandwidth profile, the cap at the start is min(server, link now); later steps lower it, or
    // raise it back up to that, from their times on.
    std::size_t cls = c;
    double bound = 0;
    const auto* profile = steps.empty() ? nullptr : steps[c];
    if (profile) {
      double now_bandwidth = link_bandwidth[c];
      for (const auto& [time, bandwidth] : *profile)
        if (time <= at) now_bandwidth = bandwidth;
      bound = std::min(server_bandwidth, now_bandwidth);
      cls = class_of(c, bound);
    }
    t->flow = schedule(direction).start(cls, bytes, latency_s.at(c), at);
    auto& slots = transfers(direction);
    if (slots.size() <= static_cast<std::size_t>(t->flow)) slots.resize(static_cast<std::size_t>(t->flow) + 1, nullptr);
    slots[static_cast<std::size_t>(t->flow)] = t.get();
    if (profile)
      for (const auto& [time, bandwidth] : *profile)
        if (time > at) {
          const std::size_t later = class_of(c, std::min(bound, bandwidth));
          Transfer* raw = t.get();
          t->cap_changes.push_back(add_timer(time, [this, raw, later](double when) {
            if (!raw->finished && !raw->cancelled) schedule(raw->direction).change_class(raw->flow, later, when);
          }));
        }
    settle(direction, at);  // a transfer of nothing on a route of no latency is done at once
    reschedule();
    return t;
  }
};

ServerLink::ServerLink(sg4::Host* server, double bandwidth_bytes_per_s, const std::vector<Route>& routes) {
  // Class i is client i at its drawn cap; a client with a bandwidth profile has one more class per other
  // cap its steps can give it (min(server, a step's bandwidth), the same weight).
  std::vector<FlowClass> classes(routes.size());
  std::vector<double> latencies(routes.size());
  std::vector<std::map<double, std::size_t>> step_classes(routes.size());
  bool profiles = false;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    // SimGrid's sharing penalty is the route's latency (1 when it is 0: the variable starts at 1).
    const double penalty = routes[i].latency_s > 0 ? routes[i].latency_s : 1.0;
    classes[i] = {std::min(routes[i].cap_bytes_per_s, bandwidth_bytes_per_s), 1.0 / penalty};
    latencies[i] = routes[i].latency_s;
  }
  for (std::size_t i = 0; i < routes.size(); ++i) {
    if (!routes[i].bandwidth_steps) continue;
    profiles = true;
    for (const auto& [time, bandwidth] : *routes[i].bandwidth_steps) {
      const double cap = std::min(bandwidth_bytes_per_s, bandwidth);
      if (cap == classes[i].cap_bytes_per_s || step_classes[i].count(cap)) continue;
      step_classes[i].emplace(cap, classes.size());
      classes.push_back({cap, classes[i].weight});
    }
  }
  state_ = std::make_shared<State>(bandwidth_bytes_per_s, classes, std::move(latencies));
  state_->server_bandwidth = bandwidth_bytes_per_s;
  for (const auto& r : routes) {
    state_->speed.push_back(r.host_speed_flops_per_s);
    state_->link_bandwidth.push_back(r.cap_bytes_per_s);
  }
  if (profiles) {
    for (const auto& r : routes) state_->steps.push_back(r.bandwidth_steps);
    state_->step_classes = std::move(step_classes);
  }
  sg4::Actor::create("server-link", server, [s = state_] {
    for (;;) {
      const double next = s->next_event();
      s->sleeping_until = next;
      if (next == SharedLinkSchedule::kNever)
        s->wake->acquire();
      else if (const double left = next - sg4::Engine::get_clock(); left > 0)
        s->wake->acquire_timeout(left);
      s->sleeping_until = -std::numeric_limits<double>::infinity();
      s->advance(true);
    }
  })->daemonize();
}

std::shared_ptr<ServerLink::Transfer> ServerLink::start(Direction direction, ClientId client, double bytes) {
  state_->advance();
  return state_->start(direction, client, bytes, sg4::Engine::get_clock(), nullptr);
}

std::shared_ptr<ServerLink::Transfer> ServerLink::start(Direction direction, ClientId client, double bytes, double at,
                                                        std::function<void(double)> on_finish) {
  state_->advance();  // unless a callback of advance() starts it: then the events before `at` are done
  return state_->start(direction, client, bytes, at, std::move(on_finish));
}

ServerLink::TimerId ServerLink::add_timer(double at, std::function<void(double)> fire) {
  return state_->add_timer(at, std::move(fire));
}

void ServerLink::cancel_timer(TimerId timer) { state_->cancel_timer(timer); }

double ServerLink::host_speed(ClientId client) const { return state_->speed[static_cast<std::size_t>(client.value)]; }

void ServerLink::run_ahead_until(double horizon) {
  state_->ahead_until = horizon;
  state_->reschedule();
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
  s.drop_cap_changes(t);
  if (t.done) t.done->release();
  s.reschedule();
}

}  // namespace dtsim::engine::actors
