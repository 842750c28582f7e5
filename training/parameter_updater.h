// How a rank's gradients become new parameters: the seam between the training
// loop and the distribution strategy. AllreduceUpdater averages gradients over a
// Communicator and steps a local optimizer; ps::PsWorker pushes gradients to
// parameter servers and pulls parameters back.
#pragma once

#include "training/model.h"
#include "training/optim/optimizer.h"

namespace cadre::training {

// Where a run stands; restored from a checkpoint, agreed on by every rank.
struct TrainProgress {
  int epochs_completed = 0;
  int64_t global_step = 0;
};

class ParameterUpdater {
 public:
  virtual ~ParameterUpdater() = default;
  // Before the first step: make rank 0's parameters, optimizer state and
  // progress everyone's (all-reduce), or fetch the servers' parameters (PS).
  virtual Status start(Model& model, TrainProgress* progress) = 0;
  // One optimizer step from this rank's gradients with learning rate lr.
  virtual Status update(Model& model, int64_t step, float lr) = 0;
  // Sums values across the ranks that train (for reporting epoch loss).
  virtual Status sum_across_ranks(double* values, int n) = 0;
  // The optimizer whose state belongs in checkpoints, when it is local.
  virtual Optimizer* local_optimizer() { return nullptr; }
  // On the chief, after epoch epochs_completed and before its own checkpoint
  // commits the epoch: state held elsewhere is saved (PS: each server's shard).
  virtual Status checkpoint(int /*epochs_completed*/, int64_t /*global_step*/) {
    return Status::Ok();
  }
  // After the last step (PS: tell the servers this worker is done).
  virtual Status finish() { return Status::Ok(); }
};

}  // namespace cadre::training
