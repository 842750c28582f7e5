// The MPI backend under mpirun (ctest runs it with 2 and 4 ranks, label mpi):
// exact sums on integer-valued floats for sizes 0, 1, primes and large.
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"
#include "training/collectives/communicator.h"

namespace cadre::training {
namespace {

Communicator* comm = nullptr;  // one per process: MPI cannot be re-initialised

TEST(MpiCommunicator, SumsAndAveragesExactlyForEverySize) {
  const int rank = comm->rank(), world = comm->world_size();
  for (size_t count : {size_t{0}, size_t{1}, size_t{13}, size_t{1031}, size_t{(1 << 20) + 7}}) {
    std::vector<float> v(count);
    for (size_t i = 0; i < count; ++i) v[i] = static_cast<float>((i % 100) * (rank + 1));
    ASSERT_OK(comm->allreduce(v.data(), count, ReduceOp::kSum));
    for (size_t i = 0; i < count; ++i)
      ASSERT_EQ(v[i], static_cast<float>((i % 100) * world * (world + 1) / 2)) << i;
  }
  std::vector<float> avg(7, static_cast<float>(2 * world * rank));
  ASSERT_OK(comm->allreduce(avg.data(), avg.size(), ReduceOp::kAverage));
  for (float x : avg) EXPECT_EQ(x, static_cast<float>(world * (world - 1)));
}

TEST(MpiCommunicator, BroadcastsAndGathersBytes) {
  const int rank = comm->rank(), world = comm->world_size();
  std::vector<char> b(1001, rank == 1 ? 'x' : 'o');
  ASSERT_OK(comm->broadcast(b.data(), b.size(), 1 % world));
  for (char c : b) ASSERT_EQ(c, world > 1 ? 'x' : 'o');
  std::vector<char> mine(3, static_cast<char>('a' + rank)), all(3 * world);
  ASSERT_OK(comm->allgather(mine.data(), 3, all.data()));
  for (int r = 0; r < world; ++r) EXPECT_EQ(all[3 * r], 'a' + r);
  EXPECT_OK(comm->barrier());
}

}  // namespace
}  // namespace cadre::training

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const cadre::training::CommunicatorOptions options;
  auto c = cadre::training::create_communicator("mpi", options);
  if (!c.ok()) {
    std::fprintf(stderr, "%s\n", c.status().to_string().c_str());
    return 1;
  }
  cadre::training::comm = c->get();
  // Only rank 0 reports, so ctest's output is one test log.
  if (c.value()->rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int rc = RUN_ALL_TESTS();
  c->reset();  // finalises MPI
  return rc;
}
