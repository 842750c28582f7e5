#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "protocol/spec/inference_service_spec.h"
#include "protocol/spec/manifest.h"
#include "tests/support/examples.h"

namespace cadre::spec::inference_service_spec_test {
namespace {

const char* kService = R"(apiVersion: cadre/v1
kind: InferenceService
metadata:
  name: fmnist
spec:
  predictor:
    model:
      modelFormat: {name: cadre}
      storageUri: trainjob://fmnist-cnn
    minReplicas: 2
    maxReplicas: 4
    scaleTarget: 8
    containerConcurrency: 16
    timeout: 5
    batching: {maxBatchSize: 32, preferredBatchSize: [8, 16], maxQueueDelayMicroseconds: 500}
    resources: {cpu: 1, memory: 512Mi}
    canaryTrafficPercent: 20
)";

std::string with(const std::string& from, const std::string& to) {
  std::string text = kService;
  const auto at = text.find(from);
  if (at == std::string::npos) ADD_FAILURE() << "no '" << from << "' in the manifest";
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

std::string error_of(const std::string& text) {
  auto parsed = parse_inference_service(text);
  return parsed.ok() ? "(parsed)" : parsed.status().message();
}

TEST(InferenceServiceSpec, ParsesEveryPredictorField) {
  auto s = parse_inference_service(kService);
  ASSERT_TRUE(s.ok()) << s.status().message();
  const auto& p = s->predictor;
  EXPECT_EQ(p.model_format, ModelFormat::kCadre);
  EXPECT_EQ(p.storage.scheme, StorageUri::Scheme::kTrainJob);
  EXPECT_EQ(p.storage.path, "fmnist-cnn");
  EXPECT_EQ(p.min_replicas, 2);
  EXPECT_EQ(p.max_replicas, 4);
  EXPECT_EQ(p.scale_metric, ScaleMetric::kConcurrency);
  EXPECT_DOUBLE_EQ(p.scale_target, 8);
  EXPECT_EQ(p.container_concurrency, 16);
  EXPECT_EQ(p.timeout_seconds, 5);
  EXPECT_EQ(*p.batching.max_batch_size, 32);
  EXPECT_EQ(p.batching.preferred_batch_size, (std::vector<int32_t>{8, 16}));
  EXPECT_EQ(*p.batching.max_queue_delay_microseconds, 500);
  EXPECT_EQ(p.resources.cpu_millis, 1000);
  EXPECT_EQ(p.resources.memory_bytes, 512ll << 20);
  EXPECT_TRUE(p.auth);
  EXPECT_EQ(*s->canary_traffic_percent, 20);
}

TEST(InferenceServiceSpec, DefaultsAreKServesWhereKServeHasThem) {
  auto s = parse_inference_service(R"(apiVersion: cadre/v1
kind: InferenceService
metadata: {name: m}
spec:
  predictor:
    model: {modelFormat: {name: pytorch}, storageUri: "file:///models/resnet"}
)");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->predictor.min_replicas, 1);
  EXPECT_EQ(s->predictor.max_replicas, 1);
  EXPECT_DOUBLE_EQ(s->predictor.scale_target, 100);
  EXPECT_EQ(s->predictor.container_concurrency, 0);
  EXPECT_EQ(s->predictor.timeout_seconds, 60);
  EXPECT_FALSE(s->canary_traffic_percent.has_value());
  EXPECT_EQ(s->predictor.storage.path, "/models/resnet");
}

TEST(InferenceServiceSpec, OnlyAPredictorChangeMakesANewRevisionKey) {
  auto base = parse_inference_service(kService);
  auto canary =
      parse_inference_service(with("canaryTrafficPercent: 20", "canaryTrafficPercent: 50"));
  auto model = parse_inference_service(with("trainjob://fmnist-cnn", "trainjob://fmnist-mlp"));
  ASSERT_TRUE(base.ok() && canary.ok() && model.ok());
  EXPECT_EQ(base->revision_key, canary->revision_key);
  EXPECT_NE(base->revision_key, model->revision_key);
}

TEST(InferenceServiceSpec, RefusesBadPredictorsWithTheFieldPath) {
  EXPECT_EQ(error_of(with("minReplicas: 2", "minReplicas: -1")),
            "spec.predictor.minReplicas: must be >= 0");
  EXPECT_EQ(error_of(with("minReplicas: 2", "minReplicas: 5")),
            "spec.predictor.minReplicas: 5 is above maxReplicas 4");
  EXPECT_EQ(error_of(with("{name: cadre}", "{name: onnx}")),
            "spec.predictor.model.modelFormat.name: 'onnx' is not supported (cadre or pytorch)");
  EXPECT_EQ(error_of(with("trainjob://fmnist-cnn", "s3://bucket/model"))
                .rfind("spec.predictor.model.storageUri: scheme 's3' is not supported", 0),
            0u);
  EXPECT_EQ(error_of(with("trainjob://fmnist-cnn", "file://models/x")),
            "spec.predictor.model.storageUri: 'file://models/x' must name an absolute path "
            "(file:///models/fmnist)");
  EXPECT_EQ(error_of(with("trainjob://fmnist-cnn", "trainjob://Bad_Name")),
            "spec.predictor.model.storageUri: 'trainjob://Bad_Name': 'Bad_Name' is not a job "
            "name (a DNS label)");
  EXPECT_EQ(error_of(with("canaryTrafficPercent: 20", "canaryTrafficPercent: 120")),
            "spec.predictor.canaryTrafficPercent: must be <= 100");
  EXPECT_EQ(error_of(with("scaleTarget: 8", "scaleTarget: -1")),
            "spec.predictor.scaleTarget: '-1' is not a number in (0, 1e6]");
  EXPECT_EQ(error_of(with("preferredBatchSize: [8, 16]", "preferredBatchSize: [8, 64]")),
            "spec.predictor.batching.preferredBatchSize[1]: 64 is above maxBatchSize 32");
  EXPECT_EQ(error_of(with("timeout: 5", "timeot: 5")), "spec.predictor.timeot: unknown field");
  EXPECT_EQ(error_of(with("{name: cadre}", "{name: pytorch}")),
            "spec.predictor.batching: applies to cadre models; a pytorch model folder declares "
            "its batching in its config.pbtxt");
  EXPECT_EQ(error_of(with("name: fmnist", "name: " + std::string(41, 'a'))),
            "metadata.name: at most 40 characters for an InferenceService (its replicas' jobs "
            "are named <name>-<revision>-<k>)");
}

TEST(InferenceServiceSpec, AuthNoneOptsOutExplicitly) {
  auto s = parse_inference_service(with("timeout: 5", "timeout: 5\n    auth: none"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(s->predictor.auth);
  EXPECT_EQ(error_of(with("timeout: 5", "timeout: 5\n    auth: off")),
            "spec.predictor.auth: 'off' is not token or none");
}

using cadre::testing::read_example;

TEST(InferenceServiceSpec, TheServingExamplesAreAServiceAndItsCanary) {
  auto service = parse_inference_service(read_example("serve-fmnist.yaml"));
  auto canary = parse_inference_service(read_example("serve-fmnist-canary.yaml"));
  ASSERT_TRUE(service.ok()) << service.status().message();
  ASSERT_TRUE(canary.ok()) << canary.status().message();
  EXPECT_EQ(service->predictor.storage.path, "fmnist-cnn");
  EXPECT_EQ(canary->predictor.storage.path, "fmnist-mlp");
  EXPECT_EQ(service->metadata.name, canary->metadata.name);
  EXPECT_EQ(*canary->canary_traffic_percent, 20);
  EXPECT_NE(service->revision_key, canary->revision_key);
}

}  // namespace
}  // namespace cadre::spec::inference_service_spec_test
