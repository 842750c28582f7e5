#include "training/layers/layer_factory.h"

#include "training/layers/conv2d.h"
#include "training/layers/dense.h"
#include "training/layers/dropout.h"
#include "training/layers/flatten.h"
#include "training/layers/max_pool2d.h"
#include "training/layers/relu.h"

namespace cadre::training {
namespace {

Result<int> positive_int(const nlohmann::json& spec, const char* key, int fallback = -1) {
  if (!spec.contains(key)) {
    if (fallback >= 0) return fallback;
    return InvalidArgument(std::string("layer ") + spec.value("type", "?") + ": missing '" + key +
                           "'");
  }
  const auto& v = spec[key];
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > (1 << 20))
    return InvalidArgument(std::string("layer ") + spec.value("type", "?") + "." + key +
                           ": must be an integer in [0, 2^20], got " + v.dump());
  return v.get<int>();
}

}  // namespace

Result<std::unique_ptr<Layer>> make_layer(const nlohmann::json& spec, const Shape& in) {
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string())
    return InvalidArgument("layer: must be an object with a string 'type', got " + spec.dump());
  const std::string type = spec["type"];
  if (type == "dense") {
    if (in.size() != 1)
      return InvalidArgument("dense: input must be flat, got " + shape_string(in));
    ASSIGN_OR_RETURN(int out, positive_int(spec, "out"));
    return std::unique_ptr<Layer>(new Dense(in[0], out));
  }
  if (type == "relu") return std::unique_ptr<Layer>(new ReLU(in));
  if (type == "flatten") return std::unique_ptr<Layer>(new Flatten(in));
  if (type == "dropout") {
    double p = spec.value("p", 0.5);
    if (!(p >= 0.0 && p < 1.0)) return InvalidArgument("dropout.p: must be in [0, 1)");
    return std::unique_ptr<Layer>(new Dropout(in, static_cast<float>(p)));
  }
  if (type == "conv2d" || type == "maxpool2d") {
    if (in.size() != 3)
      return InvalidArgument(type + ": input must be [C, H, W], got " + shape_string(in));
  }
  if (type == "conv2d") {
    ASSIGN_OR_RETURN(int out, positive_int(spec, "out_channels"));
    ASSIGN_OR_RETURN(int k, positive_int(spec, "kernel"));
    ASSIGN_OR_RETURN(int pad, positive_int(spec, "pad", 0));
    ASSIGN_OR_RETURN(int stride, positive_int(spec, "stride", 1));
    if (k == 0 || stride == 0 || in[1] + 2 * pad < k || in[2] + 2 * pad < k)
      return InvalidArgument("conv2d: kernel " + std::to_string(k) + " does not fit input " +
                             shape_string(in));
    return std::unique_ptr<Layer>(new Conv2D(in, out, k, pad, stride));
  }
  if (type == "maxpool2d") {
    ASSIGN_OR_RETURN(int window, positive_int(spec, "window"));
    ASSIGN_OR_RETURN(int stride, positive_int(spec, "stride", window));
    if (window == 0 || stride == 0 || in[1] < window || in[2] < window)
      return InvalidArgument("maxpool2d: window " + std::to_string(window) +
                             " does not fit input " + shape_string(in));
    return std::unique_ptr<Layer>(new MaxPool2D(in, window, stride));
  }
  return InvalidArgument("layer type '" + type +
                         "': must be one of dense, conv2d, maxpool2d, relu, flatten, dropout");
}

}  // namespace cadre::training
