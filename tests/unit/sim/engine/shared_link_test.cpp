// The shared link's exact schedule (sim/engine/actors/shared_link.hpp): max-min sharing with weights and
// caps after a latency phase. Small cases in closed form; then random fleets against a plain reference
// written here (at every event: water-filling by sorting, O(N log N), then the earliest event), which must
// agree on every finish time to 1e-9 relative — with cancellations mid-transfer and flows arriving while
// others carry.
#include "sim/engine/actors/shared_link.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <vector>

using dtsim::engine::actors::FlowClass;
using dtsim::engine::actors::SharedLinkSchedule;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Runs the schedule to the end, returning each flow's finish time by id.
std::map<SharedLinkSchedule::FlowId, double> run_out(SharedLinkSchedule& s) {
  std::map<SharedLinkSchedule::FlowId, double> done;
  for (double t = s.next_event_s(); t < kInf; t = s.next_event_s()) {
    s.advance(t);
    for (auto id : s.take_finished()) done[id] = t;
  }
  return done;
}

bool near(double a, double b, double rel = 1e-12) { return std::abs(a - b) <= rel * std::max({1.0, std::abs(a), std::abs(b)}); }

// The reference: flows with their class, bytes left, start time and latency; rates by water-filling.
struct RefFlow {
  double cap, weight, left, carry_from;  // carry_from: when its latency phase ends
  bool live = true;
  double cancel_at = kInf;
  double finished = -1;
};

std::vector<double> water_fill(const std::vector<RefFlow*>& active, double capacity) {
  // Raise λ; a flow whose cap / weight is below it is capped.
  std::vector<RefFlow*> order = active;
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->cap / a->weight < b->cap / b->weight; });
  double left = capacity, weights = 0;
  for (auto* f : order) weights += f->weight;
  double level = kInf;
  std::size_t k = 0;
  for (; k < order.size(); ++k) {
    const double theta = order[k]->cap / order[k]->weight;
    if (theta * weights <= left) {  // capped below the level the rest would get
      left -= order[k]->cap;
      weights -= order[k]->weight;
    } else {
      level = left / weights;
      break;
    }
  }
  std::vector<double> rates(active.size());
  for (std::size_t i = 0; i < active.size(); ++i) rates[i] = std::min(active[i]->cap, level * active[i]->weight);
  return rates;
}

void reference_run(std::vector<RefFlow>& flows, double capacity) {
  double now = 0;
  for (;;) {
    std::vector<RefFlow*> active;
    double next = kInf;
    for (auto& f : flows) {
      if (!f.live) continue;
      if (f.carry_from > now) next = std::min(next, f.carry_from);
      else active.push_back(&f);
      next = std::min(next, f.cancel_at);
    }
    const auto rates = water_fill(active, capacity);
    for (std::size_t i = 0; i < active.size(); ++i) next = std::min(next, now + active[i]->left / rates[i]);
    if (next == kInf) return;
    for (std::size_t i = 0; i < active.size(); ++i) active[i]->left = std::max(0.0, active[i]->left - rates[i] * (next - now));
    now = next;
    for (auto& f : flows) {
      if (!f.live) continue;
      if (f.cancel_at <= now) {
        f.live = false;
      } else if (f.carry_from <= now && f.left <= 1e-6) {  // bytes: rounding of the last step
        f.live = false;
        f.finished = now;
      }
    }
  }
}

}  // namespace

TEST_CASE("shared link: two equal flows share, then the longer one runs at its cap") {
  const double C = 100, cap = 80;
  SharedLinkSchedule s(C, {{cap, 1}, {cap, 1}});
  const auto a = s.start(0, 100, 0, 0);
  const auto b = s.start(1, 300, 0, 0);
  const auto done = run_out(s);
  const double t1 = 100 / (C / 2);                // both at 50 until a is done
  const double t2 = t1 + (300 - 100) / cap;       // then b alone, at its cap
  CHECK(near(done.at(a), t1));
  CHECK(near(done.at(b), t2));
}

TEST_CASE("shared link: weights split the link, a cap gives its share to the others") {
  SUBCASE("weights 1 and 3: a quarter and three quarters") {
    const double C = 40;
    SharedLinkSchedule s(C, {{1e9, 1}, {1e9, 3}});
    const auto a = s.start(0, 30, 0, 0);
    const auto b = s.start(1, 30, 0, 0);
    const auto done = run_out(s);
    const double tb = 30 / (C * 3 / 4);           // b at 30 B/s, a at 10 B/s
    const double ta = tb + (30 - tb * C / 4) / C;  // then a alone at the link's 40
    CHECK(near(done.at(b), tb));
    CHECK(near(done.at(a), ta));
  }
  SUBCASE("a flow capped below its fair share: the other gets the rest") {
    const double C = 100, small = 10;
    SharedLinkSchedule s(C, {{small, 1}, {1e9, 1}});
    const auto a = s.start(0, 50, 0, 0);
    const auto b = s.start(1, 450, 0, 0);
    const auto done = run_out(s);
    CHECK(near(done.at(b), 450 / (C - small)));  // b at 90 for 5 s, when a has carried 50
    CHECK(near(done.at(a), 50 / small));
  }
}

TEST_CASE("shared link: a latency phase carries nothing, and a flow of nothing ends with it") {
  const double C = 10;
  SharedLinkSchedule s(C, {{1e9, 1}, {1e9, 1}});
  const auto a = s.start(0, 20, 1.0, 0);  // alone from 1 s to 2 s
  const auto b = s.start(1, 0, 0.5, 0);
  CHECK(s.remaining(a, 0.5) == 20);
  CHECK(s.take_finished() == std::vector<SharedLinkSchedule::FlowId>{b});  // at 0.5
  auto done = run_out(s);
  CHECK_MESSAGE(near(done.at(a), 1.0 + 20 / C), done.at(a));
}

TEST_CASE("shared link: a cancelled flow leaves its share to the others at once") {
  const double C = 100;
  SharedLinkSchedule s(C, {{1e9, 1}, {1e9, 1}});
  const auto a = s.start(0, 100, 0, 0);
  const auto b = s.start(1, 1000, 0, 0);
  CHECK(near(s.remaining(b, 1.0), 1000 - 50));
  s.cancel(b, 1.0);
  const auto done = run_out(s);
  CHECK(done.count(b) == 0);
  CHECK(near(done.at(a), 1.0 + (100 - 50) / C));
}

TEST_CASE("shared link: a cap lowered mid-transfer gives the rest of the link to the other flow") {
  const double C = 100;
  SharedLinkSchedule s(C, {{1e9, 1}, {1e9, 1}, {10, 1}});  // class 2: flow a's cap after the change
  const auto a = s.start(0, 200, 0, 0);
  const auto b = s.start(1, 400, 0, 0);
  s.change_class(a, 2, 1.0);  // at 1 s: both carried 50; then a at 10, b at 90
  const auto done = run_out(s);
  const double tb = 1.0 + (400 - 50) / (C - 10);
  const double a_left = 200 - 50 - 10 * (tb - 1.0);  // then a alone, still capped at 10
  CHECK(near(done.at(b), tb));
  CHECK(near(done.at(a), tb + a_left / 10));
}

TEST_CASE("shared link: random fleets agree with the water-filling reference to 1e-9") {
  std::mt19937_64 gen(7);
  for (int trial = 0; trial < 30; ++trial) {
    CAPTURE(trial);
    std::uniform_real_distribution<double> u(0, 1);
    const int n = 5 + static_cast<int>(u(gen) * 200);
    const double C = 1e6 * (1 + u(gen) * 50);
    std::vector<FlowClass> classes(n);
    std::vector<RefFlow> ref(n);
    std::vector<double> start(n), latency(n), bytes(n);
    for (int i = 0; i < n; ++i) {
      latency[i] = trial % 5 == 0 ? 0 : 0.001 + u(gen) * 0.1;
      classes[i] = {1e5 * (1 + u(gen) * 100), latency[i] > 0 ? 1 / latency[i] : 1};
      // Flows arrive over the first second; some are cancelled mid-way (a few before they start carrying).
      start[i] = u(gen) < 0.5 ? 0 : u(gen);
      bytes[i] = 1e5 * (1 + u(gen) * 20);
      ref[i] = {classes[i].cap_bytes_per_s, classes[i].weight, bytes[i], start[i] + latency[i]};
      if (u(gen) < 0.15) ref[i].cancel_at = start[i] + u(gen) * 2;
    }
    // The schedule, fed the same arrivals and cancellations in time order.
    SharedLinkSchedule s(C, classes);
    struct Step { double t; int flow; bool cancel; };
    std::vector<Step> steps;
    for (int i = 0; i < n; ++i) {
      steps.push_back({start[i], i, false});
      if (ref[i].cancel_at < kInf) steps.push_back({ref[i].cancel_at, i, true});
    }
    std::stable_sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.t < b.t; });
    std::vector<SharedLinkSchedule::FlowId> id(n, -1);
    std::map<SharedLinkSchedule::FlowId, int> flow_of;
    std::vector<double> finished(n, -1);
    std::vector<bool> done(n, false);
    auto collect = [&](double t) {
      for (auto f : s.take_finished()) {
        finished[flow_of.at(f)] = t;
        done[flow_of.at(f)] = true;
        flow_of.erase(f);
      }
    };
    for (const auto& st : steps) {
      for (double t = s.next_event_s(); t < st.t; t = s.next_event_s()) {
        s.advance(t);
        collect(t);
      }
      s.advance(st.t);
      collect(st.t);
      if (!st.cancel) {
        id[st.flow] = s.start(static_cast<std::size_t>(st.flow), bytes[st.flow], latency[st.flow], st.t);
        flow_of[id[st.flow]] = st.flow;
        collect(st.t);
      } else if (!done[st.flow]) {
        s.cancel(id[st.flow], st.t);
        flow_of.erase(id[st.flow]);
        done[st.flow] = true;
      }
    }
    for (double t = s.next_event_s(); t < kInf; t = s.next_event_s()) {
      s.advance(t);
      collect(t);
    }
    reference_run(ref, C);
    int compared = 0;
    for (int i = 0; i < n; ++i) {
      CAPTURE(i);
      CHECK((ref[i].finished >= 0) == (finished[i] >= 0));
      if (ref[i].finished >= 0 && finished[i] >= 0) {
        CHECK_MESSAGE(near(finished[i], ref[i].finished, 1e-9), finished[i] << " vs " << ref[i].finished);
        ++compared;
      }
    }
    CHECK(compared > n / 2);
    CHECK(s.active_flows() == 0);
  }
}
