// Observers of a run (DESIGN "Observers"): called in the order on_run_start, then per round on_client
// (each selected client), on_policy_metric (each of the round's policy figures) and on_round — last, so
// that it can commit the whole round — then on_run_end. An observer that throws ends
// the run as failed.
#pragma once

#include <vector>

#include "sim/engine/records.hpp"

namespace dtsim::engine {

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_run_start(const RunStart&) {}
  virtual void on_client(const ClientRecord&) {}
  virtual void on_policy_metric(const PolicyMetric&) {}
  virtual void on_round(const RoundRecord&) {}
  virtual void on_run_end(const RunEnd&) {}
};

// Hands every call to each observer, in the order they were added. Does not own them.
class ObserverFanout final : public RunObserver {
 public:
  void add(RunObserver& o) { observers_.push_back(&o); }
  void on_run_start(const RunStart& s) override {
    for (auto* o : observers_) o->on_run_start(s);
  }
  void on_client(const ClientRecord& c) override {
    for (auto* o : observers_) o->on_client(c);
  }
  void on_policy_metric(const PolicyMetric& m) override {
    for (auto* o : observers_) o->on_policy_metric(m);
  }
  void on_round(const RoundRecord& r) override {
    for (auto* o : observers_) o->on_round(r);
  }
  void on_run_end(const RunEnd& e) override {
    for (auto* o : observers_) o->on_run_end(e);
  }

 private:
  std::vector<RunObserver*> observers_;
};

}  // namespace dtsim::engine
