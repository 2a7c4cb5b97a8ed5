// When a run has diverged (training.divergence): a training loss that is not finite, or one above
// factor × the first measured training loss, that first loss floored at ln(classes) (the loss of a
// uniform guess), so that a run starting near 0 is not stopped by noise.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace dtsim::engine {

// Why `loss` means divergence, or nullopt. first_loss: the run's first measured training loss (nullopt
// when `loss` is the first).
inline std::optional<std::string> divergence(double loss, std::optional<double> first_loss, double factor,
                                             std::int64_t classes) {
  if (!std::isfinite(loss)) return "the training loss became NaN or infinite";
  const double reference = std::max(first_loss.value_or(loss), std::log(static_cast<double>(std::max<std::int64_t>(classes, 2))));
  const double limit = factor * reference;
  if (loss > limit)
    return fmt::format("the training loss {:.6g} exceeded {:g} × {:.6g} (training.divergence.factor × the first training loss, "
                       "at least ln(classes))",
                       loss, factor, reference);
  return std::nullopt;
}

}  // namespace dtsim::engine
