// Builds a layer from its exported description ({"type": ..., hyper-parameters})
// and the per-sample shape flowing into it. The model zoo, the exporter and the
// serving runtime's loader all go through here, so a model description means
// the same thing everywhere.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "training/layers/layer.h"

namespace cadre::training {

Result<std::unique_ptr<Layer>> make_layer(const nlohmann::json& spec, const Shape& in_shape);

}  // namespace cadre::training
