// A parameter-server replica: owns one shard of the model's flat parameters and
// its optimizer state, and serves workers over a ZeroMQ ROUTER socket
// (protocol/ps_messages.h: [PsHeader][float32 bytes]).
//
// Synchronous mode aggregates one gradient from every worker for a step, takes
// one optimizer step with their mean, then answers all of them with the new
// parameters. Asynchronous mode applies each gradient as it arrives (Dean et
// al., "Large Scale Distributed Deep Networks", 2012) and answers at once.
//
// Checkpoints and restarts (docs/training.md): after each epoch the chief
// (worker 0) asks every server to save its shard, parameters and optimizer
// state, as <checkpoint_dir>/ps-<index>/ckpt-<epoch>.cadre, then writes its own
// checkpoint, which commits the epoch. At start the chief sends "restore" with
// the epoch it committed last (0: none) and the servers reset to exactly that
// state; the other workers "join" and learn the epoch and step to resume from.
// A server that restarted (no restore yet) or a worker that joins twice in sync
// mode means some replica lost its state mid-epoch: the server fails every
// waiting request with the reason, so all workers exit, restart and resume
// together from the committed epoch.
//
// serve() is single-threaded: the socket, the shard and the pending replies are
// owned by the thread that calls it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <atomic>

#include <zmq.hpp>

#include "protocol/ps_messages.h"
#include "protocol/zap.h"
#include "training/checkpoint_fence.h"
#include "training/model.h"
#include "training/optim/optimizer.h"
#include "training/ps/shard.h"

namespace cadre::training::ps {

struct ParameterServerOptions {
  int port = 0;  // 0: ephemeral (tests); see bound_port()
  // This server's advertised host (its TF_CONFIG / CADRE_PEERS entry): the socket
  // binds there, not on every interface (protocol/bind_address.h). Empty: all.
  std::string host;
  // CADRE_JOB_TOKEN. Set: the socket is a CURVE server with this job's key for
  // "ps-<index>", and only the keys of "worker-0".."worker-<n-1>" may connect
  // (protocol/peer_auth.h). Empty (outside Cadre): no authentication.
  std::string token;
  int index = 0;
  int num_servers = 1;
  int num_workers = 1;
  bool sync = true;
  OptimizerOptions optimizer;
  std::string model;           // architecture name, recorded in shard checkpoints
  std::string checkpoint_dir;  // the job's CADRE_CHECKPOINT_DIR; empty: no checkpoints
  int64_t generation = 0;      // CADRE_GENERATION: fences the shard folder (checkpoint_fence.h)
  // Give up when no worker has sent anything for this long while some are
  // still training.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(120)};
};

class ParameterServer {
 public:
  // initial: the full flat parameter vector (every replica builds the same
  // seeded model); the server keeps its shard.
  static Result<std::unique_ptr<ParameterServer>> Create(const ParameterServerOptions& options,
                                                         kernels::Backend* backend,
                                                         const std::vector<float>& initial);
  // Serves until every worker has said "done".
  Status serve();
  int bound_port() const { return port_; }
  const ShardRange& range() const { return range_; }
  // Joins waiting for the chief's restore; safe to read from any thread (the
  // serving thread publishes it whenever the list changes).
  size_t waiting_joins() const { return waiting_joins_.load(); }

 private:
  struct Pending {
    zmq::message_t identity;
    int worker = -1;
  };
  Status handle(zmq::message_t& identity, const std::vector<zmq::message_t>& frames);
  Status on_restore(const zmq::message_t& identity, const protocol::PsHeader& h);
  Status on_join(zmq::message_t& identity, const protocol::PsHeader& h);
  Status on_checkpoint(const zmq::message_t& identity, const protocol::PsHeader& h);
  Status on_push(zmq::message_t& identity, const protocol::PsHeader& h, const float* grad);
  // Loads the shard and optimizer state of a committed epoch (0: the initial ones).
  Status load_epoch(int epoch);
  // Some replica lost its state: fail every waiting request (and the caller's)
  // with the reason and wait for the chief's next restore.
  Status abandon_run(const zmq::message_t& identity, const std::string& reason);
  Status reply(const zmq::message_t& identity, protocol::PsKind kind, int64_t step);
  Status reply_error(const zmq::message_t& identity, const std::string& error);
  Status apply(float lr);
  std::string shard_dir() const;

  ParameterServerOptions options_;
  kernels::Backend* backend_ = nullptr;
  ShardRange range_;
  zmq::context_t context_;
  std::unique_ptr<protocol::ZapAllowlist> zap_;  // before socket_: closed after it
  std::optional<CheckpointFence> fence_;         // this server's claim on its shard folder
  zmq::socket_t socket_;
  int port_ = 0;
  Tensor params_, grad_sum_;
  std::unique_ptr<Optimizer> optimizer_;
  // Sync mode: gradients of the current step received so far.
  int64_t step_ = -1;
  int received_ = 0;
  float step_lr_ = 0;
  std::vector<Pending> pending_;
  std::vector<bool> done_;
  std::vector<float> initial_;  // this shard at epoch 0, for a restore to it
  // Set by the chief's restore: the job's committed epoch and step, and which
  // workers have joined since. Until then joins wait in joins_.
  bool restored_ = false;
  int epoch_ = 0;
  int64_t restored_step_ = 0;
  std::vector<bool> joined_;
  std::vector<Pending> joins_;
  std::atomic<size_t> waiting_joins_{0};  // joins_.size(), for other threads
  // Why the run was abandoned, until the next restore; empty in a new process.
  std::string abandoned_;
};

}  // namespace cadre::training::ps
