// Ring collectives with every rank as a thread over real sockets and shared
// memory, in the manner of gloo's allreduce_test: ranks 1..8, sizes 0, 1,
// primes, not divisible by the rank count, either side of the small-buffer
// threshold, and large; integer-valued floats so sums are exact, and
// non-integer ones so every rank must agree bit for bit on rounded sums.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <thread>

#include "tests/support/free_port.h"
#include "tests/support/status_matchers.h"
#include "training/collectives/rendezvous.h"
#include "training/collectives/ring/ring_communicator.h"
#include "training/collectives/socket.h"

namespace cadre::training {
namespace {

using std::chrono::milliseconds;

// Ports below the ephemeral range, each handed out once (tests/support/free_port.h).
std::vector<int> free_ports(int n) {
  std::vector<int> ports;
  for (int i = 0; i < n; ++i) ports.push_back(cadre::testing::free_port());
  return ports;
}

const char* kJobToken = "ring-test-job-token-0123456789";

CommunicatorOptions options_for(int rank, const std::vector<int>& ports,
                                const std::string& transport,
                                milliseconds timeout = milliseconds(20000)) {
  CommunicatorOptions o;
  o.rendezvous.rank = rank;
  o.rendezvous.world_size = static_cast<int>(ports.size());
  for (int p : ports) o.rendezvous.peers.push_back("127.0.0.1:" + std::to_string(p));
  o.rendezvous.timeout = timeout;
  o.rendezvous.token = kJobToken;  // as every replica of a Cadre job has it
  o.ring_transport = transport;
  o.ring_slice_bytes = 64 << 10;  // small slices: many wrap-arounds in the shm ring
  return o;
}

// Runs body(rank, communicator) on world threads; fails the test on any error.
void run_ranks(int world, const std::string& transport,
               const std::function<void(int, Communicator&)>& body) {
  auto ports = free_ports(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      auto comm = ring::RingCommunicator::Create(options_for(r, ports, transport));
      ASSERT_OK(comm);
      body(r, **comm);
    });
  }
  for (auto& t : threads) t.join();
}

// Largest float count that takes the small-buffer (gathered) path on 3+ ranks.
const size_t kSmallFloats = CommunicatorOptions().ring_small_bytes / sizeof(float);

class RingAllreduce : public ::testing::TestWithParam<std::string> {};

TEST_P(RingAllreduce, SumsEveryElementForAnyRankCountAndSize) {
  for (int world = 1; world <= 8; ++world) {
    run_ranks(world, GetParam(), [&](int rank, Communicator& comm) {
      for (size_t count :
           {size_t{0}, size_t{1}, size_t{2}, size_t{7}, size_t{13}, size_t{97}, size_t{1031},
            kSmallFloats - 1, kSmallFloats, kSmallFloats + 1, size_t{20011},
            static_cast<size_t>(world * 1000 + 1), static_cast<size_t>(world * 10000 + 3)}) {
        std::vector<float> data(count);
        for (size_t i = 0; i < count; ++i) data[i] = static_cast<float>((i % 1000) * (rank + 1));
        ASSERT_OK(comm.allreduce(data.data(), count, ReduceOp::kSum));
        const float ranks_sum = world * (world + 1) / 2.0f;
        for (size_t i = 0; i < count; ++i)
          ASSERT_EQ(data[i], static_cast<float>(i % 1000) * ranks_sum)
              << "world " << world << " count " << count << " index " << i;
      }
    });
  }
}

// A non-integer value whose sums round differently in different orders.
float rounding_value(int rank, size_t i) {
  return static_cast<float>(std::sin(0.37 * static_cast<double>(i) + 1.3 * rank) * (rank + 1)) /
         3.0f;
}

TEST_P(RingAllreduce, GivesEveryRankBitwiseIdenticalSumsOfNonIntegerFloats) {
  for (int world = 2; world <= 8; ++world) {
    const std::vector<size_t> counts = {size_t{1}, size_t{1031}, kSmallFloats, kSmallFloats + 1,
                                        static_cast<size_t>(world * 10000 + 3)};
    // results[rank][k]: what rank got for counts[k]; compared after all join.
    std::vector<std::vector<std::vector<float>>> results(world);
    run_ranks(world, GetParam(), [&](int rank, Communicator& comm) {
      for (size_t count : counts) {
        std::vector<float> data(count);
        for (size_t i = 0; i < count; ++i) data[i] = rounding_value(rank, i);
        ASSERT_OK(comm.allreduce(data.data(), count, ReduceOp::kSum));
        results[rank].push_back(std::move(data));
      }
    });
    for (size_t k = 0; k < counts.size(); ++k) {
      const size_t count = counts[k];
      for (int r = 0; r < world; ++r) {
        ASSERT_EQ(results[r].size(), counts.size()) << "world " << world << " rank " << r;
        ASSERT_EQ(std::memcmp(results[r][k].data(), results[0][k].data(), count * sizeof(float)), 0)
            << "world " << world << " count " << count << ": rank " << r << " differs from rank 0";
      }
      for (size_t i = 0; i < count; ++i) {
        // Below the threshold the sum is taken in rank order on every rank (with
        // 2 ranks the ring adds once: the same sum).
        float in_rank_order = rounding_value(0, i);
        for (int r = 1; r < world; ++r) in_rank_order += rounding_value(r, i);
        if (count <= kSmallFloats)
          ASSERT_EQ(results[0][k][i], in_rank_order) << "world " << world << " index " << i;
        else
          ASSERT_NEAR(results[0][k][i], in_rank_order, 1e-4f)
              << "world " << world << " index " << i;
      }
    }
  }
}

TEST_P(RingAllreduce, AveragesALargeBufferExactly) {
  const size_t count = (size_t{3} << 20) + 5;  // 12 MiB, not divisible by 4 ranks
  run_ranks(4, GetParam(), [&](int rank, Communicator& comm) {
    std::vector<float> data(count, static_cast<float>(4 * rank));
    ASSERT_OK(comm.allreduce(data.data(), count, ReduceOp::kAverage));
    for (size_t i = 0; i < count; ++i) ASSERT_EQ(data[i], 6.0f) << i;
  });
}

TEST_P(RingAllreduce, BroadcastAllgatherAndBarrierDeliverEveryRanksBytes) {
  for (int world : {1, 2, 3, 5}) {
    run_ranks(world, GetParam(), [&](int rank, Communicator& comm) {
      for (int root = 0; root < world; ++root) {
        for (size_t bytes : {size_t{0}, size_t{3}, size_t{100003}}) {
          std::vector<char> buf(bytes, static_cast<char>(rank == root ? 'a' + root : 0));
          ASSERT_OK(comm.broadcast(buf.data(), bytes, root));
          for (char c : buf) ASSERT_EQ(c, static_cast<char>('a' + root));
        }
      }
      for (size_t bytes : {size_t{1}, size_t{5}, size_t{65537}}) {
        std::vector<char> mine(bytes, static_cast<char>('A' + rank)), all(bytes * world);
        ASSERT_OK(comm.allgather(mine.data(), bytes, all.data()));
        for (int r = 0; r < world; ++r)
          for (size_t i = 0; i < bytes; ++i) ASSERT_EQ(all[r * bytes + i], 'A' + r);
      }
      // Odd-sized copies above leave the shared-memory ring unaligned; a sum must
      // still be exact afterwards.
      std::vector<float> v(1001, 1.0f);
      ASSERT_OK(comm.allreduce(v.data(), v.size(), ReduceOp::kSum));
      for (float x : v) ASSERT_EQ(x, static_cast<float>(world));
      ASSERT_OK(comm.barrier());
    });
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, RingAllreduce, ::testing::Values("auto", "tcp"));

TEST(RingRendezvous, UsesSharedMemoryOnOneHostAndTcpWhenAsked) {
  for (std::string transport : {"auto", "tcp"}) {
    auto ports = free_ports(2);
    std::vector<std::string> seen(2);
    std::vector<std::thread> threads;
    for (int r = 0; r < 2; ++r)
      threads.emplace_back([&, r] {
        auto c = ring::RingCommunicator::Create(options_for(r, ports, transport));
        ASSERT_OK(c);
        seen[r] = (*c)->next_transport();
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(seen[0], transport == "auto" ? "shm" : "tcp");
    EXPECT_EQ(seen[1], seen[0]);
  }
}

TEST(RingRendezvous, RanksSpinOnlyWhileThisHostHasACoreForEachOfThem) {
  cpu_set_t cpus;
  ASSERT_EQ(::sched_getaffinity(0, sizeof(cpus), &cpus), 0);
  const int cores = CPU_COUNT(&cpus);
  // Every rank is a thread of this process, so all of them share its cores.
  for (int world : {2, cores, cores + 1}) {
    if (world < 2) continue;
    auto ports = free_ports(world);
    std::vector<int> spins(world, -1);
    std::vector<std::thread> threads;
    for (int r = 0; r < world; ++r)
      threads.emplace_back([&, r] {
        auto c = ring::RingCommunicator::Create(options_for(r, ports, "auto"));
        ASSERT_OK(c);
        spins[r] = (*c)->spins_while_waiting();
      });
    for (auto& t : threads) t.join();
    for (int r = 0; r < world; ++r)
      EXPECT_EQ(spins[r], world <= cores ? 1 : 0) << "world " << world << " rank " << r;
  }
}

TEST(RingRendezvous, PeerThatNeverComesIsADeadlineErrorNamingIt) {
  auto ports = free_ports(3);
  const auto start = std::chrono::steady_clock::now();
  auto c = ring::RingCommunicator::Create(options_for(0, ports, "auto", milliseconds(600)));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(c.status().message().find("peer rank 1"), std::string::npos) << c.status().to_string();
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(RingAllreduceFailure, PeerDyingMidCollectiveIsAnErrorNotAHang) {
  // Above and below the small-buffer threshold: both paths must notice.
  for (size_t count : {size_t{1} << 20, size_t{100}})
    for (std::string transport : {"auto", "tcp"}) {
      auto ports = free_ports(3);
      std::vector<Status> results(3);
      std::vector<std::thread> threads;
      for (int r = 0; r < 3; ++r)
        threads.emplace_back([&, r] {
          auto c =
              ring::RingCommunicator::Create(options_for(r, ports, transport, milliseconds(5000)));
          ASSERT_OK(c);
          std::vector<float> v(count, 1.0f);
          ASSERT_OK((*c)->allreduce(v.data(), v.size(), ReduceOp::kSum));
          if (r == 2) return;  // rank 2 "dies": its sockets close as the communicator goes
          results[r] = (*c)->allreduce(v.data(), v.size(), ReduceOp::kSum);
          // A broken communicator stays broken.
          EXPECT_FALSE((*c)->barrier().ok());
        });
      const auto start = std::chrono::steady_clock::now();
      for (auto& t : threads) t.join();
      EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(12));
      for (int r = 0; r < 2; ++r) {
        EXPECT_FALSE(results[r].ok()) << transport << " count " << count << " rank " << r;
        EXPECT_TRUE(results[r].code() == StatusCode::kUnavailable ||
                    results[r].code() == StatusCode::kDeadlineExceeded)
            << results[r].to_string();
      }
    }
}

TEST(RingRendezvous, MasterAddressFormHandsOutThePeerList) {
  auto ports = free_ports(1);
  const int world = 4;
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      CommunicatorOptions o;
      o.rendezvous.rank = r;
      o.rendezvous.world_size = world;
      o.rendezvous.master_addr = "127.0.0.1";
      o.rendezvous.master_port = ports[0];
      o.rendezvous.timeout = milliseconds(10000);
      o.rendezvous.token = kJobToken;
      auto c = ring::RingCommunicator::Create(o);
      ASSERT_OK(c);
      float v = static_cast<float>(r);
      ASSERT_OK((*c)->allreduce(&v, 1, ReduceOp::kSum));
      EXPECT_EQ(v, 6.0f);
    });
  for (auto& t : threads) t.join();
}

TEST(RingAuthentication, ARankWithAnotherJobsTokenIsRefusedAndNoRingForms) {
  auto ports = free_ports(2);
  std::vector<Status> results(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      auto o = options_for(r, ports, "tcp", milliseconds(2000));
      if (r == 1) o.rendezvous.token = "some-other-jobs-token-0123456789";
      results[r] = ring::RingCommunicator::Create(o).status();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(results[0].ok());
  EXPECT_FALSE(results[1].ok());
  const bool named = results[0].message().find("CADRE_JOB_TOKEN") != std::string::npos ||
                     results[1].message().find("CADRE_JOB_TOKEN") != std::string::npos;
  EXPECT_TRUE(named) << results[0].message() << " | " << results[1].message();
}

TEST(RingAuthentication, AnUnkeyedConnectionGetsNoPayloadAndTheRingStillForms) {
  auto ports = free_ports(2);
  std::atomic<bool> done{false};
  std::atomic<size_t> intruder_bytes{0};
  std::atomic<int> intrusions{0};
  // Keeps knocking on rank 0's port with a forged hello-sized message.
  std::thread intruder([&] {
    while (!done) {
      auto s = net::connect_until("127.0.0.1", ports[0], net::Clock::now() + milliseconds(50));
      if (!s.ok()) continue;
      ++intrusions;
      const std::string junk(32, 'x');
      (void)net::write_all(*s, junk.data(), junk.size(), net::Clock::now() + milliseconds(200));
      char buffer[4096];
      while (true) {
        const ssize_t n = ::recv(s->fd(), buffer, sizeof buffer, 0);
        if (n <= 0) break;
        intruder_bytes += static_cast<size_t>(n);
        (void)net::write_all(*s, junk.data(), junk.size(), net::Clock::now() + milliseconds(200));
      }
    }
  });
  auto rank = [&](int r) {
    auto comm = ring::RingCommunicator::Create(options_for(r, ports, "tcp"));
    ASSERT_OK(comm);
    std::vector<float> v(1000, static_cast<float>(r + 1));
    ASSERT_OK((*comm)->allreduce(v.data(), v.size(), ReduceOp::kSum));
    EXPECT_EQ(v[999], 3.0f);
  };
  // Rank 0 listens; the intruder gets in first, and only then does rank 1 start.
  std::thread rank0(rank, 0);
  for (int i = 0; i < 500 && intrusions == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_GT(intrusions.load(), 0) << "the intruder never reached rank 0";
  std::thread rank1(rank, 1);
  rank0.join();
  rank1.join();
  done = true;
  intruder.join();
  // At most the server's challenge (nonce and proof, 64 bytes) per attempt, never
  // ring data: the handshake is all an unkeyed peer ever sees.
  EXPECT_EQ(intruder_bytes % 64, 0u);
}

TEST(RendezvousEnvironment, ReadsCadreVariablesAndPrefersThemOverTorchrunOnes) {
  auto o = rendezvous_from_environment({{"CADRE_RANK", "1"},
                                        {"CADRE_WORLD_SIZE", "2"},
                                        {"CADRE_PEERS", "a:1,b:2"},
                                        {"RANK", "0"},
                                        {"WORLD_SIZE", "5"}});
  ASSERT_OK(o);
  EXPECT_EQ(o->rank, 1);
  EXPECT_EQ(o->world_size, 2);
  EXPECT_EQ(o->peers, (std::vector<std::string>{"a:1", "b:2"}));
  auto t = rendezvous_from_environment(
      {{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "29500"}});
  ASSERT_OK(t);
  EXPECT_EQ(t->master_port, 29500);
  auto none = rendezvous_from_environment({});
  ASSERT_OK(none);
  EXPECT_EQ(none->world_size, 1);
}

TEST(RendezvousEnvironment, NamesTheVariableThatIsWrong) {
  auto count = rendezvous_from_environment(
      {{"CADRE_RANK", "0"}, {"CADRE_WORLD_SIZE", "3"}, {"CADRE_PEERS", "a:1,b:2"}});
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.status().message().find("CADRE_PEERS"), std::string::npos);
  auto rank = rendezvous_from_environment({{"CADRE_RANK", "3"}, {"CADRE_WORLD_SIZE", "3"}});
  ASSERT_FALSE(rank.ok());
  EXPECT_NE(rank.status().message().find("CADRE_RANK='3'"), std::string::npos);
  auto port = rendezvous_from_environment(
      {{"CADRE_RANK", "0"}, {"CADRE_WORLD_SIZE", "2"}, {"CADRE_PEERS", "a:1,b:99999"}});
  ASSERT_FALSE(port.ok());
  auto master = rendezvous_from_environment({{"RANK", "0"}, {"WORLD_SIZE", "2"}});
  ASSERT_FALSE(master.ok());
  EXPECT_NE(master.status().message().find("MASTER_ADDR"), std::string::npos);
}

}  // namespace
}  // namespace cadre::training
