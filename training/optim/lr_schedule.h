// Learning rate as a function of training progress. Cosine decay (Loshchilov &
// Hutter, SGDR 2017, without restarts) after an optional linear warm-up; "step"
// multiplies by gamma every step_epochs; "constant" keeps the base rate.
#pragma once

#include <string>

#include "protocol/status.h"

namespace cadre::training {

struct LrScheduleOptions {
  std::string kind = "cosine";  // constant | step | cosine
  float base_lr = 1e-3f;
  int warmup_steps = 0;
  int step_epochs = 3;     // step: decay period in epochs
  float gamma = 0.5f;      // step: decay factor
  float min_ratio = 0.0f;  // cosine: floor as a fraction of base_lr
};

class LrSchedule {
 public:
  static Result<LrSchedule> Create(const LrScheduleOptions& options, int total_epochs,
                                   int steps_per_epoch);
  // Rate for global step `step` (0-based) of a run of total_epochs epochs.
  float at(int64_t step) const;

 private:
  LrScheduleOptions options_;
  int64_t total_steps_ = 1;
  int steps_per_epoch_ = 1;
};

}  // namespace cadre::training
