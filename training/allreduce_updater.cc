#include "training/allreduce_updater.h"

#include <cstring>

namespace cadre::training {

Status AllreduceUpdater::broadcast_tensor(Tensor& t) {
  if (!staged(t)) return comm_->broadcast(t.data(), t.size() * sizeof(float), 0);
  host_.resize(t.size());
  RETURN_IF_ERROR(t.backend()->copy_to_host(host_.data(), t.data(), t.size() * sizeof(float)));
  RETURN_IF_ERROR(comm_->broadcast(host_.data(), host_.size() * sizeof(float), 0));
  return t.copy_from_host(host_.data(), host_.size());
}

Status AllreduceUpdater::start(Model& model, TrainProgress* progress) {
  if (comm_->world_size() == 1) return Status::Ok();
  // Progress travels as doubles so it can share the float/double paths of every
  // backend (exact for any step count below 2^53).
  double header[3] = {static_cast<double>(progress->epochs_completed),
                      static_cast<double>(progress->global_step),
                      static_cast<double>(optimizer_->steps())};
  if (comm_->memory_device() == kernels::Device::kCpu) {
    RETURN_IF_ERROR(comm_->broadcast(header, sizeof(header), 0));
  } else {
    ASSIGN_OR_RETURN(auto t, Tensor::Create(model.parameters().backend(), {6}));
    RETURN_IF_ERROR(t.copy_from_host(reinterpret_cast<float*>(header), 6));
    RETURN_IF_ERROR(comm_->broadcast(t.data(), sizeof(header), 0));
    ASSIGN_OR_RETURN(auto back, t.to_host());
    std::memcpy(header, back.data(), sizeof(header));
  }
  progress->epochs_completed = static_cast<int>(header[0]);
  progress->global_step = static_cast<int64_t>(header[1]);
  optimizer_->set_steps(static_cast<int64_t>(header[2]));
  RETURN_IF_ERROR(broadcast_tensor(model.parameters()));
  for (auto& [name, tensor] : optimizer_->state()) RETURN_IF_ERROR(broadcast_tensor(*tensor));
  return Status::Ok();
}

Status AllreduceUpdater::update(Model& model, int64_t, float lr) {
  Tensor& grads = model.gradients();
  if (comm_->world_size() > 1) {
    if (!staged(grads)) {
      RETURN_IF_ERROR(comm_->allreduce(grads.data(), grads.size(), ReduceOp::kAverage));
    } else {
      host_.resize(grads.size());
      RETURN_IF_ERROR(
          grads.backend()->copy_to_host(host_.data(), grads.data(), grads.size() * sizeof(float)));
      RETURN_IF_ERROR(comm_->allreduce(host_.data(), host_.size(), ReduceOp::kAverage));
      RETURN_IF_ERROR(grads.copy_from_host(host_.data(), host_.size()));
    }
  }
  return optimizer_->step(lr, grads, &model.parameters());
}

Status AllreduceUpdater::sum_across_ranks(double* values, int n) {
  if (comm_->world_size() == 1) return Status::Ok();
  // Collectives reduce floats; epoch-level sums tolerate float rounding.
  std::vector<float> f(values, values + n);
  if (comm_->memory_device() == kernels::Device::kCpu) {
    RETURN_IF_ERROR(comm_->allreduce(f.data(), f.size(), ReduceOp::kSum));
  } else {
    return Status::Ok();  // device communicators: report this rank's figures
  }
  for (int i = 0; i < n; ++i) values[i] = f[i];
  return Status::Ok();
}

}  // namespace cadre::training
