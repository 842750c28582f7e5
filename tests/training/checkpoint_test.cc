#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "training/checkpoint.h"
#include "training/checkpoint_fence.h"
#include "training/model_export.h"

namespace cadre::training {
namespace {

namespace fs = std::filesystem;

class Files : public ::testing::Test {
 protected:
  static CheckpointState state(int epoch) {
    CheckpointState s;
    s.model = "mlp";
    s.epochs_completed = epoch;
    s.global_step = 100 * epoch;
    s.seed = 7;
    s.rng_state = "1 2 3";
    s.optimizer = "adam";
    s.optimizer_steps = 100 * epoch;
    s.parameters = {1.0f * epoch, 2, 3};
    s.optimizer_state = {{"m", {3}, {0.1f, 0.2f, 0.3f}}, {"v", {3}, {1, 2, 3}}};
    return s;
  }
  static void flip_byte(const fs::path& p, std::streamoff at) {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(at);
    char c;
    f.get(c);
    f.seekp(at);
    f.put(static_cast<char>(c ^ 0x5a));
  }

  cadre::testing::TempDir scratch_{"cadre-ckpt"};
  const fs::path dir_ = scratch_.path();
};

TEST_F(Files, CheckpointRoundTripsEveryFieldAndKeepsTheNewestTwo) {
  for (int e = 1; e <= 3; ++e) ASSERT_OK(save_checkpoint(dir_.string(), state(e)));
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos);
  }
  EXPECT_EQ(files, 2u);
  auto loaded = load_latest_checkpoint(dir_.string());
  ASSERT_OK(loaded);
  ASSERT_TRUE(loaded->has_value());
  const CheckpointState& s = **loaded;
  EXPECT_EQ(s.epochs_completed, 3);
  EXPECT_EQ(s.global_step, 300);
  EXPECT_EQ(s.rng_state, "1 2 3");
  EXPECT_EQ(s.parameters, (std::vector<float>{3, 2, 3}));
  ASSERT_EQ(s.optimizer_state.size(), 2u);
  EXPECT_EQ(s.optimizer_state[1].name, "v");
  EXPECT_EQ(s.optimizer_state[1].values, (std::vector<float>{1, 2, 3}));
}

TEST_F(Files, CorruptNewestCheckpointFallsBackToThePreviousOne) {
  ASSERT_OK(save_checkpoint(dir_.string(), state(1)));
  ASSERT_OK(save_checkpoint(dir_.string(), state(2)));
  flip_byte(dir_ / "ckpt-000002.cadre", 200);
  auto loaded = load_latest_checkpoint(dir_.string());
  ASSERT_OK(loaded);
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->epochs_completed, 1);
}

TEST_F(Files, EmptyOrMissingDirectoryMeansAFreshStart) {
  auto loaded = load_latest_checkpoint((dir_ / "nothing-here").string());
  ASSERT_OK(loaded);
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(Files, AReplacedIncarnationCanNeitherClaimNorWriteItsCheckpointFolder) {
  const std::string dir = (dir_ / "job").string();
  auto zombie = CheckpointFence::Claim(dir, 3);
  ASSERT_OK(zombie);
  ASSERT_OK(zombie->guarded([&] { return save_checkpoint(dir, state(1)); }));
  // The replacement (a higher generation) claims the folder...
  auto successor = CheckpointFence::Claim(dir, 5);
  ASSERT_OK(successor);
  // ...and from then on the old incarnation writes nothing, and says why.
  bool wrote = false;
  const Status refused = zombie->guarded([&] {
    wrote = true;
    return save_checkpoint(dir, state(9));
  });
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("generation 5"), std::string::npos) << refused.message();
  EXPECT_FALSE(wrote);
  EXPECT_FALSE(CheckpointFence::Claim(dir, 4).ok()) << "an older generation cannot claim back";
  ASSERT_OK(successor->guarded([&] { return save_checkpoint(dir, state(2)); }));
  auto latest = load_latest_checkpoint(dir);
  ASSERT_OK(latest);
  EXPECT_EQ((*latest)->epochs_completed, 2);
  // Generation 0 (outside Cadre) is not fenced.
  auto unfenced = CheckpointFence::Claim(dir, 0);
  ASSERT_OK(unfenced);
  EXPECT_OK(unfenced->guarded([] { return Status::Ok(); }));
}

TEST_F(Files, ExportedModelReloadsWithTheSameOutputs) {
  auto be = std::move(kernels::create_backend({kernels::Device::kCpu, 1, 0})).value();
  auto model = std::move(Model::Create(be.get(), *model_definition("cnn"))).value();
  ASSERT_OK(model->initialize(99));
  const std::string path = (dir_ / "model.cadre").string();
  ASSERT_OK(export_model(path, *model, {Normalization{}, fashion_mnist_labels()}));
  auto loaded = load_exported_model(path, be.get());
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->info.labels.size(), 10u);
  EXPECT_FLOAT_EQ(loaded->info.normalization.mean, 0.2860f);
  std::vector<float> x_host(3 * 784);
  for (size_t i = 0; i < x_host.size(); ++i) x_host[i] = static_cast<float>(i % 17) / 17.0f;
  auto x = std::move(Tensor::Create(be.get(), {3, 1, 28, 28})).value();
  ASSERT_OK(x.copy_from_host(x_host.data(), x_host.size()));
  ASSERT_OK(model->forward(x, Pass{}));
  ASSERT_OK(loaded->model->forward(x, Pass{}));
  EXPECT_EQ(*model->output().to_host(), *loaded->model->output().to_host());
}

TEST_F(Files, TruncatedOrTamperedModelFilesAreDataLossNamingTheFile) {
  auto be = std::move(kernels::create_backend({kernels::Device::kCpu, 1, 0})).value();
  auto model = std::move(Model::Create(be.get(), *model_definition("mlp"))).value();
  const std::string path = (dir_ / "m.cadre").string();
  ASSERT_OK(export_model(path, *model, {}));
  fs::resize_file(path, fs::file_size(path) - 10);
  auto truncated = load_exported_model(path, be.get());
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(truncated.status().message().find("m.cadre"), std::string::npos);
  ASSERT_OK(export_model(path, *model, {}));
  flip_byte(path, 40);  // inside the JSON header
  EXPECT_EQ(load_exported_model(path, be.get()).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(load_exported_model((dir_ / "none").string(), be.get()).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace cadre::training
