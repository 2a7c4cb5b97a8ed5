#include "sim/engine/observers/checkpointer.hpp"

#include <stdexcept>

namespace dtsim::engine {

namespace {
template <class T>
std::string bytes_of(const T& state) {
  ByteWriter w;
  state.save(w);
  return std::move(w).take();
}

template <class T>
void load_section(const Checkpoint& c, const std::string& name, T& into) {
  const auto it = c.sections.find(name);
  if (it == c.sections.end()) throw std::runtime_error("the checkpoint has no " + name + " section");
  ByteReader r(it->second);
  into.load(r);
  if (!r.done()) throw std::runtime_error("the checkpoint's " + name + " section is longer than its state");
}
}  // namespace

Checkpointer::Checkpointer(std::filesystem::path dir, std::int64_t every, CsvObserver& csv, const Learner& learner,
                           const PolicySet& policies, double wall_before_s)
    : dir_(std::move(dir)),
      every_(every),
      csv_(csv),
      learner_(learner),
      policies_(policies),
      wall_before_s_(wall_before_s),
      start_(std::chrono::steady_clock::now()) {}

double Checkpointer::wall_time_s() const {
  return wall_before_s_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Checkpointer::round_finished(std::int64_t round, double sim_time_s, const std::string& paradigm_state) {
  if (every_ >= 1 && round % every_ == 0) save(round, sim_time_s, paradigm_state);
}

void Checkpointer::save(std::int64_t round, double sim_time_s, const std::string& paradigm_state) {
  if (round == saved_round_) return;
  saved_round_ = round;
  Checkpoint c;
  c.round = round;
  c.sim_time_s = sim_time_s;
  c.wall_time_s = wall_time_s();
  c.csv_bytes = csv_.sync();
  c.sections["paradigm"] = paradigm_state;
  c.sections["learner"] = bytes_of(learner_);
  c.sections["policy.aggregation"] = bytes_of(policies_.aggregation);
  c.sections["policy.scheduling"] = bytes_of(policies_.scheduling);
  write_checkpoint(dir_, c);
}

void restore(const Checkpoint& c, Learner& learner, const PolicySet& policies) {
  load_section(c, "learner", learner);
  load_section(c, "policy.aggregation", policies.aggregation);
  load_section(c, "policy.scheduling", policies.scheduling);
}

}  // namespace dtsim::engine
