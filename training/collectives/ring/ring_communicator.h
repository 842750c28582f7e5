// Our own bandwidth-optimal ring collectives (Patarasuk & Yuan, 2009; the
// algorithm of Baidu's ring-allreduce and Horovod): every rank talks only to its
// ring neighbours, each link carries 2(n-1)/n of the data, and all steps are
// streamed through one pipelined loop so a rank forwards a slice as soon as it
// has reduced it. Small all-reduces over 3+ ranks (options.ring_small_bytes,
// 16 KiB by default: the measured crossover with 4 ranks) instead gather
// every rank's whole buffer around the ring and sum locally: n-1 dependent
// steps instead of 2(n-1). Links use shared memory between ranks on one host
// and TCP otherwise.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "protocol/peer_auth.h"
#include "training/collectives/communicator.h"
#include "training/collectives/ring/channel.h"
#include "training/collectives/socket.h"

namespace cadre::training::ring {

class RingCommunicator final : public Communicator {
 public:
  // Connects the ring: listens on this rank's port, connects to the next rank,
  // accepts the previous one, then offers shared memory where hosts match.
  // Fails with DeadlineExceeded naming the peer that never came.
  static Result<std::unique_ptr<RingCommunicator>> Create(const CommunicatorOptions& options);

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  const char* name() const override { return "ring"; }
  Status allreduce(float* data, size_t count, ReduceOp op) override;
  Status broadcast(void* data, size_t bytes, int root) override;
  Status allgather(const void* send, size_t bytes, void* recv) override;
  Status barrier() override;

  // "shm" or "tcp" for the link to the next rank (tests and logs).
  const char* next_transport() const { return next_shm_ ? "shm" : "tcp"; }
  // Whether a wait on shared memory spins before yielding the core: only while
  // this host has a core for each of its ranks (choose_wait_policy()).
  bool spins_while_waiting() const { return spin_rounds_ > 0; }

 private:
  // One step of a streamed schedule. The send of a step may be gated on the
  // receive of an earlier step (its data is what that step reduced or received).
  struct Step {
    const char* send = nullptr;
    size_t send_bytes = 0;
    char* recv = nullptr;
    size_t recv_bytes = 0;
    bool accumulate = false;
    int send_gate = -1;
  };
  // Connects to next and accepts previous, checking both hellos; returns
  // whether next runs on this host.
  Result<bool> connect(const net::Socket& listener, net::Clock::time_point deadline);
  // Offers shared memory to next, answers previous's offer, builds channels.
  Status open_channels(bool next_on_this_host, net::Clock::time_point deadline);
  Status about_peer(const Status& s, int peer) const;
  // Sets spin_rounds_ from how many ranks share this host's cores.
  Status choose_wait_policy();
  Status run(const std::vector<Step>& steps, const char* what);
  // Steps that pass every rank's `bytes`-sized block of out around the ring;
  // this rank's block must already be in place.
  std::vector<Step> allgather_steps(char* out, size_t bytes) const;
  Status allreduce_ring(float* data, size_t count);
  Status allreduce_gathered(float* data, size_t count);
  // idle: consecutive rounds without progress so far.
  Status wait_for_progress(bool sending, bool receiving, int64_t idle);

  int rank_ = 0, world_ = 1;
  std::vector<std::string> peers_;
  CommunicatorOptions options_;
  // From CADRE_JOB_TOKEN: both ring links are authenticated before any payload.
  std::optional<protocol::JobCredentials> credentials_;
  net::Socket out_, in_;  // TCP to next / from previous (data or control)
  std::unique_ptr<SendChannel> send_;
  std::unique_ptr<RecvChannel> recv_;
  bool next_shm_ = false;
  std::string closed_peer_;  // "next"/"previous" once its control socket hit EOF
  Status broken_;            // first failure; every later collective returns it
  // Pause rounds a shared-memory wait spins before it yields (0: yield at once).
  static constexpr int64_t kSpinRounds = 512;
  int64_t spin_rounds_ = kSpinRounds;
  // Scratch of allreduce_gathered (world_ blocks), kept to avoid an allocation
  // per call; like the rest of the communicator, used by the caller's thread only.
  std::vector<float> gathered_;
};

}  // namespace cadre::training::ring
