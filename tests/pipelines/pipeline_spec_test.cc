#include "protocol/spec/pipeline_spec.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "protocol/spec/manifest.h"
#include "tests/pipelines/kfp_specs.h"

namespace cadre::spec {
namespace {

using cadre::testing::read_example;
using cadre::testing::read_kfp_spec;

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The error a manifest gets, or "" when it parses.
std::string error_of(const std::string& text) {
  auto m = parse_manifest(text);
  return m.ok() ? "" : m.status().message();
}

TEST(PipelineSpec, ParsesEveryCompiledSpecAsAPipelineNamedByPipelineInfo) {
  for (const char* file :
       {"two_step.yaml", "flip_coin.yaml", "parallel_for.yaml", "exit_handler.yaml", "retry.yaml",
        "sleep_steps.yaml", "tune_step.yaml"}) {
    auto m = parse_manifest(read_kfp_spec(file));
    ASSERT_TRUE(m.ok()) << file << ": " << m.status().to_string();
    EXPECT_EQ(m->kind, "Pipeline");
    ASSERT_TRUE(m->pipeline);
    EXPECT_EQ(m->metadata.name, m->pipeline->name);
    EXPECT_EQ(m->pipeline->schema_version, "2.1.0");
  }
}

TEST(PipelineSpec, TheExamplePipelineParses) {
  std::ifstream in(std::string(CADRE_SOURCE_DIR) + "/examples/pipeline-fmnist-mlp.yaml");
  std::stringstream text;
  text << in.rdbuf();
  auto m = parse_manifest(text.str());
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ(m->metadata.name, "fmnist-mlp");
  EXPECT_EQ(m->pipeline->executors.at("exec-train").container->resources.cpu_millis, 1000);
  EXPECT_EQ(m->pipeline->executors.at("exec-train").container->resources.memory_bytes, 1000000000);
}

// What kfp-kubernetes' set_timeout(task, 30) adds: a second document.
std::string with_platform(const std::string& executors) {
  return read_kfp_spec("sleep_steps.yaml") +
         "---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n" + executors;
}

TEST(PipelineSpec, ReadsAStepsTimeoutFromTheKfpKubernetesPlatformSpec) {
  auto m =
      parse_manifest(with_platform("        exec-sleep:\n          activeDeadlineSeconds: '30'\n"));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ(m->pipeline->executors.at("exec-sleep").container->active_deadline_seconds, 30);
  EXPECT_EQ(m->pipeline->executors.at("exec-sleep-2").container->active_deadline_seconds, 0);

  // Everything else kfp-kubernetes sets needs Kubernetes: refused by name.
  EXPECT_EQ(error_of(with_platform("        exec-sleep:\n          nodeSelector:\n"
                                   "            labels: {disk: ssd}\n")),
            "platforms.kubernetes.deploymentSpec.executors.exec-sleep.nodeSelector: unknown field");
  EXPECT_NE(error_of(with_platform("        exec-nope:\n          activeDeadlineSeconds: '30'\n"))
                .find("platforms.kubernetes.deploymentSpec.executors.exec-nope: there is no "
                      "executor 'exec-nope'"),
            std::string::npos);
  EXPECT_NE(error_of(with_platform("        exec-sleep:\n          activeDeadlineSeconds: '-1'\n"))
                .find("activeDeadlineSeconds: must be >= 1"),
            std::string::npos);
  // A third document is still one too many.
  EXPECT_NE(error_of(with_platform("        exec-sleep: {}\n") + "---\nkind: Job\n")
                .find("3 YAML documents"),
            std::string::npos);
}

TEST(PipelineSpec, WorkloadExecutorsKeepTheirKindNameAndSpec) {
  auto m = parse_manifest(read_example("fmnist-pipeline.yaml"));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const auto& executors = m->pipeline->executors;
  ASSERT_TRUE(executors.at("exec-train").workload);
  EXPECT_FALSE(executors.at("exec-train").container);
  EXPECT_EQ(executors.at("exec-train").workload->kind, "TrainJob");
  EXPECT_EQ(executors.at("exec-train").workload->name, "");
  const YAML::Node train = YAML::Load(executors.at("exec-train").workload->spec_yaml);
  EXPECT_EQ(train["replicaSpecs"]["Worker"]["replicas"].as<std::string>(),
            "{{$.inputs.parameters['workers']}}");
  EXPECT_EQ(executors.at("exec-deploy").workload->kind, "InferenceService");
  EXPECT_EQ(executors.at("exec-deploy").workload->name, "{{$.inputs.parameters['service']}}");
  EXPECT_TRUE(executors.at("exec-evaluate").container);
}

TEST(PipelineSpec, RefusesWorkloadExecutorsThatCannotRunWithThePath) {
  const std::string p = read_example("fmnist-pipeline.yaml");
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      // The kind's own parser checks the spec, under the executor's path.
      {replaced(p, "              restartPolicy: OnFailure",
                "              restartPolicy: Sometimes"),
       "deploymentSpec.executors.exec-train.cadre.spec.replicaSpecs.Worker.restartPolicy"},
      {replaced(p, "                resources:\n                  cpu: 1",
                "                resorces:\n                  cpu: 1"),
       "deploymentSpec.executors.exec-train.cadre.spec.replicaSpecs.Worker.template.resorces: "
       "unknown field"},
      {replaced(p, "            minReplicas: 1\n", "            minReplicas: many\n"),
       "deploymentSpec.executors.exec-deploy.cadre.spec.predictor.minReplicas"},
      {replaced(p, "                - '{{$.inputs.parameters[''epochs'']}}'",
                "                - '{{$.inputs.parameters[''epoch'']}}'"),
       "deploymentSpec.executors.exec-train.cadre.spec.replicaSpecs.Worker.template.args[3]: "
       "component 'comp-train' has no input parameter 'epoch'"},
      {replaced(p, "        kind: TrainJob", "        kind: Pipeline"),
       "deploymentSpec.executors.exec-train.cadre.kind: 'Pipeline' cannot run as a pipeline step"},
      // The run starts and stops its steps.
      {replaced(p, "          runPolicy:\n            backoffLimit: 2\n",
                "          runPolicy:\n            backoffLimit: 2\n            suspend: true\n"),
       "deploymentSpec.executors.exec-train.cadre.spec.runPolicy.suspend: a step cannot start "
       "suspended"},
      // A TrainJob's spec is not an Experiment's.
      {replaced(p, "        kind: TrainJob", "        kind: Experiment"),
       "deploymentSpec.executors.exec-train.cadre.spec.runPolicy: unknown field"},
      {replaced(p, "        metadata:\n          name: '{{$.inputs.parameters[''service'']}}'\n",
                ""),
       "deploymentSpec.executors.exec-deploy.cadre.metadata.name: required for an "
       "InferenceService"},
      {replaced(p, "        kind: TrainJob\n",
                "        kind: TrainJob\n        metadata:\n"
                "          name: mine\n"),
       "deploymentSpec.executors.exec-train.cadre.metadata.name: a TrainJob step is named after "
       "its run"},
      {replaced(p, "        revision:\n          parameterType: STRING\n        url:",
                "        replicas:\n          parameterType: STRING\n        url:"),
       "deploymentSpec.executors.exec-deploy.cadre: component 'comp-deploy' outputs 'replicas'"},
      {replaced(p, "    exec-report:\n      container:",
                "    exec-report:\n      cadre:\n        kind: Job\n      container:"),
       "deploymentSpec.executors.exec-report: needs exactly one of container and cadre"},
  };
  for (const auto& c : cases) {
    const std::string error = error_of(c.text);
    EXPECT_NE(error.find(c.error), std::string::npos) << "want: " << c.error << "\ngot:  " << error;
  }
}

TEST(PipelineSpec, KeepsWhatTheDriverNeeds) {
  auto m = parse_manifest(read_kfp_spec("parallel_for.yaml"));
  ASSERT_TRUE(m.ok());
  const PipelineSpec& p = *m->pipeline;
  const Dag& root = *p.root.dag;
  // Producers come before consumers.
  const auto pos = [&](const std::string& t) {
    return std::find(root.order.begin(), root.order.end(), t) - root.order.begin();
  };
  EXPECT_LT(pos("for-loop-2"), pos("add"));
  EXPECT_LT(pos("make-list"), pos("for-loop-4"));
  const PipelineTask& loop = root.tasks.at("for-loop-4");
  ASSERT_TRUE(loop.iterator);
  EXPECT_EQ(loop.iterator->input_parameter, "pipelinechannel--make-list-Output");
  EXPECT_EQ(loop.parallelism_limit, 2);
  EXPECT_EQ(*root.tasks.at("for-loop-2").iterator->raw_items, nlohmann::json::parse("[1,2,3]"));
  EXPECT_EQ(root.output_parameters.at("Output").producer_subtask, "add");
  EXPECT_EQ(p.executors.at("exec-double").container->command,
            (std::vector<std::string>{"sh", "-c", "echo $(($0 * 2)) > \"$1\""}));

  auto retry = parse_manifest(read_kfp_spec("retry.yaml"));
  ASSERT_TRUE(retry.ok());
  const RetryPolicy& policy = retry->pipeline->root.dag->tasks.at("flaky").retry;
  EXPECT_EQ(policy.max_retries, 3);
  EXPECT_DOUBLE_EQ(policy.backoff_seconds, 0.2);
  EXPECT_EQ(*retry->pipeline->root.inputs.parameters.at("failures").default_value,
            nlohmann::json(2));

  auto exit = parse_manifest(read_kfp_spec("exit_handler.yaml"));
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->pipeline->root.dag->tasks.at("print-op").strategy,
            TriggerStrategy::kAllUpstreamCompleted);
}

TEST(PipelineSpec, AcceptsTheCadreWrapperWithItsOwnName) {
  std::string inner = read_kfp_spec("two_step.yaml");
  std::string indented;
  for (size_t start = 0; start < inner.size();) {
    const size_t end = inner.find('\n', start);
    indented += "    " + inner.substr(start, end - start) + "\n";
    start = end == std::string::npos ? inner.size() : end + 1;
  }
  auto m = parse_manifest(
      "apiVersion: cadre/v1\nkind: Pipeline\nmetadata:\n  name: words\n"
      "spec:\n  pipelineSpec:\n" +
      indented);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ(m->metadata.name, "words");
  EXPECT_EQ(m->pipeline->name, "two-step-pipeline");
  EXPECT_NE(error_of("apiVersion: cadre/v1\nkind: Pipeline\nmetadata:\n  name: w\nspec: {}\n")
                .find("spec.pipelineSpec: required"),
            std::string::npos);
}

TEST(PipelineSpec, RefusesBadSpecsWithThePathOfWhatIsWrong) {
  const std::string two = read_kfp_spec("two_step.yaml");
  const std::string flip = read_kfp_spec("flip_coin.yaml");
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      // A cycle: the producer now depends on its consumer.
      {replaced(two, "        componentRef:\n          name: comp-producer\n",
                "        componentRef:\n          name: comp-producer\n        dependentTasks:\n"
                "        - consumer\n"),
       "root.dag.tasks: the tasks 'consumer', 'producer' depend on each other in a cycle"},
      {replaced(two, "        - producer\n", "        - nobody\n"),
       "root.dag.tasks.consumer.dependentTasks: there is no task 'nobody' in this DAG"},
      {replaced(two, "                producerTask: producer",
                "                producerTask: ghost"),
       "root.dag.tasks.consumer.inputs.artifacts.dataset.taskOutputArtifact.producerTask: there "
       "is no task 'ghost'"},
      {replaced(two, "                outputArtifactKey: dataset",
                "                outputArtifactKey: model"),
       "outputArtifactKey: task 'producer' has no output artifact 'model'"},
      {replaced(two, "              componentInputParameter: text",
                "              componentInputParameter: txt"),
       "root.dag.tasks.producer.inputs.parameters.text.componentInputParameter: 'txt' is not an "
       "input parameter of the pipeline"},
      {replaced(flip, "== 'heads'\n      condition-2", "=~ 'heads'\n      condition-2"),
       "root.dag.tasks.condition-1.triggerPolicy.condition:"},
      {replaced(flip, "== 'heads'\n      condition-2",
                "== 'heads' && exists(x)\n      condition-2"),
       "is not in the supported CEL subset"},
      {replaced(two, "        image: alpine\n    exec-producer",
                "        image: alpine\n        lifecycle: {}\n    exec-producer"),
       "deploymentSpec.executors.exec-consumer.container.lifecycle: unknown field"},
      {replaced(two, "    exec-producer:\n      container:",
                "    exec-producer:\n      importer:\n        artifactUri: {}\n      container:"),
       "deploymentSpec.executors.exec-producer.importer: unknown field"},
      {replaced(two, "schemaVersion: 2.1.0", "schemaVersion: 3.0.0"),
       "schemaVersion: '3.0.0' is not supported"},
      {replaced(two, "  name: two-step-pipeline", "  name: Two Steps"),
       "pipelineInfo.name: 'Two Steps' is not a DNS label"},
      {replaced(two, "''text'']}}'\n        - '{{$.outputs.artifacts[''dataset'']",
                "''txt'']}}'\n        - '{{$.outputs.artifacts[''dataset'']"),
       "deploymentSpec.executors.exec-producer.container.args[0]: component 'comp-producer' has no "
       "input parameter 'txt'"},
      {replaced(two, "          name: comp-consumer\n        dependentTasks",
                "          name: comp-nope\n        dependentTasks"),
       "root.dag.tasks.consumer.componentRef.name: there is no component 'comp-nope'"},
      {replaced(two,
                "        inputs:\n          parameters:\n            text:\n              "
                "componentInputParameter: text\n",
                ""),
       "root.dag.tasks.producer.inputs.parameters: component 'comp-producer' needs input parameter "
       "'text', which is not given"},
      {replaced(two, "          parameterType: NUMBER_INTEGER\n  comp-producer",
                "          parameterType: FLOAT\n  comp-producer"),
       "components.comp-consumer.outputDefinitions.parameters.words.parameterType: 'FLOAT' is not "
       "supported"},
      {replaced(read_kfp_spec("retry.yaml"), "maxRetryCount: 3", "maxRetryCount: 1000"),
       "root.dag.tasks.flaky.retryPolicy.maxRetryCount"},
      {replaced(read_kfp_spec("retry.yaml"), "backoffDuration: 0.2s", "backoffDuration: soon"),
       "root.dag.tasks.flaky.retryPolicy.backoffDuration: 'soon' is not a duration"},
      {replaced(read_kfp_spec("retry.yaml"), "defaultValue: 2", "defaultValue: two"),
       "root.inputDefinitions.parameters.failures.defaultValue: 'two' is not a NUMBER_INTEGER"},
      {replaced(read_kfp_spec("parallel_for.yaml"), "raw: '[1, 2, 3]'", "raw: '{1, 2}'"),
       "root.dag.tasks.for-loop-2.parameterIterator.items.raw: '{1, 2}' is not a JSON list"},
  };
  for (const auto& c : cases) {
    const std::string error = error_of(c.text);
    EXPECT_NE(error.find(c.error), std::string::npos) << "want: " << c.error << "\ngot:  " << error;
  }
}

TEST(PipelineSpec, RefusesAComponentThatCallsItself) {
  std::string text = replaced(read_kfp_spec("flip_coin.yaml"),
                              "            name: comp-print-msg\n          inputs:",
                              "            name: comp-condition-1\n          inputs:");
  text = replaced(text,
                  "              msg:\n                runtimeValue:\n                  constant: "
                  "it was heads\n",
                  "              pipelinechannel--flip-coin-Output:\n                "
                  "runtimeValue:\n                  constant: again\n");
  EXPECT_NE(error_of(text).find("nest more than"), std::string::npos) << error_of(text);
}

TEST(PipelineSpec, APipelineRunNamesItsPipelineAndParameters) {
  auto m = parse_manifest(
      "apiVersion: cadre/v1\nkind: PipelineRun\nmetadata:\n  name: r1\nspec:\n"
      "  pipelineRef: {name: two-step-pipeline, version: 2}\n"
      "  parameters: {text: hello, n: 3, xs: [1, 2]}\n  experiment: tuning\n"
      "  enableCaching: false\n");
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  ASSERT_TRUE(m->pipeline_run);
  EXPECT_EQ(m->pipeline_run->pipeline, "two-step-pipeline");
  EXPECT_EQ(m->pipeline_run->version, 2);
  EXPECT_EQ(m->pipeline_run->parameters.at("text"), "hello");
  EXPECT_EQ(m->pipeline_run->parameters.at("n"), "3");
  EXPECT_EQ(m->pipeline_run->parameters.at("xs"), "[1,2]");
  EXPECT_EQ(m->pipeline_run->experiment, "tuning");
  EXPECT_FALSE(m->pipeline_run->enable_caching);
  EXPECT_NE(error_of("apiVersion: cadre/v1\nkind: PipelineRun\nmetadata:\n  name: r1\nspec:\n"
                     "  pipelineRef: {}\n")
                .find("spec.pipelineRef.name: required"),
            std::string::npos);
  EXPECT_NE(error_of("apiVersion: cadre/v1\nkind: PipelineRun\nmetadata:\n  name: " +
                     std::string(55, 'r') + "\nspec:\n  pipelineRef: {name: p}\n")
                .find("metadata.name: a run's name is at most 50"),
            std::string::npos);
}

std::string recurring(const std::string& spec) {
  return "apiVersion: cadre/v1\nkind: RecurringRun\nmetadata:\n  name: nightly\nspec:\n"
         "  pipelineRef: {name: fmnist-pipeline}\n" +
         spec;
}

TEST(PipelineSpec, ARecurringRunHasOneTriggerAndKfpsFields) {
  auto m = parse_manifest(recurring(
      "  parameters: {epochs: 3}\n  trigger:\n    cronSchedule:\n      cron: '0 0 2 * * *'\n"
      "      startTime: '2026-12-01T00:00:00+01:00'\n  maxConcurrency: 2\n  noCatchup: true\n"
      "  mode: DISABLE\n"));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const RecurringRunSpec& r = *m->recurring_run;
  EXPECT_EQ(r.run.pipeline, "fmnist-pipeline");
  EXPECT_EQ(r.run.parameters.at("epochs"), "3");
  EXPECT_EQ(r.cron, "0 0 2 * * *");
  EXPECT_EQ(r.start_ms, *parse_rfc3339_ms("2026-11-30T23:00:00Z"));
  EXPECT_EQ(r.max_concurrency, 2);
  EXPECT_TRUE(r.no_catchup);
  EXPECT_FALSE(r.enabled);
  auto nightly = parse_manifest(read_example("fmnist-nightly.yaml"));
  ASSERT_TRUE(nightly.ok()) << nightly.status().to_string();
  EXPECT_TRUE(nightly->recurring_run->no_catchup);

  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {recurring(""), "spec.trigger: required (cronSchedule or periodicSchedule)"},
      {recurring("  trigger:\n    cronSchedule: {cron: '0 0 2 * * *'}\n"
                 "    periodicSchedule: {intervalSecond: 60}\n"),
       "spec.trigger: needs exactly one of cronSchedule and periodicSchedule"},
      {recurring("  trigger:\n    cronSchedule: {cron: '0 61 * * * *'}\n"),
       "spec.trigger.cronSchedule.cron: minute: 61 is out of range 0-59"},
      {recurring("  trigger:\n    periodicSchedule: {intervalSecond: 0}\n"),
       "spec.trigger.periodicSchedule.intervalSecond: must be >= 1"},
      {recurring("  trigger:\n    periodicSchedule: {intervalSecond: 60, startTime: tomorrow}\n"),
       "spec.trigger.periodicSchedule.startTime: 'tomorrow' is not an RFC 3339 time"},
      {recurring("  trigger:\n    periodicSchedule: {intervalSecond: 60,"
                 " startTime: '2026-12-02T00:00:00Z', endTime: '2026-12-01T00:00:00Z'}\n"),
       "spec.trigger.periodicSchedule.endTime: must be after startTime"},
      {recurring("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n  maxConcurrency: 11\n"),
       "spec.maxConcurrency: must be <= 10"},
      {recurring("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n  mode: PAUSE\n"),
       "spec.mode: 'PAUSE' is not ENABLE or DISABLE"},
      {recurring("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n  schedule: x\n"),
       "spec.schedule: unknown field"},
      {replaced(recurring("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n"), "nightly",
                std::string(36, 'n')),
       "metadata.name: a recurring run's name is at most 35 characters"},
  };
  for (const auto& c : cases) {
    const std::string error = error_of(c.text);
    EXPECT_NE(error.find(c.error), std::string::npos) << "want: " << c.error << "\ngot:  " << error;
  }
}

TEST(PipelineSpec, RunParametersAreCheckedAgainstTheirType) {
  EXPECT_EQ(*parse_parameter_text("42", ParameterType::kInteger, "n"), nlohmann::json(42));
  EXPECT_EQ(*parse_parameter_text("0.5", ParameterType::kDouble, "lr"), nlohmann::json(0.5));
  EXPECT_EQ(*parse_parameter_text("true", ParameterType::kBoolean, "b"), nlohmann::json(true));
  EXPECT_EQ(*parse_parameter_text("[1, 2]", ParameterType::kList, "xs"),
            nlohmann::json::parse("[1,2]"));
  EXPECT_EQ(*parse_parameter_text("007", ParameterType::kString, "s"), nlohmann::json("007"));
  auto bad = parse_parameter_text("4x", ParameterType::kInteger, "epochs");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "'4x' is not a NUMBER_INTEGER value (parameter 'epochs')");
  EXPECT_FALSE(parse_parameter_text("{\"a\": 1}", ParameterType::kList, "xs").ok());
}

}  // namespace
}  // namespace cadre::spec
