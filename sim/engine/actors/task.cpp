#include "sim/engine/actors/task.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "sim/engine/actors/arrival_queue.hpp"

namespace sg4 = simgrid::s4u;

namespace dtsim::engine::actors {

Task::Task(TaskPlan plan, ArrivalQueue& arrivals, std::size_t index)
    : plan_(plan), arrivals_(arrivals), index_(index) {
  outcome_.client = plan.client;
}

void Task::run() {
  try {
    body();
  } catch (const simgrid::Exception&) {
    if (!stopped_) {  // a cancellation we asked for ends the wait with an exception; anything else is a failure
      failure_ = std::current_exception();
      arrivals_.push(index_, true);
    }
  } catch (...) {
    failure_ = std::current_exception();
    arrivals_.push(index_, true);
  }
}

template <class ActivityPtr>
bool Task::perform(Stage stage, ActivityPtr activity) {
  stage_ = stage;
  stage_start_s_ = sg4::Engine::get_clock();
  in_flight_ = activity;
  activity->start();
  activity->wait();
  in_flight_ = nullptr;
  return !stopped_;
}

void Task::body() {
  outcome_.start_s = sg4::Engine::get_clock();
  if (stopped_) return;
  // Each activity is released as soon as its stage ends (perform takes it by value): a finished activity
  // kept alive keeps its kernel action, which the solver then carries along.
  if (!perform(Stage::download, sg4::Comm::sendto_init(plan_.server, plan_.host)
                                    ->set_payload_size(static_cast<std::uint64_t>(plan_.bytes_down))))
    return;
  outcome_.download_end_s = sg4::Engine::get_clock();
  outcome_.bytes_down = plan_.bytes_down;

  // An explicit host: Host::exec_* run on the caller's host in 3.32, and the caller may be a proxy actor.
  if (!perform(Stage::compute, sg4::Exec::init()->set_flops_amount(plan_.flops * plan_.compute_scale)->set_host(plan_.host))) return;
  outcome_.compute_end_s = sg4::Engine::get_clock();
  outcome_.flops = plan_.flops;
  outcome_.steps = plan_.steps;

  if (!perform(Stage::upload, sg4::Comm::sendto_init(plan_.host, plan_.server)
                                  ->set_payload_size(static_cast<std::uint64_t>(plan_.bytes_up))))
    return;
  outcome_.upload_end_s = sg4::Engine::get_clock();
  outcome_.bytes_up = plan_.bytes_up;

  stage_ = Stage::done;
  arrived_ = true;
  arrivals_.push(index_);
}

void Task::stop(ClientStatus status) {
  outcome_.status = status;
  if (arrived_ || stopped_) return;
  stopped_ = true;
  outcome_.stopped_s = sg4::Engine::get_clock();
  if (!in_flight_) return;  // not started yet, or between stages: nothing is in flight
  const double now = sg4::Engine::get_clock();
  const double planned = stage_ == Stage::download ? plan_.bytes_down
                         : stage_ == Stage::compute ? plan_.flops
                                                    : plan_.bytes_up;
  // An activity started at this very instant has no kernel action yet (its remaining work reads 0). An
  // execution's remaining amount is in scaled flops.
  const double unit = stage_ == Stage::compute ? plan_.compute_scale : 1.0;
  const double remaining = stage_start_s_ < now ? in_flight_->get_remaining() / unit : planned;
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
      outcome_.steps = planned > 0 ? static_cast<std::int64_t>(static_cast<double>(plan_.steps) * (done / planned))
                                   : plan_.steps;
      if (finished) outcome_.compute_end_s = now;
      break;
    case Stage::upload:
      outcome_.bytes_up = done;
      if (finished) outcome_.upload_end_s = now;
      break;
    default:
      break;
  }
  in_flight_->cancel();
}

void start_task_actor(std::shared_ptr<Task> task) {
  const auto& plan = task->plan();
  sg4::Actor::create("r" + std::to_string(plan.round) + "-c" + std::to_string(plan.client.value), plan.host,
                     [task] { task->run(); });
}

}  // namespace dtsim::engine::actors
