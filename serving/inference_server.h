// The core of cadre-serve, below every front end: the models it serves (loaded
// from the repository as the model control mode says), their versions and
// batchers, request validation against each model's config, and the repository
// operations. HTTP and gRPC translate their wire into calls here and back.
//
// Threads: front ends call infer() and the metadata functions from their own
// threads; loads, unloads and repository polls run on one control thread, so two
// loads never race; each model version's batcher owns its instance threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/status.h"
#include "serving/dynamic_batcher.h"
#include "serving/infer_request.h"
#include "serving/model_repository.h"
#include "serving/model_stats.h"

namespace cadre::serving {

enum class ModelControlMode { kNone, kExplicit, kPoll };
Result<ModelControlMode> parse_model_control_mode(const std::string& text);

struct ServerOptions {
  std::string model_repository;
  ModelControlMode control_mode = ModelControlMode::kNone;
  std::vector<std::string> startup_models;  // explicit mode: --load-model
  std::chrono::milliseconds poll_interval{15000};
  int cpu_threads_per_instance = 1;
  size_t max_queue_size = 16384;          // per model version, whatever its config says
  int64_t max_tensor_elements = 1 << 26;  // per input tensor
};

struct TensorMetadata {
  std::string name;
  DataType datatype = DataType::kInvalid;
  Dims shape;
};

struct ModelMetadata {
  std::string name;
  std::vector<int64_t> versions;
  std::string platform;
  std::vector<TensorMetadata> inputs, outputs;
};

struct ModelIndexEntry {
  std::string name;
  int64_t version = 0;  // 0: the model as a whole (not loaded, or failed)
  std::string state;    // READY, UNAVAILABLE, LOADING, UNLOADING
  std::string reason;
};

struct VersionStats {
  std::string model;
  int64_t version = 0;
  std::shared_ptr<const ModelStats> stats;
};

class InferenceServer {
 public:
  static Result<std::unique_ptr<InferenceServer>> Create(const ServerOptions& options);
  ~InferenceServer();

  bool live() const { return true; }
  // Not draining, and every model the server was asked to load is ready.
  bool ready() const;

  // Validates `request` against the model's config and queues it; `done` gets
  // the response or the error (NotFound, InvalidArgument, Unavailable, Internal).
  void infer(std::shared_ptr<InferRequest> request, InferCallback done);

  Result<ModelMetadata> model_metadata(const std::string& name, int64_t version) const;
  // NotFound for a model the server does not know; false while not loaded.
  Result<bool> model_ready(const std::string& name, int64_t version) const;
  Result<ModelConfig> model_config(const std::string& name, int64_t version) const;
  std::vector<ModelIndexEntry> repository_index(bool ready_only) const;
  // Statistics of one model (every served version, or `version`), or of all.
  Result<std::vector<VersionStats>> statistics(const std::string& name, int64_t version) const;

  // Repository extension: run on the control thread; `done` when finished.
  // FailedPrecondition unless the control mode is explicit.
  void load_model(const std::string& name, std::function<void(Status)> done);
  void unload_model(const std::string& name, std::function<void(Status)> done);

  // Refuses new requests, answers every queued and running one, stops loading.
  void drain();

 private:
  struct ServedVersion {
    int64_t version = 0;
    std::string fingerprint;
    ModelConfig config;
    std::shared_ptr<ModelStats> stats;
    std::unique_ptr<DynamicBatcher> batcher;
  };
  struct Model {
    std::string state = "UNAVAILABLE";
    std::string reason;
    bool wanted = false;  // asked to load (at start-up, by the API, by a poll)
    std::map<int64_t, std::shared_ptr<ServedVersion>> versions;
  };

  explicit InferenceServer(const ServerOptions& options);
  void control_loop();
  // Queues a repository API operation for the control thread (explicit mode only).
  void submit_repository_operation(std::function<Status()> operation,
                                   std::function<void(Status)> done);
  Status load(const std::string& name);  // control thread
  void unload(const std::string& name);  // control thread
  void poll();                           // control thread
  Result<std::shared_ptr<ServedVersion>> load_version(const ResolvedModel& model, int64_t version);
  // With mu_ held (shared): the version to use, or why there is none.
  Result<std::shared_ptr<ServedVersion>> find_version(const std::string& name,
                                                      int64_t version) const;
  Status validate(const ModelConfig& config, InferRequest* request) const;

  const ServerOptions options_;
  ModelRepository repository_;

  // Model table: written by the control thread, read by front-end threads.
  mutable std::shared_mutex mu_;
  std::map<std::string, Model> models_;
  std::atomic<bool> draining_{false};

  // Control thread and its task queue.
  std::mutex control_mu_;
  std::condition_variable control_cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_control_ = false;
  std::thread control_;
};

}  // namespace cadre::serving
