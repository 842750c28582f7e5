// A parameter-server replica: owns one shard of the model's flat parameters and
// its optimizer state, and serves workers over a ZeroMQ ROUTER socket
// (protocol/ps_messages.h: [PsHeader][float32 bytes]).
//
// Synchronous mode aggregates one gradient from every worker for a step, takes
// one optimizer step with their mean, then answers all of them with the new
// parameters. Asynchronous mode applies each gradient as it arrives (Dean et
// al., "Large Scale Distributed Deep Networks", 2012) and answers at once.
//
// serve() is single-threaded: the socket, the shard and the pending replies are
// owned by the thread that calls it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "training/model.h"
#include "training/optim/optimizer.h"
#include "training/ps/shard.h"

namespace cadre::training::ps {

struct ParameterServerOptions {
  int port = 0;  // 0: ephemeral (tests); see bound_port()
  int index = 0;
  int num_servers = 1;
  int num_workers = 1;
  bool sync = true;
  OptimizerOptions optimizer;
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

 private:
  struct Pending {
    zmq::message_t identity;
  };
  Status handle(zmq::message_t& identity, const std::vector<zmq::message_t>& frames);
  Status reply(const zmq::message_t& identity, const std::string& kind, int64_t step);
  Status reply_error(const zmq::message_t& identity, const std::string& error);
  Status apply(float lr);

  ParameterServerOptions options_;
  kernels::Backend* backend_ = nullptr;
  ShardRange range_;
  zmq::context_t context_;
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
};

}  // namespace cadre::training::ps
