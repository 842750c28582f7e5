#include "training/model_export.h"

#include "training/tensor_file.h"

namespace cadre::training {

std::vector<std::string> fashion_mnist_labels() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
}

Status export_model(const std::string& path, Model& model, const ExportedModelInfo& info) {
  ASSIGN_OR_RETURN(auto params, model.parameters().to_host());
  TensorFile file;
  const auto& def = model.definition();
  file.header = {{"format", "cadre-model"},
                 {"name", def.name},
                 {"input_shape", def.input_shape},
                 {"input_dtype", "float32"},
                 {"layers", def.layers},
                 {"normalization",
                  {{"mean", info.normalization.mean},
                   {"stddev", info.normalization.stddev},
                   {"scale", 1.0 / 255.0}}},
                 {"labels", info.labels},
                 {"output", "logits"}};
  for (const auto& p : model.param_info()) {
    NamedTensor t{p.name, p.shape, {}};
    t.values.assign(params.begin() + p.offset, params.begin() + p.offset + shape_size(p.shape));
    file.tensors.push_back(std::move(t));
  }
  return write_tensor_file(path, kModelMagic, file).annotate("exporting model");
}

Result<LoadedModel> load_exported_model(const std::string& path, kernels::Backend* backend) {
  ASSIGN_OR_RETURN(auto file, read_tensor_file(path, kModelMagic));
  LoadedModel loaded;
  ModelDefinition def;
  try {
    def.name = file.header.at("name").get<std::string>();
    def.input_shape = file.header.at("input_shape").get<Shape>();
    for (const auto& l : file.header.at("layers")) def.layers.push_back(l);
    const auto& norm = file.header.at("normalization");
    loaded.info.normalization.mean = norm.at("mean").get<float>();
    loaded.info.normalization.stddev = norm.at("stddev").get<float>();
    loaded.info.labels = file.header.value("labels", std::vector<std::string>{});
  } catch (const std::exception& e) {
    return DataLoss(path + ": header field missing or mistyped (" + e.what() + ")");
  }
  auto model = Model::Create(backend, def);
  if (!model.ok()) return model.status().annotate(path);
  std::vector<float> params((*model)->parameters().size());
  for (const auto& p : (*model)->param_info()) {
    const NamedTensor* t = file.find(p.name);
    if (!t) return DataLoss(path + ": parameter " + p.name + " is missing");
    if (t->shape != p.shape)
      return DataLoss(path + ": parameter " + p.name + " has shape " + shape_string(t->shape) +
                      ", the architecture needs " + shape_string(p.shape));
    std::copy(t->values.begin(), t->values.end(), params.begin() + p.offset);
  }
  RETURN_IF_ERROR((*model)->parameters().copy_from_host(params.data(), params.size()));
  loaded.model = std::move(model).value();
  return loaded;
}

}  // namespace cadre::training
