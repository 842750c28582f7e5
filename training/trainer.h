// The training loop shared by every mode: per-epoch sharded batches, forward,
// loss, backward, an update through the ParameterUpdater, then (on the chief)
// test-set evaluation, the metric line, a checkpoint; an export at the end.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <random>

#include "training/checkpoint_fence.h"
#include "training/data/dataset.h"
#include "training/parameter_updater.h"
#include "training/softmax_cross_entropy.h"
#include "training/train_options.h"

namespace cadre::training {

struct TrainerRole {
  int rank = 0;             // index among the ranks that train
  int world = 1;            // number of ranks that train
  bool chief = true;        // evaluates, prints metrics, checkpoints, exports
  bool checkpoints = true;  // the chief writes per-epoch checkpoints and resumes from them
};

struct EpochMetrics {
  int epoch = 0;
  double loss = 0;
  double accuracy = 0;                           // on the test set
  std::optional<double> val_loss, val_accuracy;  // with --validation
  double images_per_sec = 0;
};

// Top-1 accuracy and mean loss of `model` on `data`, in batches of `batch_size`.
Result<std::pair<double, double>> evaluate_model(Model& model, kernels::Backend* backend,
                                                 const Dataset& data, int batch_size);

class Trainer {
 public:
  static Result<std::unique_ptr<Trainer>> Create(const TrainOptions& options,
                                                 kernels::Backend* backend, TrainerRole role,
                                                 ParameterUpdater* updater);
  // Runs the remaining epochs; the chief writes one metric line per epoch to out:
  // "epoch=N loss=X accuracy=Y [val_loss=V val_accuracy=W] images_per_sec=Z".
  Status run(std::ostream& out);
  // Top-1 accuracy and mean loss of the current model on a dataset.
  Result<std::pair<double, double>> evaluate(const Dataset& data);
  const std::vector<EpochMetrics>& history() const { return history_; }
  Model& model() { return *model_; }

 private:
  Trainer() = default;
  Status resume();
  Status train_epoch(int epoch, uint64_t shuffle_seed, EpochMetrics* metrics);
  Status save(int epochs_completed);

  TrainOptions options_;
  kernels::Backend* backend_ = nullptr;
  TrainerRole role_;
  ParameterUpdater* updater_ = nullptr;
  Dataset train_, test_;
  Dataset validation_;  // the chief's, with --validation; else empty
  std::unique_ptr<Model> model_;
  std::unique_ptr<SoftmaxCrossEntropy> loss_;
  Tensor input_;
  TrainProgress progress_;
  // Draws one shuffle seed per epoch; identical on every rank, and restored on
  // resume by replaying epochs_completed draws.
  std::mt19937_64 rng_;
  std::vector<EpochMetrics> history_;
  // The chief's claim on its checkpoint folder; every save goes through it.
  std::optional<CheckpointFence> fence_;
};

}  // namespace cadre::training
