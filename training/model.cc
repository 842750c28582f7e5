#include "training/model.h"

#include <cmath>
#include <random>

#include "training/layers/layer_factory.h"

namespace cadre::training {

Result<ModelDefinition> model_definition(const std::string& name, const std::vector<int>& hidden) {
  using nlohmann::json;
  if (name == "mlp") {
    ModelDefinition def{name, {1, 28, 28}, {json{{"type", "flatten"}}}};
    for (int width : hidden.empty() ? std::vector<int>{256, 128} : hidden) {
      if (width < 1) return InvalidArgument("mlp: hidden widths must be >= 1");
      def.layers.push_back(json{{"type", "dense"}, {"out", width}});
      def.layers.push_back(json{{"type", "relu"}});
    }
    def.layers.push_back(json{{"type", "dense"}, {"out", 10}});
    return def;
  }
  if (!hidden.empty()) return InvalidArgument("model " + name + ": takes no hidden widths");
  if (name == "cnn") {
    // TensorFlow's layers-tutorial shape (5x5 conv, 2x2 pool, twice; two dense
    // layers) with half its widths: the accuracy target is met in a few CPU
    // minutes instead of a quarter of an hour (docs/training.md).
    return ModelDefinition{
        name,
        {1, 28, 28},
        // ReLU after pooling: max and ReLU commute, so this is the tutorial's
        // conv-relu-pool function with a quarter of the ReLU work.
        {json{{"type", "conv2d"}, {"out_channels", 16}, {"kernel", 5}, {"pad", 2}},
         json{{"type", "maxpool2d"}, {"window", 2}, {"stride", 2}}, json{{"type", "relu"}},
         json{{"type", "conv2d"}, {"out_channels", 32}, {"kernel", 5}, {"pad", 2}},
         json{{"type", "maxpool2d"}, {"window", 2}, {"stride", 2}}, json{{"type", "relu"}},
         json{{"type", "flatten"}}, json{{"type", "dense"}, {"out", 256}}, json{{"type", "relu"}},
         json{{"type", "dropout"}, {"p", 0.25}}, json{{"type", "dense"}, {"out", 10}}}};
  }
  return InvalidArgument("model: must be mlp or cnn, got '" + name + "'");
}

Result<std::unique_ptr<Model>> Model::Create(kernels::Backend* backend,
                                             const ModelDefinition& definition) {
  auto model = std::make_unique<Model>();
  model->definition_ = definition;
  Shape shape = definition.input_shape;
  size_t total = 0;
  std::vector<std::vector<ParamSpec>> specs;
  for (size_t i = 0; i < definition.layers.size(); ++i) {
    auto layer = make_layer(definition.layers[i], shape);
    if (!layer.ok()) return layer.status().annotate("layers[" + std::to_string(i) + "]");
    shape = (*layer)->output_shape();
    specs.push_back((*layer)->param_specs());
    for (const auto& p : specs.back()) {
      model->info_.push_back(
          {std::to_string(i) + "." + (*layer)->type() + "." + p.name, p.shape, total, p.fan_in});
      total += shape_size(p.shape);
    }
    model->layers_.push_back(std::move(layer).value());
  }
  ASSIGN_OR_RETURN(model->params_, Tensor::Create(backend, {static_cast<int>(total)}));
  ASSIGN_OR_RETURN(model->grads_, Tensor::Create(backend, {static_cast<int>(total)}));
  size_t k = 0;
  for (size_t i = 0; i < model->layers_.size(); ++i) {
    std::vector<Tensor> values, grads;
    for (size_t j = 0; j < specs[i].size(); ++j, ++k) {
      const auto& info = model->info_[k];
      values.push_back(Tensor::View(model->params_, info.offset, info.shape));
      grads.push_back(Tensor::View(model->grads_, info.offset, info.shape));
    }
    model->layers_[i]->bind(std::move(values), std::move(grads));
    ASSIGN_OR_RETURN(auto act, Tensor::Create(backend, {0}));
    ASSIGN_OR_RETURN(auto delta, Tensor::Create(backend, {0}));
    model->activations_.push_back(std::move(act));
    model->deltas_.push_back(std::move(delta));
  }
  return model;
}

Status Model::initialize(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> host(params_.size(), 0.0f);
  for (const auto& p : info_) {
    if (p.fan_in == 0) continue;
    const double bound = std::sqrt(6.0 / p.fan_in);
    for (size_t i = 0; i < shape_size(p.shape); ++i) {
      // 53 random bits -> [0, 1): identical on every platform, unlike
      // std::uniform_real_distribution whose algorithm is unspecified.
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      host[p.offset + i] = static_cast<float>((2.0 * u - 1.0) * bound);
    }
  }
  return params_.copy_from_host(host.data(), host.size());
}

Status Model::forward(const Tensor& x, const Pass& pass) {
  const Tensor* in = &x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    // Each dropout layer gets its own stream: mix the layer index into the seed.
    Pass layer_pass{pass.training, pass.seed * 1000003ull + i};
    RETURN_IF_ERROR(layers_[i]->forward(*in, &activations_[i], layer_pass));
    in = &activations_[i];
  }
  return Status::Ok();
}

Status Model::backward(const Tensor& x, const Tensor& dlogits) {
  const Tensor* dy = &dlogits;
  for (size_t i = layers_.size(); i-- > 0;) {
    const Tensor& in = i == 0 ? x : activations_[i - 1];
    Tensor* dx = i == 0 ? nullptr : &deltas_[i - 1];
    RETURN_IF_ERROR(layers_[i]->backward(in, activations_[i], *dy, dx));
    dy = dx;
  }
  return Status::Ok();
}

}  // namespace cadre::training
