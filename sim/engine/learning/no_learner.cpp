#include "sim/engine/learning/learner.hpp"

namespace dtsim::engine {

namespace {
class NoLearner final : public Learner {
  RoundLearning learn(const LearnRequest&) override { return {}; }
};
}  // namespace

std::unique_ptr<Learner> make_no_learner() { return std::make_unique<NoLearner>(); }

}  // namespace dtsim::engine
