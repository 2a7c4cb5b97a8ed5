// Persistent actors that run the participants' tasks (issue "Scale": same times, less work). A round's
// task i runs on runner i, an actor created once and kept for the whole run, which moves to the task's
// host before running it; its transfers go through its Channel, a mailbox whose server end is posted by
// the runner's proxy actor on the server host. So a run creates 2 actors per task slot (the most tasks
// any round started) instead of one per task per round, and no comm is detached.
//
// Why (shared/reference/SIMGRID.md §4.5–4.6, SimGrid 3.32): an actor per client per round costs about
// 0.5 s of system time per 20k actors (stacks, guard pages); `Comm::sendto` comms are detached, and 3.32
// keeps detached comms in maestro's std::list, removed by a linear scan at each completion (71 % of the
// cycles at 10k uncontended clients); a put/get between two actors that each own one comm avoids both and
// gives the same simulated times (the comm starts when both ends are posted, at the same instant).
#pragma once

#include <simgrid/s4u.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace dtsim::engine::actors {

class ServerLink;
class Task;

// A round of n tasks keeps 2n runner actors. SimGrid maps a guard page below each actor's stack (2
// mappings an actor), so past about 32k actors vm.max_map_count (65,530 by default) makes the next
// creation abort: a run that may start more tasks than this a round runs without guard pages
// (contexts/guard-size:0, unless --simgrid sets it; shared/reference/SIMGRID.md §4.5).
inline constexpr std::int64_t kMostTasksWithGuardPages = 15'000;

// One runner's transfers with the server: the task's end is a comm on the channel's mailbox (task side:
// receive the model, send the update); serve() asks the proxy actor to post the server's end. A transfer
// whose task is stopped before the proxy posts is skipped; one stopped after is cancelled for both ends.
//
// With a ServerLink (the server link's exact solver), transfers go through it instead: no mailbox, no proxy.
class Channel {
 public:
  Channel(const std::string& name, simgrid::s4u::Host* server, ServerLink* link = nullptr);
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // The task's end, not started: the model's download to the calling actor's host, and the update's upload
  // of `bytes` from it.
  simgrid::s4u::CommPtr download_end();
  simgrid::s4u::CommPtr upload_end(double bytes);
  // After the task's end has started: the proxy posts the server's end (sending `bytes` for a download).
  void serve_download(std::shared_ptr<const Task> task, double bytes);
  void serve_upload(std::shared_ptr<const Task> task);
  // The server link's exact solver, when it carries this channel's transfers (else null).
  ServerLink* server_link() const { return link_; }

 private:
  struct Request {
    std::shared_ptr<const Task> task;  // owned: a stopped task's request may outlive its round's task list
    bool download;
    double bytes;
  };
  struct State {
    simgrid::s4u::Mailbox* mailbox = nullptr;
    simgrid::s4u::SemaphorePtr wake;
    std::deque<Request> requests;  // FIFO: a stopped task's request may still wait while the next is posted
  };
  void serve(Request request);
  std::shared_ptr<State> state_;  // shared with the proxy actor, which may outlive this object at the end
  ServerLink* link_ = nullptr;
};

class TaskRunners {
 public:
  // Runners' proxies live on `server`; runners are created on first use, on their first task's host. With
  // `link`, every transfer goes through the server link's exact solver (and runners have no proxy).
  explicit TaskRunners(simgrid::s4u::Host* server, ServerLink* link = nullptr) : server_(server), link_(link) {}
  TaskRunners(const TaskRunners&) = delete;
  TaskRunners& operator=(const TaskRunners&) = delete;

  // Runs `task` on runner `slot` (0-based): now, or as soon as the runner has returned from its last task
  // (a stopped task's runner unwinds at the same simulated instant). One task per slot at a time.
  void start(std::size_t slot, std::shared_ptr<Task> task);
  std::size_t size() const { return runners_.size(); }

 private:
  struct Runner {
    simgrid::s4u::SemaphorePtr wake;
    std::deque<std::shared_ptr<Task>> tasks;
    std::unique_ptr<Channel> channel;
  };
  simgrid::s4u::Host* server_;
  ServerLink* link_;
  std::vector<std::shared_ptr<Runner>> runners_;
};

}  // namespace dtsim::engine::actors
