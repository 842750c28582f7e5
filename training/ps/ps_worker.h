// The worker side of parameter-server training: a ParameterUpdater that pushes
// each step's gradient slices to their servers and installs the parameters
// they answer with. One DEALER socket per server; requests to all servers go
// out before any reply is awaited, so the shards are updated in parallel.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "protocol/ps_messages.h"
#include "training/parameter_updater.h"
#include "training/ps/shard.h"

namespace cadre::training::ps {

struct PsWorkerOptions {
  std::vector<std::string> servers;  // host:port per server, index order
  int worker = 0;
  // CADRE_JOB_TOKEN: connects as "worker-<worker>" over CURVE and accepts only
  // servers proving "ps-<i>" (training/ps/ps_roles.h). Empty: no authentication.
  std::string token;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

class PsWorker final : public ParameterUpdater {
 public:
  static Result<std::unique_ptr<PsWorker>> Create(const PsWorkerOptions& options,
                                                  size_t num_params);

  // The chief restores every server to its committed progress; the others
  // join and adopt the progress the servers answer with.
  Status start(Model& model, TrainProgress* progress) override;
  Status update(Model& model, int64_t step, float lr) override;
  Status sum_across_ranks(double*, int) override { return Status::Ok(); }
  // Every server saves its shard as epoch epochs_completed; returns once all have.
  Status checkpoint(int epochs_completed, int64_t global_step) override;
  Status finish() override;

 private:
  // Sends kind to every server (with gradient slices for "push"), then waits for
  // each reply, copying returned parameter slices into host_params_. Replies'
  // progress lands in *replied when it is given; servers must agree on it.
  Status round_trip(protocol::PsKind kind, int64_t step, float lr, const float* grads,
                    int epoch = 0, TrainProgress* replied = nullptr);

  PsWorkerOptions options_;
  size_t num_params_ = 0;
  zmq::context_t context_;
  std::vector<zmq::socket_t> sockets_;
  std::vector<ShardRange> ranges_;
  std::vector<float> host_params_, host_grads_;
};

}  // namespace cadre::training::ps
