// One participant's task in a round (DESIGN "actors::Task"): download the model from the server,
// compute its local training on its own host, upload the update — then post its arrival. The task is
// the only code that issues SimGrid activities for a participant; a paradigm only plans and collects.
//
// The body (run) runs on a persistent runner actor on the participant's host, which runs one task after
// another (runners.hpp); its transfers go through the runner's Channel. A collector may stop the task at any
// moment (deadline, first K reached): the activity in flight is cancelled and the outcome counts what
// was actually transferred or executed, so late work shows as waste.
#pragma once

#include <simgrid/s4u.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>

#include "models/workload.hpp"
#include "sim/common/client_status.hpp"
#include "sim/common/ids.hpp"
#include "sim/engine/actors/server_link.hpp"

namespace dtsim::engine::actors {

class ArrivalQueue;
class Channel;

struct TaskPlan {
  ClientId client;
  std::int64_t round = 0;
  simgrid::s4u::Host* server = nullptr;  // the model comes from and the update goes to this host
  simgrid::s4u::Host* host = nullptr;    // the participant's host, where it computes
  double bytes_down = 0;                 // the model (bytes)
  double flops = 0;                      // local training (flops)
  double bytes_up = 0;                   // the update (bytes)
  std::int64_t steps = 0;                // local SGD steps in `flops`
  double compute_scale = 1;              // SimGrid execution amount per flop (Platform::compute_scale)
  // Dynamics (dynamics/dynamics.hpp), all off by default:
  double compute_slowdown = 1;           // the execution runs flops × compute_scale × this
  // Transfers carry bytes × this through SimGrid (the outcome counts the model's bytes): SimGrid 3.32
  // cannot cap a host-to-host comm's rate (Comm::set_rate refuses sendto comms).
  double link_slowdown = 1;
  std::optional<double> fail_at_s{};     // absolute time the client crashes or goes offline (if still busy)
  ClientStatus fail_status = ClientStatus::crashed;  // crashed | unavailable
  // Partial work: the whole local steps of `work` (its schedule; `flops` and `steps` are its totals) that
  // end by this absolute time, on the task's own uncontended schedule; then the upload. A task that fits
  // no whole step computes on and is stopped by the collector (late).
  std::optional<double> compute_by_s{};
  models::WorkItem work{};
  // false: a client that cannot finish its planned work and is not to deliver less (a paper-mode
  // straggler without partial work: FedAvg drops it). It computes its `steps`, then gives up, late,
  // without uploading; the server learns of it then.
  bool delivers = true;
};

// Times are simulated seconds; a stage never finished has no end time. Amounts count what was done.
struct TaskOutcome {
  ClientId client;
  ClientStatus status = ClientStatus::completed;  // completed until a collector says otherwise
  double start_s = 0;
  std::optional<double> download_end_s, compute_end_s, upload_end_s;
  std::optional<double> stopped_s;  // when a collector stopped it before it arrived
  double bytes_down = 0, flops = 0, bytes_up = 0;
  std::int64_t steps = 0;
};

class Task : public std::enable_shared_from_this<Task> {
 public:
  // `index` is what the task posts to `arrivals` when its upload is done.
  Task(TaskPlan plan, ArrivalQueue& arrivals, std::size_t index);
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() = default;

  // The task's body: download → compute → upload → arrive, its transfers through `channel`, from the
  // calling actor, which must be on plan.host. Starts at the current simulated time. Returns early once
  // stopped. Any other failure is kept (failure()) and posted as an arrival, so the collector never waits
  // for a task that died.
  void run(Channel& channel);

  // Whether it may run folded into the server link's solver: no crash or going offline, no partial work,
  // no slowdown of its computation, delivering what it computes — its execution would then take exactly
  // flops × compute_scale / host speed, its host running nothing else.
  bool foldable() const {
    return !plan_.fail_at_s && !plan_.compute_by_s && plan_.delivers && plan_.compute_slowdown == 1;
  }
  // Runs the task folded into `link` (ServerLink::start with callbacks, its computation a timer), from
  // now, with no actor of its own: the same stages, outcome and stops as run(). Needs foldable().
  void start_folded(ServerLink& link);

  // From the collector, for a task that has not arrived: cancels the activity in flight, counts the part
  // of it that was done, and sets the status. Idempotent; the task's actor then returns. A task that has
  // failed (crashed, went offline) keeps its status.
  void stop(ClientStatus status);

  bool arrived() const { return arrived_; }
  bool stopped() const { return stopped_; }
  // Resolved without arriving by itself: crashed or went offline (its fail_at_s came first), or gave up
  // (plan.delivers false).
  bool failed() const { return failed_; }
  // Whether it will deliver whatever happens at a partial-work deadline: uploading, or computing the
  // whole steps that end by it.
  bool committed() const { return !stopped_ && (stage_ == Stage::upload || stage_ == Stage::done || partial_); }
  std::exception_ptr failure() const { return failure_; }
  void set_status(ClientStatus status) { outcome_.status = status; }
  const TaskPlan& plan() const { return plan_; }
  const TaskOutcome& outcome() const { return outcome_; }

 private:
  enum class Stage { waiting, download, compute, upload, done };
  void body(Channel& channel);
  // Starts `activity` (a CommPtr or an ExecPtr: its own wait(), not Activity's) as the current stage, then
  // `started` (the server's end of a transfer), and waits for it; false when the task was stopped meanwhile.
  template <class ActivityPtr, class Started>
  bool perform(Stage stage, ActivityPtr activity, Started started);
  // The same for a transfer of `bytes` through the server link's exact solver.
  bool perform(Stage stage, ServerLink& link, ServerLink::Direction direction, double bytes);
  // Waits for the current stage until plan.fail_at_s, if any: false when the client failed first (then stopped).
  template <class Wait, class WaitFor>
  bool wait_unless_failed(Wait wait, WaitFor wait_for);
  // The transfer of `bytes` of the stage (download or upload), through whichever solver the channel has.
  bool transfer(Stage stage, Channel& channel, double bytes);

  TaskPlan plan_;
  ArrivalQueue& arrivals_;
  std::size_t index_;
  TaskOutcome outcome_;
  Stage stage_ = Stage::waiting;
  double stage_start_s_ = 0;
  simgrid::s4u::ActivityPtr in_flight_;  // the activity of the current stage, or
  ServerLink* link_ = nullptr;            // the server link and the transfer of the current stage
  std::shared_ptr<ServerLink::Transfer> link_transfer_;
  // Folded (start_folded): the computation's timer and its end time while it computes.
  std::optional<ServerLink::TimerId> folded_compute_;
  double folded_compute_end_s_ = 0;
  void folded_transfer(Stage stage, double at);  // the stage's transfer from `at`, calling back when done
  void folded_transferred(double t);  // the download (then compute) or the upload (then arrive) is done
  void folded_computed(double t);
  bool arrived_ = false, stopped_ = false, failed_ = false, partial_ = false;
  double planned_flops_ = 0;  // what the compute stage executes (fewer than plan.flops under partial work)
  std::int64_t planned_steps_ = 0;
  std::exception_ptr failure_;
};

// The whole local steps of `work` that end by `by_s` when computing from `now_s` at `rate` modelled
// flops/s (a task's own uncontended schedule, in double precision): the largest m with
// now + flops_of_steps(m) / rate <= by_s, by bisection (flops_of_steps grows with m).
std::int64_t whole_steps_by(const models::WorkItem& work, double now_s, double rate, double by_s);


}  // namespace dtsim::engine::actors
