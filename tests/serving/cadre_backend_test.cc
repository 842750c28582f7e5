// The cadre backend runs the training engine's own forward pass on the training
// engine's own input arithmetic: given the raw pixels a client sends, its logits
// equal, bit for bit, what cadre-train computes on the same batch.
#include "serving/backends/cadre/cadre_backend.h"

#include <gtest/gtest.h>

#include <cstring>

#include "kernels/backend.h"
#include "tests/support/temp_dir.h"
#include "training/data/dataset.h"
#include "training/data/idx_reader.h"
#include "training/model_export.h"

namespace cadre::serving {
namespace {

class CadreBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // A folder of its own: the tests of one model run as processes at once (ctest -j).
    dir_ = std::make_unique<cadre::testing::TempDir>("cadre-backend-" + GetParam());
    file_ = dir_->file("model.cadre");
    kernels_ = kernels::create_backend(kernels::BackendOptions{}).value();
    auto def = training::model_definition(GetParam()).value();
    model_ = training::Model::Create(kernels_.get(), def).value();
    ASSERT_TRUE(model_->initialize(7).ok());
    training::ExportedModelInfo info;
    info.labels = training::fashion_mnist_labels();
    ASSERT_TRUE(training::export_model(file_, *model_, info).ok());
  }
  std::unique_ptr<cadre::testing::TempDir> dir_;
  std::string file_;
  std::unique_ptr<kernels::Backend> kernels_;
  std::unique_ptr<training::Model> model_;
};

TEST_P(CadreBackendTest, LogitsEqualTheTrainingEnginesBitForBitOnTheSameBatch) {
  const std::string data_dir = CADRE_FASHION_MNIST_DIR;
  auto test = training::load_fashion_mnist(data_dir, training::Split::kTest, {});
  ASSERT_TRUE(test.ok()) << test.status().message();
  auto raw = training::read_idx(data_dir + "/t10k-images-idx3-ubyte.gz");
  ASSERT_TRUE(raw.ok());

  ModelConfig config;
  apply_config_defaults("m", &config);
  const CadreBackend backend;
  ASSERT_TRUE(backend.autocomplete(file_, &config).ok());
  config.clear_output();
  auto* logits = config.add_output();
  logits->set_name("logits");
  logits->set_data_type(config::TYPE_FP32);
  logits->add_dims(10);
  auto instance = backend.create_instance(file_, config, InstanceOptions{}).value();

  const int batch = 64;
  const size_t sample = 28 * 28;
  for (int b = 0; b < 512; b += batch) {
    // The engine: normalised by the data loader, forward in evaluation mode.
    auto x = training::Tensor::Create(kernels_.get(), {batch, 1, 28, 28}).value();
    ASSERT_TRUE(x.copy_from_host(test->images.data() + b * sample, batch * sample).ok());
    ASSERT_TRUE(model_->forward(x, training::Pass{false, 0}).ok());
    auto expected = model_->output().to_host().value();
    // The server: raw pixel values as a client sends them.
    InferTensor in{"input", DataType::kFp32, {batch, 1, 28, 28}, {}};
    for (size_t i = 0; i < batch * sample; ++i) {
      const float pixel = static_cast<float>(raw->values[b * sample + i]);
      in.data.append(reinterpret_cast<const char*>(&pixel), 4);
    }
    auto out = instance->execute({in});
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ((*out)[0].data.size(), expected.size() * 4);
    EXPECT_EQ(std::memcmp((*out)[0].data.data(), expected.data(), expected.size() * 4), 0)
        << "batch at " << b;
  }
}

TEST_P(CadreBackendTest, AutocompleteDeclaresTheSignatureAndRefusesAConfigThatDisagrees) {
  ModelConfig config;
  config.set_backend("cadre");
  apply_config_defaults("m", &config);
  const CadreBackend backend;
  ASSERT_TRUE(backend.autocomplete(file_, &config).ok());
  EXPECT_EQ(config.max_batch_size(), 64);
  EXPECT_TRUE(config.has_dynamic_batching());
  EXPECT_EQ(config.input(0).dims_size(), 3);
  EXPECT_EQ(config.output_size(), 3);
  EXPECT_TRUE(validate_model_config(config).ok());

  ModelConfig wrong;
  apply_config_defaults("m", &wrong);
  auto* in = wrong.add_input();
  in->set_name("input");
  in->set_data_type(config::TYPE_FP32);
  in->add_dims(784);
  const Status s = backend.autocomplete(file_, &wrong);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("input[0].dims: the model takes [1,28,28]"), std::string::npos)
      << s.message();
}

INSTANTIATE_TEST_SUITE_P(Models, CadreBackendTest, ::testing::Values("mlp", "cnn"));

}  // namespace
}  // namespace cadre::serving
