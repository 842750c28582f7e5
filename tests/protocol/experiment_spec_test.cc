#include "protocol/spec/experiment_spec.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

namespace cadre::spec::experiment_spec_test {
namespace {

// Katib's random-search example (examples/v1beta1/hp-tuning/random.yaml),
// translated only in apiVersion and from a container to a command.
constexpr char kKatibRandom[] = R"(
apiVersion: cadre/v1
kind: Experiment
metadata:
  name: random
spec:
  objective:
    type: maximize
    goal: 0.99
    objectiveMetricName: Validation-accuracy
    additionalMetricNames:
      - Train-accuracy
  algorithm:
    algorithmName: random
  parallelTrialCount: 3
  maxTrialCount: 12
  maxFailedTrialCount: 3
  parameters:
    - name: lr
      parameterType: double
      feasibleSpace:
        min: "0.01"
        max: "0.03"
    - name: num-layers
      parameterType: int
      feasibleSpace:
        min: "2"
        max: "5"
    - name: optimizer
      parameterType: categorical
      feasibleSpace:
        list:
          - sgd
          - adam
          - ftrl
  trialTemplate:
    trialParameters:
      - name: learningRate
        description: Learning rate for the training model
        reference: lr
      - name: numberLayers
        description: Number of training model layers
        reference: num-layers
      - name: optimizer
        description: Training model optimizer (sdg, adam or ftrl)
        reference: optimizer
    trialSpec:
      apiVersion: cadre/v1
      kind: Job
      spec:
        template:
          command: [python3, /opt/mxnet-mnist/mnist.py]
          args:
            - "--batch-size=64"
            - "--lr=${trialParameters.learningRate}"
            - "--num-layers=${trialParameters.numberLayers}"
            - "--optimizer=${trialParameters.optimizer}"
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(ExperimentSpec, ParsesKatibsRandomExample) {
  auto e = parse_experiment(kKatibRandom);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->objective.type, tuning::Goal::kMaximize);
  EXPECT_EQ(*e->objective.goal, 0.99);
  EXPECT_EQ(e->objective.metric_strategies.at("Train-accuracy"), MetricStrategy::kMax);
  ASSERT_EQ(e->parameters.parameters.size(), 3u);
  EXPECT_EQ(e->parameters.parameters[1].type, tuning::ParameterType::kInt);
  EXPECT_EQ(e->parallel_trial_count, 3);
  EXPECT_EQ(*e->max_trial_count, 12);
  EXPECT_EQ(e->trial_template.trial_kind, "Job");
  EXPECT_EQ(e->metrics_collector.metrics_format.front(), kDefaultMetricsFormat);
}

TEST(ExperimentSpec, RendersATrialWithItsValuesNameAndLabel) {
  auto e = parse_experiment(kKatibRandom).value();
  auto trial = render_trial(e, "random-abcd1234", {0.0125, 3, 1});
  ASSERT_TRUE(trial.ok()) << trial.status().message();
  const auto& job = *trial->manifest.job;
  EXPECT_EQ(job.metadata.name, "random-abcd1234");
  EXPECT_EQ(job.metadata.labels.at("experiment"), "random");
  EXPECT_EQ(job.replica.args, (std::vector<std::string>{"--batch-size=64", "--lr=0.0125",
                                                        "--num-layers=3", "--optimizer=adam"}));
}

TEST(ExperimentSpec, RefusesBadSpecsWithTheFieldPath) {
  const std::string k = kKatibRandom;
  struct Case {
    std::string text, says;
  } cases[] = {
      {with(k, "min: \"0.01\"", "min: \"0.05\""),
       "spec.parameters[0].feasibleSpace.min: must be < max"},
      {with(k, "        list:\n          - sgd\n          - adam\n          - ftrl",
            "        list: []"),
       "spec.parameters[2].feasibleSpace.list: must not be empty"},
      {with(k, "algorithmName: random", "algorithmName: bayesianoptimization"),
       "spec.algorithm.algorithmName: 'bayesianoptimization'"},
      {with(k, "algorithmName: random",
            "algorithmName: random\n    algorithmSettings:\n      - name: seed\n        value: "
            "\"1\""),
       "spec.algorithm.algorithmSettings.seed: not a setting"},
      {with(k, "algorithmName: random", "algorithmName: hyperband"),
       "spec.algorithm.algorithmSettings.resource_name: required"},
      {with(k, "${trialParameters.optimizer}", "${trialParameters.optimiser}"),
       "${trialParameters.optimiser} is not declared"},
      {with(k, "\"--optimizer=${trialParameters.optimizer}\"", "\"--optimizer=adam\""),
       "spec.trialTemplate.trialParameters[2].name: 'optimizer' is never used"},
      {with(k, "reference: lr", "reference: learning-rate"),
       "spec.trialTemplate.trialParameters[0].reference: 'learning-rate' is not a parameter"},
      {with(k, "    goal: 0.99",
            "    goal: 0.99\n    metricStrategies:\n      - name: loss\n"
            "        value: min"),
       "spec.objective.metricStrategies[0].name: must name the objective"},
      {with(k, "  parallelTrialCount: 3",
            "  parallelTrialCount: 3\n  metricsCollectorSpec:\n    source:\n      filter:\n"
            "        metricsFormat: [\"([a-z]+\"]"),
       "spec.metricsCollectorSpec.source.filter.metricsFormat[0]: not a regular expression"},
      {with(k, "  parallelTrialCount: 3", "  parallelTrialCount: 3\n  parallelism: 2"),
       "spec.parallelism: unknown field"},
      {with(k, "      kind: Job", "      kind: Deployment"),
       "spec.trialTemplate.trialSpec.kind: must be Job or TrainJob"},
      {with(k, "          command: [python3, /opt/mxnet-mnist/mnist.py]\n", ""),
       "renders to an invalid Job: spec.template.command: required"},
      {with(k, "type: maximize", "type: maximise"), "spec.objective.type: 'maximise'"},
      {with(k, "      spec:\n        template:",
            "      spec:\n        suspend: true\n        template:"),
       "spec.trialTemplate.trialSpec.spec.suspend: a trial cannot start suspended"},
  };
  for (const auto& c : cases) {
    auto e = parse_experiment(c.text);
    ASSERT_FALSE(e.ok()) << c.says;
    EXPECT_NE(e.status().message().find(c.says), std::string::npos) << e.status().message();
  }
}

TEST(ExperimentSpec, AcceptsAshaOverEpochsWithMedianStopping) {
  std::string k = with(kKatibRandom, "algorithmName: random", R"(algorithmName: asha
    algorithmSettings:
      - name: resource_name
        value: epochs
      - name: reduction_factor
        value: "3"
  earlyStopping:
    algorithmName: medianstop
    algorithmSettings:
      - name: min_trials_required
        value: "2")");
  k = with(k, "    - name: optimizer\n      parameterType: categorical", R"(    - name: epochs
      parameterType: int
      feasibleSpace:
        min: "1"
        max: "9"
    - name: optimizer
      parameterType: categorical)");
  k = with(k, "      - name: optimizer\n        description", R"(      - name: epochs
        reference: epochs
      - name: optimizer
        description)");
  k = with(k, "\"--batch-size=64\"", "\"--epochs=${trialParameters.epochs}\"");
  auto e = parse_experiment(k);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->algorithm.name, "asha");
  ASSERT_TRUE(e->early_stopping.has_value());
  EXPECT_EQ(e->early_stopping->settings.at("min_trials_required"), "2");
}

}  // namespace
}  // namespace cadre::spec::experiment_spec_test

namespace cadre::spec::experiment_spec_test {
namespace {

// Katib's own examples, translated only in apiVersion and from a pod to a command
// (examples/katib/README.md), are accepted as they are.
class KatibExample : public ::testing::TestWithParam<const char*> {};

TEST_P(KatibExample, IsAcceptedAsAnExperiment) {
  const std::string path = std::string(CADRE_SOURCE_DIR) + "/examples/katib/" + GetParam();
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto manifest = parse_manifest(text);
  ASSERT_TRUE(manifest.ok()) << GetParam() << ": " << manifest.status().to_string();
  ASSERT_TRUE(manifest->experiment);
  EXPECT_EQ(manifest->experiment->objective.objective_metric_name, "Validation-accuracy");
  auto trial = render_trial(*manifest->experiment, "katib-1",
                            tuning::Assignment(manifest->experiment->parameters.parameters.size()));
  ASSERT_TRUE(trial.ok()) << trial.status().to_string();
  EXPECT_NE(trial->yaml.find("/opt/mxnet-mnist/mnist.py"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Translated, KatibExample,
                         ::testing::Values("random.yaml", "grid.yaml", "tpe.yaml", "hyperband.yaml",
                                           "median-stop.yaml"));

}  // namespace
}  // namespace cadre::spec::experiment_spec_test
