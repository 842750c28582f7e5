#include "training/collectives/nccl/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <string>

#include "training/collectives/ring/ring_communicator.h"

namespace cadre::training::nccl {
namespace {

Status nccl_status(ncclResult_t r, const char* call) {
  if (r == ncclSuccess) return Status::Ok();
  return Unavailable(std::string(call) + " failed: " + ncclGetErrorString(r));
}
Status cuda_status(cudaError_t e, const char* call) {
  if (e == cudaSuccess) return Status::Ok();
  return Unavailable(std::string(call) + " failed: " + cudaGetErrorString(e));
}

#define NCCLCHECK(call) RETURN_IF_ERROR(nccl_status((call), #call))
#define CUDACHECK(call) RETURN_IF_ERROR(cuda_status((call), #call))

}  // namespace

struct NcclCommunicator::Impl {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  std::unique_ptr<ring::RingCommunicator> bootstrap;
};

Result<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(
    const CommunicatorOptions& options) {
  auto c = std::unique_ptr<NcclCommunicator>(new NcclCommunicator());
  c->impl_ = std::make_unique<Impl>();
  c->rank_ = options.rendezvous.rank;
  c->world_ = options.rendezvous.world_size;
  CommunicatorOptions boot = options;
  boot.ring_transport = "tcp";  // a few bytes; no shared memory needed
  ASSIGN_OR_RETURN(c->impl_->bootstrap, ring::RingCommunicator::Create(boot));
  ncclUniqueId id;
  if (c->rank_ == 0) NCCLCHECK(ncclGetUniqueId(&id));
  RETURN_IF_ERROR(c->impl_->bootstrap->broadcast(&id, sizeof(id), 0));
  CUDACHECK(cudaSetDevice(options.cuda_device));
  CUDACHECK(cudaStreamCreateWithFlags(&c->impl_->stream, cudaStreamNonBlocking));
  NCCLCHECK(ncclCommInitRank(&c->impl_->comm, c->world_, id, c->rank_));
  return c;
}

NcclCommunicator::~NcclCommunicator() {
  if (!impl_) return;
  if (impl_->comm) ncclCommDestroy(impl_->comm);
  if (impl_->stream) cudaStreamDestroy(impl_->stream);
}

Status NcclCommunicator::allreduce(float* data, size_t count, ReduceOp op) {
  if (world_ == 1 || count == 0) return Status::Ok();
  NCCLCHECK(ncclAllReduce(data, data, count, ncclFloat, op == ReduceOp::kSum ? ncclSum : ncclAvg,
                          impl_->comm, impl_->stream));
  CUDACHECK(cudaStreamSynchronize(impl_->stream));
  return Status::Ok();
}

Status NcclCommunicator::broadcast(void* data, size_t bytes, int root) {
  if (world_ == 1 || bytes == 0) return Status::Ok();
  NCCLCHECK(ncclBroadcast(data, data, bytes, ncclChar, root, impl_->comm, impl_->stream));
  CUDACHECK(cudaStreamSynchronize(impl_->stream));
  return Status::Ok();
}

Status NcclCommunicator::allgather(const void* send, size_t bytes, void* recv) {
  if (bytes == 0) return Status::Ok();
  NCCLCHECK(ncclAllGather(send, recv, bytes, ncclChar, impl_->comm, impl_->stream));
  CUDACHECK(cudaStreamSynchronize(impl_->stream));
  return Status::Ok();
}

Status NcclCommunicator::barrier() { return impl_->bootstrap->barrier(); }

}  // namespace cadre::training::nccl
