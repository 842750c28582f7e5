// Parameter servers and workers as threads in one process: a server restarted
// from its checkpoint serves the saved shard and optimizer state, and a server
// or worker that lost its state fails the run with the reason instead of
// training on (docs/training.md, "Parameter-server mode").
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/eventually.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "training/ps/parameter_server.h"
#include "training/ps/ps_worker.h"

#include <zmq.hpp>

#include "protocol/ps_messages.h"

namespace cadre::training::ps {
namespace {

namespace fs = std::filesystem;
using protocol::PsKind;

// Every replica of the job has it (CADRE_JOB_TOKEN).
const char* kToken = "ps-test-job-token-0123456789";

class ParameterServerRestarts : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = kernels::create_backend({kernels::Device::kCpu, 1, 0});
    ASSERT_OK(backend);
    backend_ = std::move(*backend);
    auto def = model_definition("mlp");
    ASSERT_OK(def);
    auto model = Model::Create(backend_.get(), *def);
    ASSERT_OK(model);
    model_ = std::move(*model);
    ASSERT_OK(model_->initialize(7));
    auto initial = model_->parameters().to_host();
    ASSERT_OK(initial);
    initial_ = std::move(*initial);
    // A fixed, non-trivial gradient: every push is the same, so results differ
    // only through the server's parameters and Adam state.
    std::vector<float> grad(initial_.size());
    for (size_t i = 0; i < grad.size(); ++i) grad[i] = 0.01f * static_cast<float>(i % 13) - 0.06f;
    ASSERT_OK(model_->gradients().copy_from_host(grad.data(), grad.size()));
  }

  // A server on an ephemeral port, serving on its own thread until every
  // worker said done.
  struct RunningServer {
    std::unique_ptr<ParameterServer> server;
    std::future<Status> serving;
    std::string address;
  };
  RunningServer start_server(int num_workers) {
    ParameterServerOptions o;
    o.num_workers = num_workers;
    o.model = "mlp";
    o.checkpoint_dir = dir_.string();
    o.idle_timeout = std::chrono::seconds(20);
    o.host = "127.0.0.1";
    o.token = kToken;
    auto created = ParameterServer::Create(o, backend_.get(), initial_);
    EXPECT_OK(created);
    RunningServer r;
    r.server = std::move(*created);
    r.address = "127.0.0.1:" + std::to_string(r.server->bound_port());
    ParameterServer* s = r.server.get();
    r.serving = std::async(std::launch::async, [s] { return s->serve(); });
    return r;
  }
  std::unique_ptr<PsWorker> worker(const RunningServer& server, int index,
                                   const std::string& token = kToken,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    PsWorkerOptions o;
    o.servers = {server.address};
    o.worker = index;
    o.timeout = timeout;
    o.token = token;
    auto w = PsWorker::Create(o, initial_.size());
    EXPECT_OK(w);
    return std::move(*w);
  }
  std::vector<float> parameters() { return *model_->parameters().to_host(); }
  // A second worker's model (each worker thread trains its own).
  std::unique_ptr<Model> another_model() {
    auto model = Model::Create(backend_.get(), *model_definition("mlp"));
    EXPECT_OK(model);
    return std::move(model).value();
  }

  cadre::testing::TempDir scratch_{"cadre-ps"};
  const fs::path dir_ = scratch_.path();
  std::unique_ptr<kernels::Backend> backend_;
  std::unique_ptr<Model> model_;
  std::vector<float> initial_;
};

TEST_F(ParameterServerRestarts, ServesTheCheckpointedShardAndAdamStateAfterARestart) {
  std::vector<float> committed, next;
  {
    auto server = start_server(1);
    auto chief = worker(server, 0);
    TrainProgress fresh;
    ASSERT_OK(chief->start(*model_, &fresh));
    EXPECT_EQ(parameters(), initial_);
    for (int step = 0; step < 3; ++step) ASSERT_OK(chief->update(*model_, step, 0.01f));
    ASSERT_OK(chief->checkpoint(1, 3));
    committed = parameters();
    ASSERT_OK(chief->update(*model_, 3, 0.01f));
    next = parameters();
    ASSERT_OK(chief->finish());
    ASSERT_OK(server.serving.get());
  }
  EXPECT_TRUE(fs::exists(dir_ / "ps-0" / "ckpt-000001.cadre"));
  ASSERT_NE(committed, initial_);

  // A new server process knows only the seeded parameters until the chief
  // restores epoch 1; then the same push must land exactly where it did before,
  // which needs Adam's m, v and step count back, not just the parameters.
  auto server = start_server(1);
  auto chief = worker(server, 0);
  TrainProgress resumed{1, 3};
  ASSERT_OK(chief->start(*model_, &resumed));
  EXPECT_EQ(parameters(), committed);
  ASSERT_OK(chief->update(*model_, 3, 0.01f));
  EXPECT_EQ(parameters(), next);
  ASSERT_OK(chief->finish());
  EXPECT_OK(server.serving.get());
}

TEST_F(ParameterServerRestarts, RestoringAnEpochWithoutItsShardCheckpointNamesTheMissingFile) {
  auto server = start_server(1);
  auto chief = worker(server, 0);
  TrainProgress resumed{4, 40};
  const Status s = chief->start(*model_, &resumed);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find((dir_ / "ps-0" / "ckpt-000004.cadre").string()), std::string::npos)
      << s.to_string();
  ASSERT_OK(chief->finish());
  EXPECT_OK(server.serving.get());
}

TEST_F(ParameterServerRestarts,
       ARestartedServerFailsEveryWaitingWorkerInsteadOfServingSeededState) {
  auto server = start_server(2);
  // Worker 1 has started and waits for the chief's restore...
  auto other = worker(server, 1);
  auto other_model = another_model();
  auto joining = std::async(std::launch::async, [&] {
    TrainProgress p;
    return other->start(*other_model, &p);
  });
  // ...when a push arrives from a chief that trained against the server's
  // previous incarnation. (The join must arrive first: a join that comes after
  // the failure rightly waits for the next restore instead.)
  ASSERT_TRUE(cadre::testing::eventually([&] { return server.server->waiting_joins() == 1; }));
  auto chief = worker(server, 0);
  const Status pushed = chief->update(*model_, 17, 0.01f);
  const Status joined = joining.get();
  EXPECT_NE(pushed.message().find("parameter server 0: restarted and lost its state"),
            std::string::npos)
      << pushed.to_string();
  EXPECT_NE(joined.message().find("restarted and lost its state"), std::string::npos)
      << joined.to_string();
  ASSERT_OK(chief->finish());
  ASSERT_OK(other->finish());
  EXPECT_OK(server.serving.get());
}

TEST_F(ParameterServerRestarts, ASyncWorkerThatJoinsTwiceFailsTheRunForEveryWorkerWithItsName) {
  auto server = start_server(2);
  auto chief = worker(server, 0);
  auto first = worker(server, 1);
  auto other_model = another_model();
  auto joining = std::async(std::launch::async, [&] {
    TrainProgress p;
    return first->start(*other_model, &p);
  });
  TrainProgress fresh;
  ASSERT_OK(chief->start(*model_, &fresh));
  ASSERT_OK(joining.get());
  // The chief's step waits for worker 1, which restarts and joins again. In
  // whichever order the two arrive, both hear the same cause.
  auto pushing = std::async(std::launch::async, [&] { return chief->update(*model_, 0, 0.01f); });
  auto again = worker(server, 1);
  TrainProgress p;
  const Status rejoined = again->start(*other_model, &p);
  const Status pushed = pushing.get();
  EXPECT_NE(rejoined.message().find("worker 1 restarted mid-run"), std::string::npos)
      << rejoined.to_string();
  EXPECT_NE(pushed.message().find("worker 1 restarted mid-run"), std::string::npos)
      << pushed.to_string();
  // A request that comes later still hears the cause, not a server restart.
  const Status late = chief->update(*model_, 1, 0.01f);
  EXPECT_NE(late.message().find("worker 1 restarted mid-run"), std::string::npos)
      << late.to_string();
  ASSERT_OK(chief->finish());
  ASSERT_OK(again->finish());
  EXPECT_OK(server.serving.get());
}

using ParameterServerAuthentication = ParameterServerRestarts;

TEST_F(ParameterServerAuthentication, AnUnkeyedOrOtherJobsPeerGetsNothingAndChangesNothing) {
  auto server = start_server(1);
  // An unkeyed socket pushes a forged gradient and asks for the parameters.
  zmq::context_t context;
  zmq::socket_t intruder(context, zmq::socket_type::dealer);
  intruder.set(zmq::sockopt::linger, 0);
  intruder.connect("tcp://" + server.address);
  for (PsKind kind : {PsKind::kRestore, PsKind::kPush, PsKind::kPull}) {
    protocol::PsHeader h;
    h.kind = kind;
    h.count = kind == PsKind::kPush ? static_cast<int64_t>(initial_.size()) : 0;
    const std::string header = protocol::encode(h);
    std::vector<float> forged(static_cast<size_t>(h.count), 1e6f);
    intruder.send(zmq::buffer(header), zmq::send_flags::sndmore);
    intruder.send(zmq::buffer(forged.data(), forged.size() * sizeof(float)),
                  zmq::send_flags::dontwait);
  }
  zmq::pollitem_t item{intruder.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, std::chrono::milliseconds(500));
  EXPECT_FALSE(item.revents & ZMQ_POLLIN) << "an unkeyed peer got an answer";

  // A worker holding another job's token cannot reach it either.
  auto stranger =
      worker(server, 0, "another-jobs-token-0123456789", std::chrono::milliseconds(700));
  TrainProgress progress;
  const Status refused = stranger->start(*model_, &progress);
  EXPECT_EQ(refused.code(), StatusCode::kDeadlineExceeded) << refused.message();

  // The job's own worker finds the parameters untouched.
  auto chief = worker(server, 0);
  TrainProgress fresh;
  ASSERT_OK(chief->start(*model_, &fresh));
  EXPECT_EQ(parameters(), initial_);
  ASSERT_OK(chief->finish());
  EXPECT_OK(server.serving.get());
}

}  // namespace
}  // namespace cadre::training::ps
