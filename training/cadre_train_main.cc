// cadre-train: the training engine as a replica process. Flags and the replica
// environment contract are parsed once here; everything below gets options.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

#include "protocol/environment.h"
#include "training/allreduce_updater.h"
#include "training/collectives/communicator.h"
#include "training/collectives/socket.h"
#include "training/model_export.h"
#include "training/ps/parameter_server.h"
#include "training/ps/ps_worker.h"
#include "training/trainer.h"

namespace cadre::training {
namespace {

OptimizerOptions optimizer_options(const TrainOptions& o) {
  OptimizerOptions opt;
  opt.kind = o.optimizer;
  opt.momentum = o.momentum;
  opt.weight_decay = o.weight_decay;
  return opt;
}

Status run_allreduce(const TrainOptions& o, kernels::Backend* backend) {
  CommunicatorOptions copts;
  copts.rendezvous = o.rendezvous;
  copts.ring_transport = o.ring_transport;
  ASSIGN_OR_RETURN(auto comm, create_communicator(o.backend, copts));
  ASSIGN_OR_RETURN(auto def, model_definition(o.model, o.hidden));
  ASSIGN_OR_RETURN(auto probe, Model::Create(backend, def));
  ASSIGN_OR_RETURN(auto optimizer,
                   Optimizer::Create(optimizer_options(o), backend, probe->parameters().size()));
  probe.reset();
  AllreduceUpdater updater(comm.get(), std::move(optimizer));
  TrainerRole role{comm->rank(), comm->world_size(), comm->rank() == 0, true};
  ASSIGN_OR_RETURN(auto trainer, Trainer::Create(o, backend, role, &updater));
  return trainer->run(std::cout);
}

Status run_ps(const TrainOptions& o, kernels::Backend* backend) {
  ASSIGN_OR_RETURN(auto def, model_definition(o.model, o.hidden));
  ASSIGN_OR_RETURN(auto model, Model::Create(backend, def));
  if (o.ps.role == "server") {
    // Every replica builds the same seeded model; a server keeps its shard.
    RETURN_IF_ERROR(model->initialize(o.seed));
    ASSIGN_OR_RETURN(auto initial, model->parameters().to_host());
    ps::ParameterServerOptions popts;
    ASSIGN_OR_RETURN(auto addr, net::parse_host_port(o.ps.servers[o.ps.index]));
    popts.port = addr.second;
    popts.host = addr.first;
    popts.token = o.rendezvous.token;
    popts.index = o.ps.index;
    popts.num_servers = static_cast<int>(o.ps.servers.size());
    popts.num_workers = o.ps.num_workers;
    popts.sync = o.ps.sync;
    popts.optimizer = optimizer_options(o);
    popts.model = o.model;
    popts.checkpoint_dir = o.checkpoint_dir;
    popts.generation = o.generation;
    popts.idle_timeout = std::chrono::seconds(std::max(o.timeout_s, 1));
    // Servers keep their shard in host memory: replies go out of it zero-copy.
    ASSIGN_OR_RETURN(auto host_backend,
                     kernels::create_backend({kernels::Device::kCpu, backend->threads(), 0}));
    ASSIGN_OR_RETURN(auto server, ps::ParameterServer::Create(popts, host_backend.get(), initial));
    spdlog::info("parameter server {} of {} serving {} parameters on port {} ({})", o.ps.index,
                 popts.num_servers, server->range().count, server->bound_port(),
                 o.ps.sync ? "sync" : "async");
    return server->serve();
  }
  ps::PsWorkerOptions wopts;
  wopts.servers = o.ps.servers;
  wopts.worker = o.ps.index;
  wopts.token = o.rendezvous.token;
  wopts.timeout = std::chrono::seconds(o.timeout_s);
  ASSIGN_OR_RETURN(auto worker, ps::PsWorker::Create(wopts, model->parameters().size()));
  model.reset();
  TrainerRole role{o.ps.index, o.ps.num_workers, o.ps.index == 0, true};
  ASSIGN_OR_RETURN(auto trainer, Trainer::Create(o, backend, role, worker.get()));
  return trainer->run(std::cout);
}

// --evaluate: an exported model's test-set accuracy, as a metric line (a
// pipeline's evaluate step reads it; Katib's StdOut collector would too).
Status run_evaluate(const TrainOptions& o, kernels::Backend* backend) {
  ASSIGN_OR_RETURN(auto loaded, load_exported_model(o.evaluate_path, backend));
  ASSIGN_OR_RETURN(auto test,
                   load_fashion_mnist(o.data_dir, Split::kTest, loaded.info.normalization));
  ASSIGN_OR_RETURN(auto result, evaluate_model(*loaded.model, backend, test, o.eval_batch_size));
  std::cout << "accuracy=" << result.first << " loss=" << result.second
            << " test_images=" << test.count << std::endl;
  return Status::Ok();
}

int exit_code(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ? 2 : 1;
}

}  // namespace
}  // namespace cadre::training

int main(int argc, char** argv) {
  using namespace cadre::training;
  TrainOptions options;
  CLI::App app{
      "cadre-train: Cadre's training engine (Fashion-MNIST mlp/cnn; all-reduce or "
      "parameter-server data parallelism). Reads CADRE_RANK, CADRE_WORLD_SIZE, "
      "CADRE_PEERS (or MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE), "
      "CADRE_CHECKPOINT_DIR, CADRE_JOB, and TF_CONFIG in ps mode."};
  add_train_flags(&app, &options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; a bad flag is bad input, exit 2 like every other one.
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto logger = spdlog::stderr_color_mt("cadre-train");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(options.log_level));

  cadre::Status s = apply_environment(cadre::environment_map(), &options);
  if (!s.ok()) {
    std::cerr << "cadre-train: " << s.to_string() << std::endl;
    return exit_code(s);
  }
  const int rank = options.mode == "ps" ? options.ps.index : options.rendezvous.rank;
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] job=" + options.job +
                      (options.mode == "ps" ? " " + options.ps.role + "=" : " rank=") +
                      std::to_string(rank) + " %v");

  auto device = cadre::kernels::parse_device(options.device);
  auto backend = device.ok()
                     ? cadre::kernels::create_backend({*device, options.threads, 0})
                     : cadre::Result<std::unique_ptr<cadre::kernels::Backend>>(device.status());
  if (!backend.ok()) {
    std::cerr << "cadre-train: " << backend.status().to_string() << std::endl;
    return exit_code(backend.status());
  }
  s = !options.evaluate_path.empty() ? run_evaluate(options, backend->get())
      : options.mode == "ps"         ? run_ps(options, backend->get())
                                     : run_allreduce(options, backend->get());
  if (!s.ok()) {
    spdlog::error("{}", s.to_string());
    std::cerr << "cadre-train: " << s.to_string() << std::endl;
    return exit_code(s);
  }
  return 0;
}
