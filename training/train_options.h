// Every setting of cadre-train, declared once with its default and a one-line
// doc (the CLI11 flags in train_options.cc), plus what the replica environment
// contract says (rank, peers, checkpoint dir, PS role). Parsed at start-up and
// passed down; nothing else reads the environment.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "training/collectives/communicator.h"

namespace cadre::training {

struct PsOptions {
  // "server" or "worker"; from --ps-role, else CADRE_REPLICA_TYPE / TF_CONFIG.
  std::string role;
  int index = 0;                     // this replica's index among its role
  std::vector<std::string> servers;  // host:port of every parameter server
  int num_workers = 1;
  bool sync = true;  // --ps-sync sync|async
};

struct TrainOptions {
  std::string model = "cnn";
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  int epochs = 10;
  int batch_size = 64;  // per rank, as in PyTorch DDP
  float lr = 1e-3f;
  std::string optimizer = "adam";
  float momentum = 0.9f;
  float weight_decay = 0.0f;
  std::string lr_schedule = "cosine";
  int warmup_steps = 0;
  std::string mode = "allreduce";
  std::string backend = "ring";
  std::string device = "cpu";
  uint64_t seed = 42;
  std::string checkpoint_dir;
  // CADRE_GENERATION: this replica instance's fencing generation (training/
  // checkpoint_fence.h); 0 outside Cadre: no fencing.
  int64_t generation = 0;
  std::string export_path;
  std::string
      evaluate_path;  // --evaluate: score this exported model on the test set, train nothing
  int threads = 0;    // 0: all cores
  int timeout_s = 60;
  std::string ring_transport = "auto";
  int train_limit = 0;  // 0: the whole training set
  // Images held out of training, from the end of the training set, to score the
  // model on each epoch (val_loss, val_accuracy): what a tuner should optimise,
  // so that the test set stays unseen until the winner is picked. 0: none.
  int validation = 0;
  // The mlp's hidden layer widths; empty: 256, 128.
  std::vector<int> hidden;
  int eval_batch_size = 1000;
  std::string log_level = "info";
  // PS mode
  std::string ps_role;
  std::string ps_sync = "sync";
  int ps_replicas = 0;  // 0: from TF_CONFIG, else 1

  // Filled from the environment by apply_environment().
  RendezvousOptions rendezvous;
  PsOptions ps;
  std::string job = "local";  // CADRE_JOB, for log context
};

// Declares the flags on app, writing into options.
void add_train_flags(CLI::App* app, TrainOptions* options);

// Reads the environment contract (a snapshot of environ) into options and
// validates the whole; errors name the flag or variable and its value.
Status apply_environment(const std::map<std::string, std::string>& env, TrainOptions* options);

}  // namespace cadre::training
