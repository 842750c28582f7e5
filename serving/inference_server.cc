#include "serving/inference_server.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "kernels/device.h"

namespace cadre::serving {
namespace {

constexpr size_t kMaxControlTasks = 64;

std::string model_label(const std::string& name, int64_t version) {
  return "model '" + name + "'" + (version > 0 ? " version " + std::to_string(version) : "");
}

// The instances a config asks for, with their devices.
Result<std::vector<InstanceOptions>> instance_plan(const ModelConfig& config,
                                                   const Backend& backend, int cpu_threads) {
  std::vector<InstanceOptions> plan;
  for (int g = 0; g < config.instance_group().size(); ++g) {
    const auto& group = config.instance_group(g);
    auto kind = group.kind();
    if (kind == config::ModelInstanceGroup::KIND_AUTO)
      kind = backend.supports_gpu() ? config::ModelInstanceGroup::KIND_GPU
                                    : config::ModelInstanceGroup::KIND_CPU;
    if (kind == config::ModelInstanceGroup::KIND_GPU && !backend.supports_gpu())
      return FailedPrecondition("instance_group[" + std::to_string(g) +
                                "].kind: KIND_GPU, but no GPU is visible to this cadre-serve "
                                "or its " +
                                backend.name() + " backend was built without CUDA");
    std::vector<int> gpus(group.gpus().begin(), group.gpus().end());
    if (kind == config::ModelInstanceGroup::KIND_CPU) gpus = {-1};
    if (gpus.empty()) gpus = {0};
    for (int gpu : gpus)
      for (int i = 0; i < group.count(); ++i) {
        InstanceOptions o;
        o.device = gpu < 0 ? kernels::Device::kCpu : kernels::Device::kCuda;
        o.gpu = std::max(gpu, 0);
        o.cpu_threads = cpu_threads;
        plan.push_back(o);
      }
  }
  return plan;
}

}  // namespace

Result<ModelControlMode> parse_model_control_mode(const std::string& text) {
  if (text == "none") return ModelControlMode::kNone;
  if (text == "explicit") return ModelControlMode::kExplicit;
  if (text == "poll") return ModelControlMode::kPoll;
  return InvalidArgument("--model-control-mode: '" + text.substr(0, 32) +
                         "' is not one of none, explicit, poll");
}

Result<std::unique_ptr<InferenceServer>> InferenceServer::Create(const ServerOptions& options) {
  std::unique_ptr<InferenceServer> server(new InferenceServer(options));
  ASSIGN_OR_RETURN(const auto names, server->repository_.model_names());
  std::vector<std::string> to_load;
  if (options.control_mode == ModelControlMode::kExplicit) {
    for (const auto& name : options.startup_models) {
      if (std::find(names.begin(), names.end(), name) == names.end())
        return NotFound("--load-model " + name + ": no such model in " + options.model_repository);
      to_load.push_back(name);
    }
  } else {
    if (!options.startup_models.empty())
      return InvalidArgument("--load-model needs --model-control-mode explicit");
    to_load = names;
  }
  for (const auto& name : names) server->models_[name];
  // Start-up loads run here, before any front end listens; a model that fails
  // stays UNAVAILABLE with its reason and the server stays not ready.
  for (const auto& name : to_load) {
    const Status s = server->load(name);
    if (!s.ok()) spdlog::error("{}: {}", model_label(name, 0), s.message());
  }
  server->control_ = std::thread([raw = server.get()] { raw->control_loop(); });
  return server;
}

InferenceServer::InferenceServer(const ServerOptions& options)
    : options_(options), repository_(options.model_repository) {}

InferenceServer::~InferenceServer() { drain(); }

bool InferenceServer::ready() const {
  if (draining_) return false;
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (const auto& [name, m] : models_)
    if (m.wanted && m.state != "READY") return false;
  return true;
}

void InferenceServer::submit_repository_operation(std::function<Status()> operation,
                                                  std::function<void(Status)> done) {
  if (options_.control_mode != ModelControlMode::kExplicit)
    return done(
        FailedPrecondition("explicit model load / unload is not allowed if polling is "
                           "enabled or the model control mode is none"));
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    if (tasks_.size() < kMaxControlTasks && !stop_control_) {
      tasks_.push_back([operation, done] { done(operation()); });
      queued = true;
    }
  }
  if (!queued) return done(Unavailable("too many repository operations in progress; retry"));
  control_cv_.notify_one();
}

void InferenceServer::load_model(const std::string& name, std::function<void(Status)> done) {
  submit_repository_operation([this, name] { return load(name); }, std::move(done));
}

void InferenceServer::unload_model(const std::string& name, std::function<void(Status)> done) {
  submit_repository_operation(
      [this, name] {
        {
          std::shared_lock<std::shared_mutex> lock(mu_);
          if (!models_.count(name))
            return NotFound("failed to unload '" + name + "', no model with that name is known");
        }
        unload(name);
        return Status::Ok();
      },
      std::move(done));
}

void InferenceServer::control_loop() {
  std::unique_lock<std::mutex> lock(control_mu_);
  auto next_poll = Clock::now() + options_.poll_interval;
  while (!stop_control_) {
    if (tasks_.empty()) {
      if (options_.control_mode == ModelControlMode::kPoll)
        control_cv_.wait_until(lock, next_poll);
      else
        control_cv_.wait(lock);
    }
    if (stop_control_) break;
    if (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    } else if (options_.control_mode == ModelControlMode::kPoll && Clock::now() >= next_poll) {
      lock.unlock();
      poll();
      lock.lock();
      next_poll = Clock::now() + options_.poll_interval;
    }
  }
}

Result<std::shared_ptr<InferenceServer::ServedVersion>> InferenceServer::load_version(
    const ResolvedModel& model, int64_t version) {
  const auto started = Clock::now();
  ASSIGN_OR_RETURN(const auto plan,
                   instance_plan(model.config, *model.backend, options_.cpu_threads_per_instance));
  std::vector<std::unique_ptr<ModelInstance>> instances;
  for (const auto& o : plan) {
    ASSIGN_OR_RETURN(auto instance,
                     model.backend->create_instance(model.files.at(version), model.config, o));
    instances.push_back(std::move(instance));
  }
  auto served = std::make_shared<ServedVersion>();
  served->version = version;
  served->fingerprint = model.fingerprints.at(version);
  served->config = model.config;
  served->stats = std::make_shared<ModelStats>(static_cast<int>(instances.size()));
  ASSIGN_OR_RETURN(served->batcher, DynamicBatcher::Create(batcher_options(model.config, version,
                                                                           options_.max_queue_size),
                                                           std::move(instances), served->stats));
  served->stats->load_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
  spdlog::info("model={} version={} loaded: backend={} instances={} max_batch_size={} in {} ms",
               model.config.name(), version, model.backend->name(), plan.size(),
               model.config.max_batch_size(), served->stats->load_ms);
  return served;
}

Status InferenceServer::load(const std::string& name) {
  auto resolved = repository_.resolve(name);
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    // A name that is neither known nor in the folder leaves no entry behind.
    if (!resolved.ok() && !models_.count(name)) return resolved.status();
    Model& m = models_[name];
    m.wanted = true;
    if (m.versions.empty()) m.state = "LOADING";
  }
  auto fail = [&](const Status& s) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    Model& m = models_[name];
    // A model that was serving keeps its versions when a reload fails (poll mode).
    m.state = m.versions.empty() ? "UNAVAILABLE" : "READY";
    m.reason = s.message();
    return s;
  };
  if (!resolved.ok()) return fail(resolved.status());

  std::map<int64_t, std::shared_ptr<ServedVersion>> current;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    current = models_[name].versions;
  }
  // New and changed versions load beside the old ones; the swap below is atomic
  // for readers, and only then do replaced versions drain, so no request fails.
  std::map<int64_t, std::shared_ptr<ServedVersion>> next;
  for (const auto& [version, file] : resolved->files) {
    auto it = current.find(version);
    if (it != current.end() && it->second->fingerprint == resolved->fingerprints.at(version)) {
      next[version] = it->second;
      continue;
    }
    auto loaded = load_version(*resolved, version);
    if (!loaded.ok()) return fail(loaded.status().annotate(model_label(name, version)));
    next[version] = std::move(loaded).value();
  }
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    Model& m = models_[name];
    m.versions = next;
    m.state = "READY";
    m.reason.clear();
  }
  for (auto& [version, old] : current)
    if (!next.count(version) || next[version] != old) old->batcher->drain();
  return Status::Ok();
}

void InferenceServer::unload(const std::string& name) {
  std::map<int64_t, std::shared_ptr<ServedVersion>> old;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end()) return;
    old.swap(it->second.versions);
    it->second.wanted = false;
    it->second.state = "UNAVAILABLE";
    it->second.reason = "unloaded";
  }
  for (auto& [version, v] : old) v->batcher->drain();
  spdlog::info("model={} unloaded", name);
}

void InferenceServer::poll() {
  auto names = repository_.model_names();
  if (!names.ok()) {
    spdlog::warn("poll: {}", names.status().message());
    return;
  }
  std::vector<std::string> gone;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    for (const auto& [name, m] : models_)
      if (m.wanted && std::find(names->begin(), names->end(), name) == names->end())
        gone.push_back(name);
  }
  for (const auto& name : gone) unload(name);
  for (const auto& name : *names) {
    const Status s = load(name);  // unchanged versions are kept as they are
    if (!s.ok()) spdlog::warn("poll: {}: {}", model_label(name, 0), s.message());
  }
}

void InferenceServer::drain() {
  draining_ = true;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    stop_control_ = true;
  }
  control_cv_.notify_all();
  if (control_.joinable()) control_.join();
  std::vector<std::shared_ptr<ServedVersion>> all;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    for (const auto& [name, m] : models_)
      for (const auto& [v, served] : m.versions) all.push_back(served);
  }
  for (auto& v : all) v->batcher->drain();
}

Result<std::shared_ptr<InferenceServer::ServedVersion>> InferenceServer::find_version(
    const std::string& name, int64_t version) const {
  auto it = models_.find(name);
  if (it == models_.end())
    return NotFound("Request for unknown model: '" + name.substr(0, 128) + "' is not found");
  const Model& m = it->second;
  if (m.versions.empty())
    return Unavailable("Request for unknown model: '" + name + "' is not ready" +
                       (m.reason.empty() ? "" : " (" + m.reason + ")"));
  if (version == 0) return m.versions.rbegin()->second;
  auto v = m.versions.find(version);
  if (v == m.versions.end())
    return NotFound("Request for unknown model: '" + name + "' version " + std::to_string(version) +
                    " is not found");
  return v->second;
}

Status InferenceServer::validate(const ModelConfig& config, InferRequest* request) const {
  const std::string& model = config.name();
  if (static_cast<int>(request->inputs.size()) != config.input().size())
    return InvalidArgument("expected " + std::to_string(config.input().size()) +
                           " inputs but got " + std::to_string(request->inputs.size()) +
                           " inputs for model '" + model + "'");
  std::vector<InferTensor> ordered(config.input().size());
  std::vector<bool> seen(config.input().size(), false);
  int64_t batch = -1;
  for (auto& tensor : request->inputs) {
    int index = -1;
    for (int i = 0; i < config.input().size(); ++i)
      if (config.input(i).name() == tensor.name) index = i;
    if (index < 0)
      return InvalidArgument("unexpected inference input '" + tensor.name.substr(0, 64) +
                             "' for model '" + model + "'");
    if (seen[index]) return InvalidArgument("input '" + tensor.name + "' is given more than once");
    seen[index] = true;
    const auto& want = config.input(index);
    if (tensor.datatype != to_data_type(want.data_type()))
      return InvalidArgument("inference input '" + tensor.name + "' data-type is '" +
                             v2_name(tensor.datatype) + "', but model '" + model + "' expects '" +
                             v2_name(to_data_type(want.data_type())) + "'");
    const Dims expected = v2_shape(config, want.dims());
    bool shape_ok = tensor.shape.size() == expected.size();
    for (size_t d = 0; shape_ok && d < expected.size(); ++d)
      shape_ok = expected[d] == -1 || expected[d] == tensor.shape[d];
    if (!shape_ok)
      return InvalidArgument("unexpected shape for input '" + tensor.name + "' for model '" +
                             model + "'. Expected " + dims_string(expected) + ", got " +
                             dims_string(tensor.shape));
    if (config.max_batch_size() > 0) {
      if (tensor.shape[0] < 1 || tensor.shape[0] > config.max_batch_size())
        return InvalidArgument(
            "inference request batch-size must be <= " + std::to_string(config.max_batch_size()) +
            " for '" + model + "', got " + std::to_string(tensor.shape[0]));
      if (batch >= 0 && tensor.shape[0] != batch)
        return InvalidArgument("inputs of one request must have the same batch size");
      batch = tensor.shape[0];
    }
    RETURN_IF_ERROR(check_tensor_data(tensor, options_.max_tensor_elements));
    ordered[index] = std::move(tensor);
  }
  request->inputs = std::move(ordered);
  std::set<std::string> outputs;
  for (const auto& o : request->outputs) {
    if (std::none_of(config.output().begin(), config.output().end(),
                     [&](const config::ModelOutput& m) { return m.name() == o.name; }))
      return InvalidArgument("unexpected inference output '" + o.name.substr(0, 64) +
                             "' for model '" + model + "'");
    if (!outputs.insert(o.name).second)
      return InvalidArgument("output '" + o.name + "' is requested more than once");
  }
  return Status::Ok();
}

void InferenceServer::infer(std::shared_ptr<InferRequest> request, InferCallback done) {
  if (draining_) return done(Unavailable("Server is shutting down"));
  // The shared lock is held through enqueue so that a version being replaced is
  // either found and fed before the swap, or not found: never fed after its drain.
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto served = find_version(request->model, request->version);
  if (!served.ok()) {
    lock.unlock();
    return done(served.status());
  }
  const Status valid = validate((*served)->config, request.get());
  if (!valid.ok()) {
    auto& stats = *(*served)->stats;
    stats.fail.add(0);
    stats.failures[static_cast<int>(FailureReason::kOther)].fetch_add(1);
    lock.unlock();
    return done(valid);
  }
  (*served)->batcher->enqueue(std::move(request), std::move(done));
}

Result<ModelMetadata> InferenceServer::model_metadata(const std::string& name,
                                                      int64_t version) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto served, find_version(name, version));
  const ModelConfig& c = served->config;
  ModelMetadata md;
  md.name = name;
  for (const auto& [v, s] : models_.at(name).versions) md.versions.push_back(v);
  md.platform = c.backend() == "pytorch" ? "pytorch_libtorch" : c.backend();
  for (const auto& i : c.input())
    md.inputs.push_back({i.name(), to_data_type(i.data_type()), v2_shape(c, i.dims())});
  for (const auto& o : c.output())
    md.outputs.push_back({o.name(), to_data_type(o.data_type()), v2_shape(c, o.dims())});
  return md;
}

Result<bool> InferenceServer::model_ready(const std::string& name, int64_t version) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto served = find_version(name, version);
  if (served.ok()) return !draining_;
  if (served.status().code() == StatusCode::kUnavailable) return false;
  return served.status();
}

Result<ModelConfig> InferenceServer::model_config(const std::string& name, int64_t version) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto served, find_version(name, version));
  return served->config;
}

std::vector<ModelIndexEntry> InferenceServer::repository_index(bool ready_only) const {
  std::vector<ModelIndexEntry> out;
  std::set<std::string> listed;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    for (const auto& [name, m] : models_) {
      listed.insert(name);
      if (m.versions.empty()) {
        if (!ready_only) out.push_back({name, 0, m.state, m.reason});
        continue;
      }
      for (const auto& [v, s] : m.versions) out.push_back({name, v, "READY", ""});
    }
  }
  // Models added to the folder since start-up are listed too, so they can be loaded.
  if (!ready_only)
    if (auto names = repository_.model_names(); names.ok())
      for (const auto& name : *names)
        if (!listed.count(name)) out.push_back({name, 0, "UNAVAILABLE", ""});
  return out;
}

Result<std::vector<VersionStats>> InferenceServer::statistics(const std::string& name,
                                                              int64_t version) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<VersionStats> out;
  if (!name.empty()) {
    ASSIGN_OR_RETURN(auto served, find_version(name, version));
    if (version > 0) return std::vector<VersionStats>{{name, version, served->stats}};
  }
  for (const auto& [n, m] : models_) {
    if (!name.empty() && n != name) continue;
    for (const auto& [v, s] : m.versions) out.push_back({n, v, s->stats});
  }
  return out;
}

}  // namespace cadre::serving
