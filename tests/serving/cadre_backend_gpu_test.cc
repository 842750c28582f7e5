// On a machine with a GPU (label `gpu`): KIND_GPU instances of the cadre backend
// give the CPU's predictions within 1e-5 relative, and their batched throughput
// is printed next to the CPU's for bench/RESULTS.md.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

#include "kernels/backend.h"
#include "serving/backends/cadre/cadre_backend.h"
#include "tests/support/temp_dir.h"
#include "training/model_export.h"

namespace cadre::serving {
namespace {

class CadreBackendGpuTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!kernels::cuda_available()) GTEST_SKIP() << "no CUDA device visible";
    // A folder of its own: the tests of one model run as processes at once (ctest -j).
    dir_ = std::make_unique<cadre::testing::TempDir>("cadre-backend-gpu-" + GetParam());
    file_ = dir_->file("model.cadre");
    auto cpu = kernels::create_backend(kernels::BackendOptions{}).value();
    auto model =
        training::Model::Create(cpu.get(), training::model_definition(GetParam()).value()).value();
    ASSERT_TRUE(model->initialize(11).ok());
    training::ExportedModelInfo info;
    info.labels = training::fashion_mnist_labels();
    ASSERT_TRUE(training::export_model(file_, *model, info).ok());
    config_.set_backend("cadre");
    apply_config_defaults("m", &config_);
    ASSERT_TRUE(backend_.autocomplete(file_, &config_).ok());
    config_.clear_output();
    auto* logits = config_.add_output();
    logits->set_name("logits");
    logits->set_data_type(config::TYPE_FP32);
    logits->add_dims(10);
  }

  InferTensor batch(int n) {
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> pixel(0, 255);
    InferTensor t{"input", DataType::kFp32, {n, 1, 28, 28}, {}};
    for (int i = 0; i < n * 784; ++i) {
      const float v = static_cast<float>(pixel(rng));
      t.data.append(reinterpret_cast<const char*>(&v), 4);
    }
    return t;
  }

  double images_per_second(ModelInstance& instance, const InferTensor& in) {
    (void)instance.execute({in});
    const auto start = std::chrono::steady_clock::now();
    int rows = 0;
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
      EXPECT_TRUE(instance.execute({in}).ok());
      rows += static_cast<int>(in.shape[0]);
    }
    return rows / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  std::unique_ptr<cadre::testing::TempDir> dir_;
  std::string file_;
  ModelConfig config_;
  const CadreBackend backend_;
};

TEST_P(CadreBackendGpuTest, GpuInstancesPredictWhatCpuInstancesPredictWithin1e5) {
  InstanceOptions gpu;
  gpu.device = kernels::Device::kCuda;
  auto on_cpu = backend_.create_instance(file_, config_, InstanceOptions{}).value();
  auto on_gpu = backend_.create_instance(file_, config_, gpu).value();
  const InferTensor in = batch(64);
  auto a = on_cpu->execute({in}).value()[0];
  auto b = on_gpu->execute({in}).value()[0];
  ASSERT_EQ(a.data.size(), b.data.size());
  const auto* x = reinterpret_cast<const float*>(a.data.data());
  const auto* y = reinterpret_cast<const float*>(b.data.data());
  for (size_t i = 0; i < a.data.size() / 4; ++i)
    EXPECT_NEAR(y[i], x[i], 1e-5 * std::max(1.0f, std::fabs(x[i]))) << "element " << i;
  const double cpu_rate = images_per_second(*on_cpu, in);
  const double gpu_rate = images_per_second(*on_gpu, in);
  std::printf(
      "{\"model\":\"%s\",\"batch\":64,\"cpu_images_per_s\":%.0f,\"gpu_images_per_s\":%.0f}\n",
      GetParam().c_str(), cpu_rate, gpu_rate);
}

INSTANTIATE_TEST_SUITE_P(Models, CadreBackendGpuTest, ::testing::Values("mlp", "cnn"));

}  // namespace
}  // namespace cadre::serving
