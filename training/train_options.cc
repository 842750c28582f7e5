#include "training/train_options.h"

#include <cerrno>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "training/collectives/rendezvous.h"
#include "training/collectives/socket.h"

namespace cadre::training {

namespace {

void add_data_and_model_flags(CLI::App* app, TrainOptions* o) {
  const std::string group = "Model and data";
  app->add_option("--model", o->model, "Architecture: mlp or cnn")
      ->check(CLI::IsMember({"mlp", "cnn"}))
      ->capture_default_str()
      ->group(group);
  app->add_option("--data", o->data_dir, "Directory with the Fashion-MNIST IDX .gz files")
      ->capture_default_str()
      ->group(group);
  app->add_option("--hidden", o->hidden,
                  "mlp: hidden layer widths, comma-separated (default 256,128)")
      ->delimiter(',')
      ->check(CLI::Range(1, 8192))
      ->group(group);
  app->add_option("--train-limit", o->train_limit, "Use only the first N training images; 0 = all")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->group(group);
  app->add_option("--validation", o->validation,
                  "Hold out the last N training images and report val_loss and val_accuracy "
                  "on them each epoch; 0 = none")
      ->check(CLI::Range(0, 59999))
      ->capture_default_str()
      ->group(group);
  app->add_option("--eval-batch-size", o->eval_batch_size, "Batch size for test-set evaluation")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str()
      ->group(group);
  app->add_option("--seed", o->seed, "Seed for initialisation, shuffling and dropout")
      ->capture_default_str()
      ->group(group);
}

void add_optimisation_flags(CLI::App* app, TrainOptions* o) {
  const std::string group = "Optimisation";
  app->add_option("--epochs", o->epochs, "Epochs to train (a resumed run counts finished ones)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str()
      ->group(group);
  app->add_option("--batch-size", o->batch_size, "Batch size per rank (as in PyTorch DDP)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str()
      ->group(group);
  app->add_option("--lr", o->lr, "Base learning rate")->capture_default_str()->group(group);
  app->add_option("--optimizer", o->optimizer, "sgd (with momentum) or adam")
      ->check(CLI::IsMember({"sgd", "adam"}))
      ->capture_default_str()
      ->group(group);
  app->add_option("--momentum", o->momentum, "SGD momentum")->capture_default_str()->group(group);
  app->add_option("--weight-decay", o->weight_decay, "SGD L2 weight decay")
      ->capture_default_str()
      ->group(group);
  app->add_option("--lr-schedule", o->lr_schedule, "constant, step (x0.5 every 3 epochs) or cosine")
      ->check(CLI::IsMember({"constant", "step", "cosine"}))
      ->capture_default_str()
      ->group(group);
  app->add_option("--warmup-steps", o->warmup_steps, "Linear LR warm-up steps")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->group(group);
}

void add_distribution_flags(CLI::App* app, TrainOptions* o) {
  const std::string group = "Distribution";
  app->add_option("--mode", o->mode, "allreduce (data parallel) or ps (parameter servers)")
      ->check(CLI::IsMember({"allreduce", "ps"}))
      ->capture_default_str()
      ->group(group);
  app->add_option("--backend", o->backend, "All-reduce backend: ring, mpi or nccl")
      ->check(CLI::IsMember({"ring", "mpi", "nccl"}))
      ->capture_default_str()
      ->group(group);
  app->add_option("--device", o->device, "cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str()
      ->group(group);
  app->add_option("--threads", o->threads, "CPU threads for kernels; 0 = all cores")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str()
      ->group(group);
  app->add_option("--timeout", o->timeout_s,
                  "Seconds to wait for a peer (rendezvous, or a collective making no progress)")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str()
      ->group(group);
  app->add_option("--ring-transport", o->ring_transport,
                  "ring backend: auto (shared memory on one host) or tcp")
      ->check(CLI::IsMember({"auto", "tcp"}))
      ->capture_default_str()
      ->group(group);
  app->add_option("--ps-role", o->ps_role,
                  "ps mode: server or worker (default from CADRE_REPLICA_TYPE or TF_CONFIG)")
      ->check(CLI::IsMember({"server", "worker"}))
      ->group(group);
  app->add_option("--ps-sync", o->ps_sync, "ps mode: sync (aggregate all workers) or async")
      ->check(CLI::IsMember({"sync", "async"}))
      ->capture_default_str()
      ->group(group);
  app->add_option("--ps-replicas", o->ps_replicas,
                  "ps mode: how many leading CADRE_PEERS entries are servers (0: TF_CONFIG or 1)")
      ->check(CLI::NonNegativeNumber)
      ->group(group);
}

void add_output_flags(CLI::App* app, TrainOptions* o) {
  const std::string group = "Checkpoints and output";
  app->add_option("--checkpoint-dir", o->checkpoint_dir,
                  "Checkpoint every epoch here and resume from the latest (default "
                  "$CADRE_CHECKPOINT_DIR)")
      ->group(group);
  app->add_option("--export", o->export_path, "Write the trained model here (docs/training.md)")
      ->group(group);
  app->add_option("--evaluate", o->evaluate_path,
                  "Train nothing: print the test-set accuracy and loss of this exported model")
      ->group(group);
  app->add_option("--log-level", o->log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->group(group);
}

}  // namespace

// Grouped as `cadre-train --help` shows them.
void add_train_flags(CLI::App* app, TrainOptions* o) {
  add_data_and_model_flags(app, o);
  add_optimisation_flags(app, o);
  add_distribution_flags(app, o);
  add_output_flags(app, o);
}

namespace {

Status apply_ps_environment(const std::map<std::string, std::string>& env, TrainOptions* o) {
  auto get = [&](const char* k) { return env.count(k) ? env.at(k) : std::string(); };
  PsOptions& ps = o->ps;
  ps.sync = o->ps_sync == "sync";
  const std::string tf_config = get("TF_CONFIG");
  if (!tf_config.empty()) {
    // TFJob's contract: {"cluster": {"ps": [...], "worker": [...]}, "task": {"type", "index"}}.
    try {
      auto j = nlohmann::json::parse(tf_config);
      ps.servers = j.at("cluster").value("ps", std::vector<std::string>{});
      auto workers = j.at("cluster").value("worker", std::vector<std::string>{});
      auto chief = j.at("cluster").value("chief", std::vector<std::string>{});
      ps.num_workers = static_cast<int>(workers.size() + chief.size());
      const std::string type = j.at("task").at("type").get<std::string>();
      const int index = j.at("task").at("index").get<int>();
      ps.role = type == "ps" ? "server" : "worker";
      // The chief, when present, is worker 0 and shifts the workers by one.
      ps.index = type == "ps"      ? index
                 : type == "chief" ? 0
                                   : index + static_cast<int>(chief.size());
    } catch (const std::exception& e) {
      return InvalidArgument(std::string("TF_CONFIG: not a TFJob cluster spec (") + e.what() + ")");
    }
  } else {
    const int k = o->ps_replicas > 0 ? o->ps_replicas : 1;
    const auto& rv = o->rendezvous;
    if (rv.peers.empty() && rv.world_size > 1)
      return InvalidArgument("ps mode: needs CADRE_PEERS (or TF_CONFIG) to find the servers");
    if (rv.world_size <= k)
      return InvalidArgument("ps mode: CADRE_WORLD_SIZE=" + std::to_string(rv.world_size) +
                             " leaves no worker after " + std::to_string(k) + " servers");
    // CADRE_PEERS order for PS jobs: the k servers first, then the workers.
    ps.servers.assign(rv.peers.begin(), rv.peers.begin() + k);
    ps.num_workers = rv.world_size - k;
    ps.role = rv.rank < k ? "server" : "worker";
    ps.index = rv.rank < k ? rv.rank : rv.rank - k;
  }
  if (!o->ps_role.empty()) ps.role = o->ps_role;
  if (ps.servers.empty()) return InvalidArgument("ps mode: no parameter servers configured");
  for (const auto& s : ps.servers) {
    auto parsed = net::parse_host_port(s);
    if (!parsed.ok()) return parsed.status().annotate("ps servers");
  }
  if (ps.num_workers < 1) return InvalidArgument("ps mode: no workers configured");
  const int limit = ps.role == "server" ? static_cast<int>(ps.servers.size()) : ps.num_workers;
  if (ps.index < 0 || ps.index >= limit)
    return InvalidArgument("ps mode: " + ps.role + " index " + std::to_string(ps.index) +
                           " outside [0, " + std::to_string(limit) + ")");
  return Status::Ok();
}

}  // namespace

Status apply_environment(const std::map<std::string, std::string>& env, TrainOptions* o) {
  auto get = [&](const char* k) { return env.count(k) ? env.at(k) : std::string(); };
  ASSIGN_OR_RETURN(o->rendezvous, rendezvous_from_environment(env));
  o->rendezvous.timeout = std::chrono::seconds(o->timeout_s);
  if (o->checkpoint_dir.empty()) o->checkpoint_dir = get("CADRE_CHECKPOINT_DIR");
  if (!get("CADRE_GENERATION").empty()) {
    const std::string text = get("CADRE_GENERATION");
    char* end = nullptr;
    errno = 0;
    const long long g = std::strtoll(text.c_str(), &end, 10);
    if (*end != '\0' || errno != 0 || g < 0) {
      return InvalidArgument("CADRE_GENERATION='" + text.substr(0, 32) +
                             "': must be a non-negative integer");
    }
    o->generation = g;
  }
  if (!get("CADRE_JOB").empty()) o->job = get("CADRE_JOB");
  if (!(o->lr > 0.0f)) return InvalidArgument("--lr: must be > 0, got " + std::to_string(o->lr));
  if (!o->hidden.empty() && o->model != "mlp")
    return InvalidArgument("--hidden: only the mlp takes hidden widths, not --model " + o->model);
  if (o->hidden.size() > 4)
    return InvalidArgument("--hidden: at most 4 hidden layers, got " +
                           std::to_string(o->hidden.size()));
  if (o->backend == "nccl" && o->device != "cuda")
    return InvalidArgument("--backend nccl: needs --device cuda (NCCL reduces GPU buffers)");
  if (o->mode == "ps") RETURN_IF_ERROR(apply_ps_environment(env, o));
  return Status::Ok();
}

}  // namespace cadre::training
