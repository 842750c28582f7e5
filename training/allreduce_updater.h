// Data-parallel updates: average gradients across ranks with one all-reduce of
// the flat gradient buffer, then take the same optimizer step on every rank.
// When the model lives on a GPU but the communicator reduces host memory (ring,
// mpi), gradients are staged through a host buffer.
#pragma once

#include <memory>
#include <vector>

#include "training/collectives/communicator.h"
#include "training/parameter_updater.h"

namespace cadre::training {

class AllreduceUpdater final : public ParameterUpdater {
 public:
  AllreduceUpdater(Communicator* comm, std::unique_ptr<Optimizer> optimizer)
      : comm_(comm), optimizer_(std::move(optimizer)) {}

  Status start(Model& model, TrainProgress* progress) override;
  Status update(Model& model, int64_t step, float lr) override;
  Status sum_across_ranks(double* values, int n) override;
  Optimizer* local_optimizer() override { return optimizer_.get(); }

 private:
  Status broadcast_tensor(Tensor& t);
  bool staged(const Tensor& t) const { return t.backend()->device() != comm_->memory_device(); }

  Communicator* comm_;
  std::unique_ptr<Optimizer> optimizer_;
  std::vector<float> host_;  // staging when tensor and communicator memory differ
};

}  // namespace cadre::training
