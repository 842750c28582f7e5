// config.pbtxt: Triton's text format parsed against Cadre's own declaration of the
// fields it supports (serving/model_config.proto), then checked and completed with
// Triton's defaults. A field Cadre does not implement is an error that names it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/status.h"
#include "serving/data_type.h"
#include "serving/infer_tensor.h"
#include "serving/model_config.pb.h"

namespace cadre::serving {

using ModelConfig = config::ModelConfig;

// Parses config.pbtxt text. Errors read "SOURCE:LINE:COL: ..." and name the field.
Result<ModelConfig> parse_model_config(const std::string& text, const std::string& source);

// Fills what Triton fills by default: the name (the model's folder), the backend
// from `platform`, one CPU-or-GPU instance, the "latest 1" version policy.
void apply_config_defaults(const std::string& model_name, ModelConfig* config);

// Checks everything the batcher and the backends rely on. Errors name the field
// (`input[1].dims[0]: must be -1 or positive, got 0`).
Status validate_model_config(const ModelConfig& config);

// The versions to serve among `available` (ascending), by the config's policy.
std::vector<int64_t> versions_to_serve(const ModelConfig& config, std::vector<int64_t> available);

inline DataType to_data_type(config::DataType type) { return static_cast<DataType>(type); }
inline config::DataType to_config_type(DataType type) {
  return static_cast<config::DataType>(type);
}

// The V2 shape of a config tensor: with a leading -1 when the model batches.
Dims v2_shape(const ModelConfig& config, const google::protobuf::RepeatedField<int64_t>& dims);

// The instance count the config asks for, over all groups (GPU groups count per device).
int total_instance_count(const ModelConfig& config);

}  // namespace cadre::serving
