#include "training/collectives/nccl/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "kernels/cuda/cuda_checks.h"
#include "training/collectives/ring/ring_communicator.h"

namespace cadre {

Status check_status(ncclResult_t result, const char* call) {
  if (result == ncclSuccess) return Status::Ok();
  return Unavailable(std::string(call) + " failed: " + ncclGetErrorString(result));
}

}  // namespace cadre

namespace cadre::training::nccl {

struct NcclCommunicator::Impl {
  ncclComm_t comm = nullptr;  // null once aborted
  cudaStream_t stream = nullptr;
  std::unique_ptr<ring::RingCommunicator> bootstrap;
  std::chrono::milliseconds timeout{0};  // a collective making no progress this long fails
  Status broken;                         // first failure; every later collective returns it
};

Result<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(
    const CommunicatorOptions& options) {
  auto c = std::unique_ptr<NcclCommunicator>(new NcclCommunicator());
  c->impl_ = std::make_unique<Impl>();
  c->rank_ = options.rendezvous.rank;
  c->world_ = options.rendezvous.world_size;
  c->impl_->timeout = options.rendezvous.timeout;
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

// Waits for the collective just enqueued. NCCL kernels spin on the GPU forever when
// a peer dies, so a plain cudaStreamSynchronize would hang: poll the stream and
// NCCL's asynchronous error instead, and past the timeout, or on an error, abort the
// communicator (ncclCommAbort releases the stuck kernels), as PyTorch's NCCL watchdog
// does. The communicator then stays broken, so the gang restarts together.
Status NcclCommunicator::wait(const char* what) {
  const auto started = std::chrono::steady_clock::now();
  auto idle = std::chrono::microseconds(10);
  while (true) {
    const cudaError_t done = cudaStreamQuery(impl_->stream);
    if (done == cudaSuccess) return Status::Ok();
    if (done != cudaErrorNotReady)
      return fail(check_status(done, "cudaStreamQuery").annotate(what));
    ncclResult_t async = ncclSuccess;
    const Status queried =
        check_status(ncclCommGetAsyncError(impl_->comm, &async), "ncclCommGetAsyncError");
    if (!queried.ok()) return fail(queried.annotate(what));
    if (async != ncclSuccess && async != ncclInProgress) {
      return fail(Unavailable(std::string(what) + " failed: " + ncclGetErrorString(async) +
                              " (a peer may have died)"));
    }
    if (std::chrono::steady_clock::now() - started > impl_->timeout) {
      return fail(DeadlineExceeded(std::string(what) + " made no progress for " +
                                   std::to_string(impl_->timeout.count()) + " ms"));
    }
    // Back off to at most 1 ms between polls: short collectives finish in microseconds.
    std::this_thread::sleep_for(idle);
    idle = std::min(idle * 2, std::chrono::microseconds(1000));
  }
}

Status NcclCommunicator::fail(Status why) {
  if (impl_->comm) {
    ncclCommAbort(impl_->comm);
    impl_->comm = nullptr;
  }
  impl_->broken = why;
  return why;
}

NcclCommunicator::~NcclCommunicator() {
  if (!impl_) return;
  if (impl_->comm) ncclCommDestroy(impl_->comm);
  if (impl_->stream) cudaStreamDestroy(impl_->stream);
}

Status NcclCommunicator::allreduce(float* data, size_t count, ReduceOp op) {
  RETURN_IF_ERROR(impl_->broken);
  if (world_ == 1 || count == 0) return Status::Ok();
  NCCLCHECK(ncclAllReduce(data, data, count, ncclFloat, op == ReduceOp::kSum ? ncclSum : ncclAvg,
                          impl_->comm, impl_->stream));
  return wait("ncclAllReduce");
}

Status NcclCommunicator::broadcast(void* data, size_t bytes, int root) {
  RETURN_IF_ERROR(impl_->broken);
  if (world_ == 1 || bytes == 0) return Status::Ok();
  NCCLCHECK(ncclBroadcast(data, data, bytes, ncclChar, root, impl_->comm, impl_->stream));
  return wait("ncclBroadcast");
}

Status NcclCommunicator::allgather(const void* send, size_t bytes, void* recv) {
  RETURN_IF_ERROR(impl_->broken);
  if (bytes == 0) return Status::Ok();
  NCCLCHECK(ncclAllGather(send, recv, bytes, ncclChar, impl_->comm, impl_->stream));
  return wait("ncclAllGather");
}

Status NcclCommunicator::barrier() { return impl_->bootstrap->barrier(); }

}  // namespace cadre::training::nccl
