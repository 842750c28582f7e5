#include "training/trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "training/checkpoint.h"
#include "training/model_export.h"
#include "training/optim/lr_schedule.h"

namespace cadre::training {

Result<std::unique_ptr<Trainer>> Trainer::Create(const TrainOptions& options,
                                                 kernels::Backend* backend, TrainerRole role,
                                                 ParameterUpdater* updater) {
  auto t = std::unique_ptr<Trainer>(new Trainer());
  t->options_ = options;
  t->backend_ = backend;
  t->role_ = role;
  t->updater_ = updater;
  // Only the images used are converted to floats: a trial on 10,000 of the 60,000
  // starts without filling 190 MB it never reads.
  ASSIGN_OR_RETURN(const auto raw, read_fashion_mnist(options.data_dir, Split::kTrain));
  int kept = raw.count;
  if (options.validation > 0) {
    // The held-out images come off the end, so --train-limit's first N and the
    // validation images never overlap (as Keras's validation_split does).
    if (options.validation >= raw.count)
      return InvalidArgument("--validation " + std::to_string(options.validation) +
                             ": the training set has only " + std::to_string(raw.count) +
                             " images");
    kept = raw.count - options.validation;
    if (role.chief) t->validation_ = normalized(raw, kept, raw.count);
  }
  t->train_ =
      normalized(raw, 0, options.train_limit > 0 ? std::min(options.train_limit, kept) : kept);
  if (role.chief) {
    ASSIGN_OR_RETURN(t->test_, load_fashion_mnist(options.data_dir, Split::kTest));
  }
  if (t->train_.count / role.world < 1)
    return InvalidArgument("training set of " + std::to_string(t->train_.count) +
                           " images is too small for " + std::to_string(role.world) + " ranks");
  ASSIGN_OR_RETURN(auto def, model_definition(options.model, options.hidden));
  ASSIGN_OR_RETURN(t->model_, Model::Create(backend, def));
  RETURN_IF_ERROR(t->model_->initialize(options.seed));
  t->loss_ = std::make_unique<SoftmaxCrossEntropy>(backend);
  ASSIGN_OR_RETURN(t->input_, Tensor::Create(backend, {0}));
  t->rng_.seed(options.seed);
  return t;
}

Status Trainer::resume() {
  if (role_.chief && role_.checkpoints && !options_.checkpoint_dir.empty()) {
    // Claimed before reading: from here on an older incarnation cannot write.
    ASSIGN_OR_RETURN(fence_, CheckpointFence::Claim(options_.checkpoint_dir, options_.generation));
    ASSIGN_OR_RETURN(auto state, load_latest_checkpoint(options_.checkpoint_dir));
    if (state) {
      if (state->model != options_.model)
        return FailedPrecondition("checkpoint in " + options_.checkpoint_dir + " is for model " +
                                  state->model + ", not " + options_.model);
      if (state->parameters.size() != model_->parameters().size())
        return DataLoss("checkpoint has " + std::to_string(state->parameters.size()) +
                        " parameters, model " + options_.model + " has " +
                        std::to_string(model_->parameters().size()));
      RETURN_IF_ERROR(
          model_->parameters().copy_from_host(state->parameters.data(), state->parameters.size()));
      if (Optimizer* opt = updater_->local_optimizer()) {
        if (state->optimizer != options_.optimizer)
          return FailedPrecondition("checkpoint used optimizer " + state->optimizer + ", not " +
                                    options_.optimizer);
        for (auto& [name, tensor] : opt->state()) {
          const NamedTensor* saved = nullptr;
          for (const auto& s : state->optimizer_state)
            if (s.name == name) saved = &s;
          if (!saved || saved->values.size() != tensor->size())
            return DataLoss("checkpoint lacks optimizer state '" + name + "'");
          RETURN_IF_ERROR(tensor->copy_from_host(saved->values.data(), saved->values.size()));
        }
        opt->set_steps(state->optimizer_steps);
      }
      progress_.epochs_completed = state->epochs_completed;
      progress_.global_step = state->global_step;
      spdlog::info("resumed from checkpoint: {} epochs completed, step {}", state->epochs_completed,
                   state->global_step);
    }
  }
  RETURN_IF_ERROR(updater_->start(*model_, &progress_));
  // Replay the per-epoch seed draws so shuffles continue where they stopped.
  for (int e = 0; e < progress_.epochs_completed; ++e) rng_();
  return Status::Ok();
}

Result<std::pair<double, double>> evaluate_model(Model& model, kernels::Backend* backend,
                                                 const Dataset& data, int batch_size) {
  if (data.count <= 0) return InvalidArgument("nothing to evaluate: the dataset is empty");
  if (batch_size < 1) return InvalidArgument("evaluation batch size must be >= 1");
  SoftmaxCrossEntropy loss_fn(backend);
  ASSIGN_OR_RETURN(auto input, Tensor::Create(backend, {0}));
  std::vector<int> order(data.count);
  for (int i = 0; i < data.count; ++i) order[i] = i;
  std::vector<float> images;
  std::vector<int32_t> labels;
  double loss = 0;
  int64_t correct = 0;
  for (size_t b = 0; b < order.size(); b += batch_size) {
    const size_t e = std::min(order.size(), b + batch_size);
    gather_batch(data, order, b, e, &images, &labels);
    const int n = static_cast<int>(e - b);
    RETURN_IF_ERROR(input.ensure(batched(n, data.sample_shape)));
    RETURN_IF_ERROR(input.copy_from_host(images.data(), images.size()));
    RETURN_IF_ERROR(model.forward(input, Pass{false, 0}));
    RETURN_IF_ERROR(loss_fn.set_labels(labels.data(), n));
    ASSIGN_OR_RETURN(auto r, loss_fn.compute(model.output(), false));
    loss += r.loss_sum;
    correct += r.correct;
  }
  return std::make_pair(static_cast<double>(correct) / data.count, loss / data.count);
}

Result<std::pair<double, double>> Trainer::evaluate(const Dataset& data) {
  return evaluate_model(*model_, backend_, data, options_.eval_batch_size);
}

Status Trainer::train_epoch(int epoch, uint64_t shuffle_seed, EpochMetrics* m) {
  const auto shard = epoch_shard(train_.count, shuffle_seed, epoch, role_.rank, role_.world);
  const int steps_per_epoch =
      static_cast<int>((shard.size() + options_.batch_size - 1) / options_.batch_size);
  LrScheduleOptions lr_options;
  lr_options.kind = options_.lr_schedule;
  lr_options.base_lr = options_.lr;
  lr_options.warmup_steps = options_.warmup_steps;
  ASSIGN_OR_RETURN(auto schedule, LrSchedule::Create(lr_options, options_.epochs, steps_per_epoch));
  std::vector<float> images;
  std::vector<int32_t> labels;
  double sums[3] = {0, 0, 0};  // loss, samples, steps
  const auto start = std::chrono::steady_clock::now();
  for (size_t b = 0; b < shard.size(); b += options_.batch_size) {
    const size_t e = std::min(shard.size(), b + options_.batch_size);
    const int n = static_cast<int>(e - b);
    gather_batch(train_, shard, b, e, &images, &labels);
    RETURN_IF_ERROR(input_.ensure(batched(n, train_.sample_shape)));
    RETURN_IF_ERROR(input_.copy_from_host(images.data(), images.size()));
    // Dropout masks differ per step and per rank, and replay exactly on resume.
    const uint64_t mask_seed =
        kernels::dropout_hash(options_.seed, static_cast<uint64_t>(progress_.global_step) * 65537u +
                                                 static_cast<uint64_t>(role_.rank));
    RETURN_IF_ERROR(model_->forward(input_, Pass{true, mask_seed}));
    RETURN_IF_ERROR(loss_->set_labels(labels.data(), n));
    ASSIGN_OR_RETURN(auto r, loss_->compute(model_->output(), true));
    RETURN_IF_ERROR(model_->backward(input_, loss_->gradient()));
    RETURN_IF_ERROR(
        updater_->update(*model_, progress_.global_step, schedule.at(progress_.global_step)));
    ++progress_.global_step;
    sums[0] += r.loss_sum;
    sums[1] += n;
    sums[2] += 1;
    if (!std::isfinite(r.loss_sum))
      return FailedPrecondition("loss became " + std::to_string(r.loss_sum) + " at step " +
                                std::to_string(progress_.global_step) + "; lower --lr");
  }
  RETURN_IF_ERROR(backend_->synchronize());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RETURN_IF_ERROR(updater_->sum_across_ranks(sums, 2));
  m->epoch = epoch;
  m->loss = sums[0] / std::max(1.0, sums[1]);
  m->images_per_sec = sums[1] / std::max(seconds, 1e-9);
  return Status::Ok();
}

Status Trainer::save(int epochs_completed) {
  CheckpointState s;
  s.model = options_.model;
  s.epochs_completed = epochs_completed;
  s.global_step = progress_.global_step;
  s.seed = options_.seed;
  std::ostringstream rng_text;
  rng_text << rng_;
  s.rng_state = rng_text.str();
  s.optimizer = options_.optimizer;
  ASSIGN_OR_RETURN(s.parameters, model_->parameters().to_host());
  if (Optimizer* opt = updater_->local_optimizer()) {
    s.optimizer_steps = opt->steps();
    for (auto& [name, tensor] : opt->state()) {
      ASSIGN_OR_RETURN(auto values, tensor->to_host());
      s.optimizer_state.push_back({name, tensor->shape(), std::move(values)});
    }
  }
  if (!fence_) return save_checkpoint(options_.checkpoint_dir, s);
  return fence_->guarded([&] { return save_checkpoint(options_.checkpoint_dir, s); });
}

Status Trainer::run(std::ostream& out) {
  RETURN_IF_ERROR(resume());
  for (int epoch = progress_.epochs_completed + 1; epoch <= options_.epochs; ++epoch) {
    EpochMetrics m;
    RETURN_IF_ERROR(train_epoch(epoch, rng_(), &m));
    progress_.epochs_completed = epoch;
    if (!role_.chief) continue;
    ASSIGN_OR_RETURN(auto eval, evaluate(test_));
    m.accuracy = eval.first;
    char line[224];
    int n = std::snprintf(line, sizeof(line), "epoch=%d loss=%.4f accuracy=%.4f", m.epoch, m.loss,
                          m.accuracy);
    if (validation_.count > 0) {
      ASSIGN_OR_RETURN(auto val, evaluate(validation_));
      m.val_accuracy = val.first;
      m.val_loss = val.second;
      n += std::snprintf(line + n, sizeof(line) - n, " val_loss=%.4f val_accuracy=%.4f",
                         *m.val_loss, *m.val_accuracy);
    }
    std::snprintf(line + n, sizeof(line) - n, " images_per_sec=%.1f", m.images_per_sec);
    history_.push_back(m);
    out << line << std::endl;  // flushed: the agent parses it as it arrives
    if (role_.checkpoints && !options_.checkpoint_dir.empty()) {
      // The chief's file is written last: it commits the epoch (PS shards first).
      RETURN_IF_ERROR(updater_->checkpoint(epoch, progress_.global_step));
      RETURN_IF_ERROR(save(epoch));
    }
  }
  RETURN_IF_ERROR(updater_->finish());
  if (role_.chief && !options_.export_path.empty()) {
    ExportedModelInfo info{Normalization{}, fashion_mnist_labels()};
    RETURN_IF_ERROR(export_model(options_.export_path, *model_, info));
    spdlog::info("exported model to {}", options_.export_path);
  }
  return Status::Ok();
}

}  // namespace cadre::training
