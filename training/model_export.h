// The trained-model format the serving runtime loads (docs/training.md): a
// tensor file with magic "CADREMDL" whose JSON header carries the architecture
// (the same layer descriptions the model zoo uses), the input normalisation and
// the class labels, and one tensor per named parameter.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "training/data/dataset.h"
#include "training/model.h"

namespace cadre::training {

struct ExportedModelInfo {
  Normalization normalization;
  std::vector<std::string> labels;  // class index -> name
};

// The ten Fashion-MNIST classes in label order.
std::vector<std::string> fashion_mnist_labels();

Status export_model(const std::string& path, Model& model, const ExportedModelInfo& info);

struct LoadedModel {
  std::unique_ptr<Model> model;
  ExportedModelInfo info;
};

// Rebuilds the architecture and loads the parameters into backend memory.
Result<LoadedModel> load_exported_model(const std::string& path, kernels::Backend* backend);

}  // namespace cadre::training
