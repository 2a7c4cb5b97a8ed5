// dtsim calibrate (DESIGN "Command line"): a host class measured on this machine, to paste into a
// scenario's platform.host_classes. It times real local training of one client on the CPU backend with
// one thread, and divides the modelled flops of the timed steps — the simulator's own cost model, that of
// Workload::work: samples seen · Model::train_flops_per_sample() + steps · update_flops_per_step() — by
// the median wall time: the achieved rate. A single-thread Eigen SGEMM (the CPU backend's gemm) gives
// the machine's peak. The class is {speed: peak, efficiency: achieved / peak}, so that the simulated
// compute time, flops / (speed × efficiency), of the same work is the measured time.
//
// Split in two: the arithmetic (pure functions, tests/unit/sim/engine/calibrate_test.cpp) and the
// measurement (wall clocks; bench/calibrate_predict.py checks how well it predicts other work).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/engine/run_one.hpp"

namespace dtsim::engine {

// The arithmetic ---------------------------------------------------------------------------------

// The median of `samples` (the mean of the middle two for an even count). Throws std::invalid_argument
// when empty.
double median(std::vector<double> samples);

// `flops_per_s` as a scenario writes a flop rate: 6 significant digits and the largest SI prefix that
// keeps the number at or above 1 ("51.2346Gf", "812.5Mf"); what units.cpp reads back to 6 digits.
std::string format_flop_rate(double flops_per_s);

// A host class that reproduces a measurement.
struct HostClassFit {
  double achieved_flops_per_s = 0;  // modelled flops / measured seconds
  double speed_flops_per_s = 0;     // the GEMM peak rounded as format_flop_rate prints it, or the achieved
                                    // rate (rounded alike) when that is not below the peak
  double efficiency = 1;            // achieved / speed, in (0, 1]
  bool capped = false;              // achieved >= peak: efficiency 1, speed the achieved rate
};
// From the modelled flops of the timed work (flops), its measured wall time (s) and the machine's GEMM
// peak (flops/s). Throws std::invalid_argument unless all three are finite and > 0.
HostClassFit fit_host_class(double modelled_flops, double measured_s, double peak_flops_per_s);

// What was measured, and where.
struct Calibration {
  std::string host;         // this machine's name
  std::string cpu;          // its CPU model ("" when unknown)
  std::string date;         // YYYY-MM-DD, local time
  std::int64_t client = 0;  // the client whose data and local optimizer were timed
  std::int64_t steps = 0;   // local SGD steps per timed repetition
  std::int64_t batch_size = 0;
  std::string model;              // "mlp, 159010 parameters"
  std::int64_t samples_seen = 0;  // per repetition
  double modelled_flops = 0;      // per repetition (flops)
  double measured_s = 0;          // median wall time of one repetition (s)
  std::int64_t repeats = 0;       // timed repetitions (after one warm-up)
  double peak_flops_per_s = 0;    // median single-thread SGEMM rate
  std::int64_t gemm_n = 0;        // of n × n × n products: 2·n³ flops each
};

// The YAML to paste under `platform:`, with two comment lines saying what was measured:
//   # measured on HOST (CPU), DATE: N local steps of client C, batch B, model M: achieved X Gflop/s; GEMM peak Y
//   Gflop/s # timed: S samples, F modelled flops, median T s of R repeats after a warm-up, 1 thread; SGEMM n = 1024
//   host_classes:
//     this_machine: {weight: 1, speed: 51.2346Gf, efficiency: 0.412345}
// Throws as fit_host_class does.
std::string host_class_yaml(const Calibration& c);

// The measurement ----------------------------------------------------------------------------------

struct CalibrationOptions {
  std::int64_t steps = 20;  // local SGD steps to time, >= 1
  std::int64_t repeat = 5;  // timed repetitions (medians), >= 1
  std::int64_t client = 0;  // whose samples and local objective
};

// Times `options.steps` local SGD steps of `options.client` (its own samples, reshuffled per epoch as a
// run does, as many epochs as the steps need, from the initial model, the rule's local objective)
// through a LocalTrainer on parts.backend (the caller makes it: CPU, one thread), and the SGEMM peak on
// the same backend (n = 512): one warm-up of each, then options.repeat repetitions of each, interleaved
// so that both see the same load from other processes; medians. Throws ConfigError for a client outside
// the population or one without samples.
Calibration measure_calibration(const TrainingParts& parts, const CalibrationOptions& options);

}  // namespace dtsim::engine
