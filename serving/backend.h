// The interface every model format implements (one subfolder per backend under
// serving/backends/, as gloo keeps one per transport). A Backend knows its model
// file and can complete a config from it; each ModelInstance owns one execution
// context (weights, scratch, a device), runs one batch at a time, and is driven by
// exactly one thread of the model's DynamicBatcher.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/device.h"
#include "protocol/status.h"
#include "serving/infer_tensor.h"
#include "serving/model_config.h"

namespace cadre::serving {

struct InstanceOptions {
  kernels::Device device = kernels::Device::kCpu;
  int gpu = 0;          // CUDA ordinal when device is kCuda
  int cpu_threads = 1;  // threads one CPU instance may use
};

class ModelInstance {
 public:
  virtual ~ModelInstance() = default;
  // `inputs` are the config's inputs in config order, each with its full shape
  // (the batch dimension first when max_batch_size > 0), already checked against
  // the config. Returns the config's outputs in config order.
  virtual Result<std::vector<InferTensor>> execute(const std::vector<InferTensor>& inputs) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // The file in a version folder this backend loads ("model.cadre", "model.pt").
  virtual std::string default_model_filename() const = 0;
  virtual bool supports_gpu() const = 0;
  // Fills what the config leaves out (inputs, outputs, max_batch_size) from the
  // model file, as Triton's auto-complete does, and checks what it declares.
  virtual Status autocomplete(const std::string& model_file, ModelConfig* config) const = 0;
  virtual Result<std::unique_ptr<ModelInstance>> create_instance(
      const std::string& model_file, const ModelConfig& config,
      const InstanceOptions& options) const = 0;
};

// The backend called `name`. "cadre" is built in; "pytorch" is a shared library
// (lib/cadre/backends/libcadre_backend_pytorch.so, beside the binary's bin/)
// loaded the first time a model needs it, as Triton loads its backends: a replica
// of a cadre model never pays libtorch's start-up (~0.5 s and ~350 MB resident).
// An error names the backend and why it cannot be had. Thread-safe.
Result<const Backend*> find_backend(const std::string& name);
// The file a backend's version folder holds ("model.cadre", "model.pt"), known
// without loading the backend; "" when no backend has that name.
std::string backend_model_filename(const std::string& name);

// What a backend library exports: its Backend, which lives as long as the process.
extern "C" {
using BackendEntryPoint = const Backend* (*)();
}
inline constexpr char kBackendEntryPoint[] = "cadre_backend_create";

}  // namespace cadre::serving
