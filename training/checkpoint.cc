#include "training/checkpoint.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace cadre::training {
namespace {

namespace fs = std::filesystem;

// Checkpoint files in dir, newest (highest epoch) first.
std::vector<fs::path> checkpoints_in(const std::string& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() == 17 && name.rfind("ckpt-", 0) == 0 && name.substr(11) == ".cadre")
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end(), std::greater<>());
  return out;
}

Result<CheckpointState> read_checkpoint(const fs::path& path) {
  ASSIGN_OR_RETURN(auto file, read_tensor_file(path.string(), kCheckpointMagic));
  CheckpointState s;
  try {
    const auto& h = file.header;
    s.model = h.at("model").get<std::string>();
    s.epochs_completed = h.at("epochs_completed").get<int>();
    s.global_step = h.at("global_step").get<int64_t>();
    s.seed = h.at("seed").get<uint64_t>();
    s.rng_state = h.at("rng_state").get<std::string>();
    s.optimizer = h.at("optimizer").get<std::string>();
    s.optimizer_steps = h.at("optimizer_steps").get<int64_t>();
  } catch (const std::exception& e) {
    return DataLoss("checkpoint " + path.string() + ": " + e.what());
  }
  for (auto& t : file.tensors) {
    if (t.name == "parameters")
      s.parameters = std::move(t.values);
    else if (t.name.rfind("optimizer.", 0) == 0)
      s.optimizer_state.push_back({t.name.substr(10), t.shape, std::move(t.values)});
  }
  return s;
}

}  // namespace

Status save_checkpoint(const std::string& dir, const CheckpointState& state, int keep) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("checkpoint dir " + dir + ": " + ec.message());
  TensorFile file;
  file.header = {{"format", "cadre-checkpoint"},
                 {"model", state.model},
                 {"epochs_completed", state.epochs_completed},
                 {"global_step", state.global_step},
                 {"seed", state.seed},
                 {"rng_state", state.rng_state},
                 {"optimizer", state.optimizer},
                 {"optimizer_steps", state.optimizer_steps}};
  file.tensors.push_back(
      {"parameters", {static_cast<int>(state.parameters.size())}, state.parameters});
  for (const auto& t : state.optimizer_state)
    file.tensors.push_back({"optimizer." + t.name, t.shape, t.values});
  char name[32];
  std::snprintf(name, sizeof(name), "ckpt-%06d.cadre", state.epochs_completed);
  RETURN_IF_ERROR(write_tensor_file((fs::path(dir) / name).string(), kCheckpointMagic, file)
                      .annotate("saving checkpoint"));
  auto all = checkpoints_in(dir);
  for (size_t i = static_cast<size_t>(std::max(keep, 1)); i < all.size(); ++i)
    fs::remove(all[i], ec);
  return Status::Ok();
}

Result<CheckpointState> load_checkpoint(const std::string& dir, int epochs_completed) {
  char name[32];
  std::snprintf(name, sizeof(name), "ckpt-%06d.cadre", epochs_completed);
  const fs::path path = fs::path(dir) / name;
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound("checkpoint " + path.string() + " does not exist");
  return read_checkpoint(path);
}

Result<std::optional<CheckpointState>> load_latest_checkpoint(const std::string& dir) {
  for (const auto& path : checkpoints_in(dir)) {
    auto state = read_checkpoint(path);
    if (!state.ok()) {
      spdlog::warn("skipping unreadable checkpoint: {}", state.status().to_string());
      continue;
    }
    return std::optional<CheckpointState>(std::move(state).value());
  }
  return std::optional<CheckpointState>();
}

}  // namespace cadre::training
