// All-reduce bandwidth: Cadre's ring against MPI_Allreduce (OpenMPI), in one
// mpirun so both see the same ranks, host and sizes. MPI only bootstraps the
// ring (its ports are exchanged with MPI_Allgather); then each size is timed
// for both. Rank 0 prints one JSON row per size:
//   {"bytes", "ranks", "ring_us", "mpi_us", "ring_busbw_gbs", "mpi_busbw_gbs"}
// with busbw = bytes / time * 2 (n - 1) / n (NCCL's bus bandwidth).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "training/collectives/ring/ring_communicator.h"
#include "training/collectives/socket.h"

namespace {

using Clock = std::chrono::steady_clock;

double busbw_gbs(size_t bytes, double seconds, int n) {
  return bytes / seconds * 2.0 * (n - 1) / n / 1e9;
}

// Median of `reps` timings of `iters` back-to-back calls, in seconds per call;
// every rank uses the slowest rank's time (a collective ends when all do).
template <typename F>
double time_collective(F&& op, int iters, int reps) {
  std::vector<double> samples;
  for (int r = 0; r < reps; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto start = Clock::now();
    for (int i = 0; i < iters; ++i) op();
    double t = std::chrono::duration<double>(Clock::now() - start).count() / iters;
    MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    samples.push_back(t);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  bool quick = false;
  size_t max_bytes = size_t{64} << 20;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    if (std::strcmp(argv[i], "--max-bytes") == 0 && i + 1 < argc)
      max_bytes = std::stoull(argv[++i]);
  }

  // Bootstrap the ring: every rank picks a free port, MPI shares them.
  int port = 0;
  {
    auto s = cadre::training::net::listen_on(0);
    port = *cadre::training::net::local_port(*s);
  }
  std::vector<int> ports(world);
  MPI_Allgather(&port, 1, MPI_INT, ports.data(), 1, MPI_INT, MPI_COMM_WORLD);
  cadre::training::CommunicatorOptions options;
  options.rendezvous.rank = rank;
  options.rendezvous.world_size = world;
  for (int p : ports) options.rendezvous.peers.push_back("127.0.0.1:" + std::to_string(p));
  options.rendezvous.timeout = std::chrono::seconds(60);
  auto ring = cadre::training::ring::RingCommunicator::Create(options);
  if (!ring.ok()) {
    std::fprintf(stderr, "rank %d: %s\n", rank, ring.status().to_string().c_str());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  for (size_t bytes = 4096; bytes <= max_bytes; bytes *= 4) {
    const size_t count = bytes / sizeof(float);
    std::vector<float> data(count, 1.0f);
    // Enough calls per sample to cover ~20 MB of traffic (fewer with --quick).
    const int iters = static_cast<int>(
        std::clamp<size_t>((quick ? (size_t{4} << 20) : (size_t{20} << 20)) / bytes, 2, 200));
    const int reps = quick ? 3 : 5;
    auto ring_op = [&] {
      auto s = (*ring)->allreduce(data.data(), count, cadre::training::ReduceOp::kSum);
      if (!s.ok()) {
        std::fprintf(stderr, "rank %d: %s\n", rank, s.to_string().c_str());
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
    };
    auto mpi_op = [&] {
      MPI_Allreduce(MPI_IN_PLACE, data.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
    };
    ring_op();  // warm-up: page in buffers, settle the links
    mpi_op();
    const double ring_s = time_collective(ring_op, iters, reps);
    const double mpi_s = time_collective(mpi_op, iters, reps);
    if (rank == 0) {
      std::printf(
          "{\"bytes\": %zu, \"ranks\": %d, \"ring_us\": %.1f, \"mpi_us\": %.1f, "
          "\"ring_busbw_gbs\": %.3f, \"mpi_busbw_gbs\": %.3f, \"ring_transport\": \"%s\"}\n",
          bytes, world, ring_s * 1e6, mpi_s * 1e6, busbw_gbs(bytes, ring_s, world),
          busbw_gbs(bytes, mpi_s, world), (*ring)->next_transport());
      std::fflush(stdout);
    }
  }
  ring->reset();
  MPI_Finalize();
  return 0;
}
