// SCAFFOLD — Karimireddy, Kale, Mohri, Reddi, Stich, Suresh, "SCAFFOLD: Stochastic Controlled Averaging
// for Federated Learning", ICML 2020, Algorithm 1 with option II. Rule: shared/reference/POLICIES.md §1.4.
//
// The server keeps x and a control variate c; each client i that has taken part keeps c_i (0 before).
// Local steps follow y ← y − η_l·(g_i(y) − c_i + c): the correction c − c_i joins every step's gradient.
// After τ_i steps the client's new variate is (option II) c_i⁺ = c_i − c + (x − y_i)/(τ_i·η_l); it sends
// Δy_i = y_i − x and Δc_i = c_i⁺ − c_i, so each way carries two models (8·d bytes). The server sets
//   x ← x + (η_g/|S|)·Σ_{i∈S} Δy_i,     c ← c + (1/N)·Σ_{i∈S} Δc_i   (N: the population).
// A client with τ_i = 0 keeps its c_i (option II is undefined there).
//
// Where the state lives: c and every materialised c_i in backend memory (d floats each), for the
// clients that have taken part only — at most min(N, rounds · clients_per_round), which memory() counts.
// The c_i are simulated as held by their clients, so a dropped or unselected client's c_i is unchanged.
// η_l is the local optimizer's lr; with momentum or weight decay the option II formula is used as is.
#pragma once

#include <memory>

#include "policies/aggregation/aggregation.hpp"

namespace dtsim::policies {

std::unique_ptr<AggregationPolicy> make_scaffold(Params& params, const BuildContext& build);

}  // namespace dtsim::policies
