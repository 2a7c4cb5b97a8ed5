#include "sim/engine/actors/runners.hpp"

#include <utility>

#include "sim/engine/actors/task.hpp"

namespace sg4 = simgrid::s4u;

namespace dtsim::engine::actors {

namespace {
int token = 0;          // every transfer's payload: only its simulated size matters
void* received = nullptr;  // where a task's end of a download writes the payload's address (unread)
}

Channel::Channel(const std::string& name, sg4::Host* server, ServerLink* link) : state_(std::make_shared<State>()), link_(link) {
  if (link_) return;
  state_->mailbox = sg4::Mailbox::by_name(name);
  state_->wake = sg4::Semaphore::create(0);
  // The proxy: the server's end of this channel's transfers, one at a time. A daemon, so the run ends with
  // the coordinator.
  sg4::Actor::create("proxy-" + name, server, [state = state_] {
    for (;;) {
      state->wake->acquire();
      const Request r = std::move(state->requests.front());
      state->requests.pop_front();
      if (r.task->stopped()) continue;  // stopped before its server end was posted: nothing to match
      try {
        if (r.download)
          state->mailbox->put(&token, static_cast<std::uint64_t>(r.bytes));
        else
          state->mailbox->get<int>();
      } catch (const simgrid::Exception&) {  // the task stopped mid-transfer: cancelling its end cancelled both
      }
    }
  })->daemonize();
}

sg4::CommPtr Channel::download_end() { return state_->mailbox->get_init()->set_dst_data(&received, sizeof(void*)); }

sg4::CommPtr Channel::upload_end(double bytes) {
  return state_->mailbox->put_init(&token, static_cast<std::uint64_t>(bytes));
}

void Channel::serve_download(std::shared_ptr<const Task> task, double bytes) { serve({std::move(task), true, bytes}); }
void Channel::serve_upload(std::shared_ptr<const Task> task) { serve({std::move(task), false, 0}); }

void Channel::serve(Request request) {
  state_->requests.push_back(request);
  state_->wake->release();
}

void TaskRunners::start(std::size_t slot, std::shared_ptr<Task> task) {
  while (runners_.size() <= slot) {
    auto runner = std::make_shared<Runner>();
    runner->wake = sg4::Semaphore::create(0);
    const std::string name = "runner-" + std::to_string(runners_.size());
    runner->channel = std::make_unique<Channel>(name, server_, link_);
    sg4::Actor::create(name, task->plan().host, [r = runner] {
      for (;;) {
        r->wake->acquire();
        const std::shared_ptr<Task> next = std::move(r->tasks.front());
        r->tasks.pop_front();
        // On the participant's host: a transfer's ends are the hosts of the actors that post them.
        if (sg4::this_actor::get_host() != next->plan().host) sg4::this_actor::set_host(next->plan().host);
        next->run(*r->channel);
      }
    })->daemonize();
    runners_.push_back(std::move(runner));
  }
  Runner& r = *runners_[slot];
  r.tasks.push_back(std::move(task));
  r.wake->release();
}

}  // namespace dtsim::engine::actors
