// Training checkpoints: everything needed to continue a run exactly where it
// stopped — model parameters, optimizer state, completed epochs, global step
// and the random state — written atomically once per epoch.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "training/tensor_file.h"

namespace cadre::training {

struct CheckpointState {
  std::string model;         // architecture name; must match on resume
  int epochs_completed = 0;  // the run continues with epoch epochs_completed + 1
  int64_t global_step = 0;   // optimizer steps taken (drives the LR schedule)
  uint64_t seed = 0;         // run seed: shuffling and dropout derive from it
  std::string rng_state;     // std::mt19937_64 state of the run's generator
  std::string optimizer;     // "sgd" or "adam"
  int64_t optimizer_steps = 0;
  std::vector<float> parameters;
  std::vector<NamedTensor> optimizer_state;  // as named by Optimizer::state()
};

// Writes dir/ckpt-<epoch, 6 digits>.cadre atomically and keeps the newest
// `keep` checkpoints, deleting older ones.
Status save_checkpoint(const std::string& dir, const CheckpointState& state, int keep = 2);

// The checkpoint of exactly `epochs_completed` in dir; NotFound or DataLoss
// naming the file when it is missing or unreadable.
Result<CheckpointState> load_checkpoint(const std::string& dir, int epochs_completed);

// The newest checkpoint in dir that reads back intact (a corrupt newest one is
// skipped in favour of its predecessor), or nullopt when there is none.
Result<std::optional<CheckpointState>> load_latest_checkpoint(const std::string& dir);

}  // namespace cadre::training
