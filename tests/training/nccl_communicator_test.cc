// The NCCL backend's promise (training/collectives/communicator.h): a collective
// whose peer dies fails within the timeout, and the communicator stays broken —
// never a hang. Needs GPUs (label gpu): one for the single-rank path, two for the
// dead-peer path; skips otherwise.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "tests/support/free_port.h"
#include "tests/support/status_matchers.h"
#include "training/collectives/nccl/nccl_communicator.h"

namespace cadre::training {
namespace {

using namespace std::chrono_literals;

int gpu_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

CommunicatorOptions options_for(int rank, const std::vector<int>& ports,
                                std::chrono::milliseconds timeout) {
  CommunicatorOptions o;
  o.rendezvous.rank = rank;
  o.rendezvous.world_size = static_cast<int>(ports.size());
  for (int p : ports) o.rendezvous.peers.push_back("127.0.0.1:" + std::to_string(p));
  o.rendezvous.timeout = timeout;
  o.cuda_device = rank;
  return o;
}

// n floats on device `device`, all equal to `value`.
float* device_floats(int device, size_t n, float value) {
  cudaSetDevice(device);
  float* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, n * sizeof(float)), cudaSuccess);
  std::vector<float> host(n, value);
  EXPECT_EQ(cudaMemcpy(p, host.data(), n * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  return p;
}

TEST(NcclCommunicator, SingleRankCollectivesLeaveTheBufferAsItWas) {
  if (gpu_count() < 1) GTEST_SKIP() << "no CUDA device";
  auto c = nccl::NcclCommunicator::Create(options_for(0, {cadre::testing::free_port()}, 10s));
  ASSERT_OK(c);
  float* data = device_floats(0, 1000, 2.5f);
  ASSERT_OK((*c)->allreduce(data, 1000, ReduceOp::kSum));
  ASSERT_OK((*c)->broadcast(data, 1000 * sizeof(float), 0));
  std::vector<float> back(1000);
  cudaMemcpy(back.data(), data, back.size() * sizeof(float), cudaMemcpyDeviceToHost);
  EXPECT_EQ(back.front(), 2.5f);
  EXPECT_EQ(back.back(), 2.5f);
  cudaFree(data);
}

TEST(NcclCommunicator, PeerDyingMidCollectiveAbortsWithinTheTimeoutAndStaysBroken) {
  if (gpu_count() < 2) GTEST_SKIP() << "needs two CUDA devices";
  const std::vector<int> ports = {cadre::testing::free_port(), cadre::testing::free_port()};
  Status second;
  Status after;
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.emplace_back([&, r] {
      auto c = nccl::NcclCommunicator::Create(options_for(r, ports, 3s));
      ASSERT_OK(c);
      float* data = device_floats(r, 1 << 20, 1.0f);
      ASSERT_OK((*c)->allreduce(data, 1 << 20, ReduceOp::kSum));
      if (r == 1) return;  // rank 1 "dies": its communicator is destroyed
      second = (*c)->allreduce(data, 1 << 20, ReduceOp::kSum);
      after = (*c)->allreduce(data, 1 << 20, ReduceOp::kSum);
    });
  }
  const auto started = std::chrono::steady_clock::now();
  for (auto& t : ranks) t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s) << "a dead peer hung the collective";
  EXPECT_FALSE(second.ok());
  EXPECT_TRUE(second.code() == StatusCode::kDeadlineExceeded ||
              second.code() == StatusCode::kUnavailable)
      << second.to_string();
  EXPECT_EQ(after.message(), second.message()) << "a broken communicator stays broken";
}

}  // namespace
}  // namespace cadre::training
