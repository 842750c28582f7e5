#include "training/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace cadre::training {

Result<LrSchedule> LrSchedule::Create(const LrScheduleOptions& options, int total_epochs,
                                      int steps_per_epoch) {
  if (options.kind != "constant" && options.kind != "step" && options.kind != "cosine")
    return InvalidArgument("lr-schedule: must be constant, step or cosine, got '" + options.kind +
                           "'");
  if (!(options.base_lr > 0)) return InvalidArgument("lr: must be > 0");
  if (options.kind == "step" && options.step_epochs <= 0)
    return InvalidArgument("lr-step-epochs: must be >= 1");
  LrSchedule s;
  s.options_ = options;
  s.steps_per_epoch_ = std::max(1, steps_per_epoch);
  s.total_steps_ = std::max<int64_t>(1, static_cast<int64_t>(total_epochs) * s.steps_per_epoch_);
  return s;
}

float LrSchedule::at(int64_t step) const {
  const float base = options_.base_lr;
  if (step < options_.warmup_steps)
    return base * static_cast<float>(step + 1) / static_cast<float>(options_.warmup_steps);
  if (options_.kind == "constant") return base;
  if (options_.kind == "step") {
    const int64_t epoch = step / steps_per_epoch_;
    return base * std::pow(options_.gamma, static_cast<float>(epoch / options_.step_epochs));
  }
  const double span = std::max<int64_t>(1, total_steps_ - options_.warmup_steps);
  const double t = std::min(1.0, (step - options_.warmup_steps) / span);
  const double floor = base * options_.min_ratio;
  return static_cast<float>(floor + (base - floor) * 0.5 * (1.0 + std::cos(M_PI * t)));
}

}  // namespace cadre::training
