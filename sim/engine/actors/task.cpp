#include "sim/engine/actors/task.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "sim/engine/actors/arrival_queue.hpp"
#include "sim/engine/actors/runners.hpp"

namespace sg4 = simgrid::s4u;

namespace dtsim::engine::actors {

Task::Task(TaskPlan plan, ArrivalQueue& arrivals, std::size_t index)
    : plan_(plan), arrivals_(arrivals), index_(index), planned_flops_(plan.flops), planned_steps_(plan.steps) {
  outcome_.client = plan.client;
}

void Task::run(Channel& channel) {
  try {
    body(channel);
    if (failed_) arrivals_.push_failure();
  } catch (const simgrid::ForcefulKillException&) {
    throw;  // the run is over (the runner is a daemon): let SimGrid unwind the actor
  } catch (const simgrid::Exception&) {
    if (failed_) {
      arrivals_.push_failure();
    } else if (!stopped_) {  // a cancellation we asked for ends the wait with an exception; anything else is a failure
      failure_ = std::current_exception();
      arrivals_.push_failure(true);
    }
  } catch (...) {
    failure_ = std::current_exception();
    arrivals_.push_failure(true);
  }
}

template <class Wait, class WaitFor>
bool Task::wait_unless_failed(Wait wait, WaitFor wait_for) {
  if (!plan_.fail_at_s) {
    wait();
    return true;
  }
  // The client crashes or goes offline at fail_at_s: the connection drops, the server learns of it then.
  // The wait leaves the stage running on a timeout (a timed-out wait_for would cancel it, and with it the
  // count of what was done), so stop() reads its progress as the collector's stop would.
  const double left = *plan_.fail_at_s - sg4::Engine::get_clock();
  if (left <= 0 || !wait_for(left)) {
    failed_ = true;
    stop(plan_.fail_status);
    return false;
  }
  return true;
}

template <class ActivityPtr, class Started>
bool Task::perform(Stage stage, ActivityPtr activity, Started started) {
  stage_ = stage;
  stage_start_s_ = sg4::Engine::get_clock();
  in_flight_ = activity;
  activity->start();
  started();
  const bool on = wait_unless_failed([&] { activity->wait(); },
                                     [&](double left) {
                                       if (sg4::Activity::wait_any_for({activity}, left) != 0) return false;
                                       activity->wait();  // finished: completes it
                                       return true;
                                     });
  if (!on) return false;
  in_flight_ = nullptr;
  return !stopped_;
}

bool Task::perform(Stage stage, ServerLink& link, ServerLink::Direction direction, double bytes) {
  stage_ = stage;
  stage_start_s_ = sg4::Engine::get_clock();
  link_ = &link;
  link_transfer_ = link.start(direction, plan_.client, bytes);
  ServerLink::Transfer& t = *link_transfer_;
  if (!wait_unless_failed([&] { link.wait(t); }, [&](double left) { return link.wait_for(t, left); })) return false;
  link_transfer_ = nullptr;
  return !stopped_;
}

bool Task::transfer(Stage stage, Channel& channel, double payload) {
  const bool down = stage == Stage::download;
  const double bytes = std::floor(payload);  // a mailbox comm carries whole bytes (its size is an integer)
  if (ServerLink* link = channel.server_link())
    return perform(stage, *link, down ? ServerLink::Direction::download : ServerLink::Direction::upload, bytes);
  if (down) return perform(stage, channel.download_end(), [&] { channel.serve_download(shared_from_this(), bytes); });
  return perform(stage, channel.upload_end(bytes), [&] { channel.serve_upload(shared_from_this()); });
}

std::int64_t whole_steps_by(const models::WorkItem& work, double now_s, double rate, double by_s) {
  std::int64_t lo = 0, hi = work.steps;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo + 1) / 2;
    if (now_s + work.flops_of_steps(mid) / rate <= by_s)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

void Task::body(Channel& channel) {
  outcome_.start_s = sg4::Engine::get_clock();
  if (stopped_) return;
  // Each activity is released as soon as its stage ends (perform takes it by value): a finished activity
  // kept alive keeps its kernel action, which the solver then carries along.
  if (!transfer(Stage::download, channel, plan_.bytes_down * plan_.link_slowdown)) return;
  outcome_.download_end_s = sg4::Engine::get_clock();
  outcome_.bytes_down = plan_.bytes_down;

  const double unit = plan_.compute_scale * plan_.compute_slowdown;  // execution amount per modelled flop
  if (plan_.compute_by_s) {
    const double now = sg4::Engine::get_clock();
    const double rate = plan_.host->get_speed() / unit;  // modelled flops/s, one core, uncontended
    if (now + plan_.flops / rate > *plan_.compute_by_s) {
      const std::int64_t steps = whole_steps_by(plan_.work, now, rate, *plan_.compute_by_s);
      if (steps > 0) {
        partial_ = true;
        planned_steps_ = steps;
        planned_flops_ = plan_.work.flops_of_steps(steps);
      }
    }
  }
  // An explicit host: Host::exec_* run on the caller's host in 3.32, and the caller may be a proxy actor.
  if (!perform(Stage::compute, sg4::Exec::init()->set_flops_amount(planned_flops_ * unit)->set_host(plan_.host), [] {}))
    return;
  outcome_.compute_end_s = sg4::Engine::get_clock();
  outcome_.flops = planned_flops_;
  outcome_.steps = planned_steps_;
  if (!plan_.delivers) {
    failed_ = true;
    stop(ClientStatus::late);
    return;
  }

  if (!transfer(Stage::upload, channel, plan_.bytes_up * plan_.link_slowdown)) return;
  outcome_.upload_end_s = sg4::Engine::get_clock();
  outcome_.bytes_up = plan_.bytes_up;

  stage_ = Stage::done;
  arrived_ = true;
  arrivals_.push(index_);
}

void Task::start_folded(ServerLink& link) {
  outcome_.start_s = sg4::Engine::get_clock();
  if (stopped_) return;
  link_ = &link;
  folded_transfer(Stage::download, outcome_.start_s);
}

// The callbacks hold the task by pointer (small enough for std::function to keep without allocating): the
// round's task list keeps it until every task has arrived or been stopped, and a stop cancels its transfer
// and timer.
void Task::folded_transfer(Stage stage, double at) {
  stage_ = stage;
  stage_start_s_ = at;
  const bool down = stage == Stage::download;
  const double bytes = std::floor((down ? plan_.bytes_down : plan_.bytes_up) * plan_.link_slowdown);  // as transfer()
  link_transfer_ = link_->start(down ? ServerLink::Direction::download : ServerLink::Direction::upload, plan_.client,
                                bytes, at, [this](double t) { folded_transferred(t); });
}

void Task::folded_transferred(double t) {
  if (stopped_) return;  // stopped at this very instant: stop() counted the stage as done, nothing follows
  link_transfer_ = nullptr;
  if (stage_ == Stage::upload) {
    outcome_.upload_end_s = t;
    outcome_.bytes_up = plan_.bytes_up;
    stage_ = Stage::done;
    arrived_ = true;
    arrivals_.push(index_);
    return;
  }
  outcome_.download_end_s = t;
  outcome_.bytes_down = plan_.bytes_down;
  stage_ = Stage::compute;
  stage_start_s_ = t;
  // What SimGrid's execution of flops × scale on its own host would take: amount / speed.
  folded_compute_end_s_ = t + planned_flops_ * plan_.compute_scale / link_->host_speed(plan_.client);
  folded_compute_ = link_->add_timer(folded_compute_end_s_, [this](double at) { folded_computed(at); });
}

void Task::folded_computed(double t) {
  if (stopped_) return;  // stopped at this very instant: stop() counted the stage as done, nothing follows
  folded_compute_.reset();
  outcome_.compute_end_s = t;
  outcome_.flops = planned_flops_;
  outcome_.steps = planned_steps_;
  folded_transfer(Stage::upload, t);
}

void Task::stop(ClientStatus status) {
  if (failed_ && stopped_) return;  // crashed or offline: that status stays
  outcome_.status = status;
  if (arrived_ || stopped_) return;
  stopped_ = true;
  outcome_.stopped_s = sg4::Engine::get_clock();
  if (!in_flight_ && !link_transfer_ && !folded_compute_) return;  // not started, or between stages: nothing in flight
  const double now = sg4::Engine::get_clock();
  const double planned = stage_ == Stage::download ? plan_.bytes_down
                         : stage_ == Stage::compute ? planned_flops_
                                                    : plan_.bytes_up;
  // An activity started at this very instant has no kernel action yet (its remaining work reads 0). An
  // execution's remaining amount is in scaled, slowed flops, a transfer's in slowed bytes.
  const double unit = stage_ == Stage::compute ? plan_.compute_scale * plan_.compute_slowdown : plan_.link_slowdown;
  // What is left, in the activity's units (scaled, slowed flops; slowed bytes); a folded computation
  // progresses linearly to its end.
  const double left = in_flight_        ? in_flight_->get_remaining()
                      : link_transfer_  ? link_->remaining(*link_transfer_)
                                        : planned * unit * (folded_compute_end_s_ - now) / (folded_compute_end_s_ - stage_start_s_);
  const double remaining = stage_start_s_ < now ? left / unit : planned;
  // Whole bytes and flops: what a counter on the link or the CPU would report.
  const double done = std::clamp(std::floor(planned - remaining), 0.0, planned);
  const bool finished = done >= planned;
  switch (stage_) {
    case Stage::download:
      outcome_.bytes_down = done;
      if (finished) outcome_.download_end_s = now;
      break;
    case Stage::compute:
      outcome_.flops = done;
      outcome_.steps = planned > 0 ? static_cast<std::int64_t>(static_cast<double>(planned_steps_) * (done / planned))
                                   : planned_steps_;
      if (finished) outcome_.compute_end_s = now;
      break;
    case Stage::upload:
      outcome_.bytes_up = done;
      if (finished) outcome_.upload_end_s = now;
      break;
    default:
      break;
  }
  if (in_flight_) {
    in_flight_->cancel();
  } else if (link_transfer_) {
    link_->cancel(*link_transfer_);
  } else {
    link_->cancel_timer(*folded_compute_);
    folded_compute_.reset();
  }
}

}  // namespace dtsim::engine::actors
