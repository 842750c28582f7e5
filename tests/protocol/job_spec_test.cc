#include "protocol/spec/job_spec.h"

#include <gtest/gtest.h>

#include "protocol/spec/manifest.h"
#include "protocol/spec/quantity.h"
#include "tests/support/status_matchers.h"

namespace cadre::spec::job_spec_test {
namespace {

const char* kHello = R"(
apiVersion: cadre/v1
kind: Job
metadata:
  name: hello
spec:
  activeDeadlineSeconds: 60
  suspend: true
  template:
    command: [sh, -c]
    args: ["echo hello-cadre"]
    env:
      - name: GREETING
        value: hi
    workingDir: /tmp
    resources: {cpu: 500m, memory: 128Mi, gpu: 1}
    nodeSelector: {gpu: h200, cadre.dev/zone: eu-1}
)";

std::string error_of(const std::string& yaml) {
  auto result = parse_manifest(yaml);
  return result.ok() ? "" : result.status().message();
}

std::string with(const std::string& from, const std::string& to) {
  std::string text = kHello;
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(JobSpec, ParsesEveryField) {
  auto manifest = parse_manifest(kHello);
  ASSERT_OK(manifest);
  const JobSpec& job = *manifest->job;
  EXPECT_EQ(job.metadata.name, "hello");
  EXPECT_EQ(job.metadata.ns, "default");
  EXPECT_EQ(job.replica.command, (std::vector<std::string>{"sh", "-c"}));
  EXPECT_EQ(job.replica.args.at(0), "echo hello-cadre");
  EXPECT_EQ(job.replica.env.at(0).name, "GREETING");
  EXPECT_EQ(job.replica.working_dir, "/tmp");
  EXPECT_EQ(job.replica.resources.cpu_millis, 500);
  EXPECT_EQ(job.replica.resources.memory_bytes, 128ll << 20);
  EXPECT_EQ(job.replica.resources.gpus, 1);
  EXPECT_EQ(job.active_deadline_seconds, 60);
  EXPECT_TRUE(job.suspend);
  EXPECT_TRUE(manifest->gang().run_policy.suspend) << "the supervisor reads it from the gang";
  EXPECT_EQ(job.replica.node_selector,
            (std::map<std::string, std::string>{{"cadre.dev/zone", "eu-1"}, {"gpu", "h200"}}));
}

TEST(JobSpec, ANodeSelectorHoldsLabelsOnly) {
  const std::string from = "nodeSelector: {gpu: h200, cadre.dev/zone: eu-1}";
  EXPECT_EQ(error_of(with(from, "nodeSelector: {'gpu type': h200}")),
            "spec.template.nodeSelector.gpu type: not a label key (at most 253 letters, digits, "
            "'-', '_', '.', '/')");
  EXPECT_EQ(error_of(with(from, "nodeSelector: {gpu: 'h 200'}")),
            "spec.template.nodeSelector.gpu: 'h 200' is not a label value (at most 63 letters, "
            "digits, '-', '_', '.')");
  EXPECT_EQ(error_of(with(from, "nodeSelector: {gpu: " + std::string(64, 'a') + "}"))
                .rfind("spec.template.nodeSelector.gpu: ", 0),
            0u);
  std::string many = "nodeSelector: {";
  for (int i = 0; i < 17; ++i) many += (i ? ", k" : "k") + std::to_string(i) + ": v";
  EXPECT_EQ(error_of(with(from, many + "}")), "spec.template.nodeSelector: 17 labels; at most 16");
  EXPECT_NE(error_of(with(from, "nodeSelector: [gpu]")), "");
  EXPECT_EQ(error_of(with(from, "nodeSelector: {}")), "");
}

TEST(JobSpec, ErrorsNameTheFieldPath) {
  EXPECT_EQ(error_of(with("cpu: 500m", "cpu: lots")),
            "spec.template.resources.cpu: 'lots' is not a CPU quantity (examples: 2, 0.5, 500m)");
  EXPECT_EQ(error_of(with("name: hello", "name: Hello_World")).rfind("metadata.name:", 0), 0u);
  EXPECT_EQ(error_of(with("command: [sh, -c]", "comand: [sh]")),
            "spec.template.comand: unknown field");
  EXPECT_EQ(error_of(with("    command: [sh, -c]\n", "")), "spec.template.command: required");
  EXPECT_EQ(error_of(with("workingDir", "workDir")), "spec.template.workDir: unknown field");
  // A misspelt required field is reported as the typo, not as the missing field.
  EXPECT_EQ(error_of(with("  template:", "  templte:")), "spec.templte: unknown field");
  EXPECT_EQ(error_of(with("activeDeadlineSeconds: 60", "activeDeadlineSeconds: 0")),
            "spec.activeDeadlineSeconds: must be >= 1");
  EXPECT_EQ(error_of(with("gpu: 1", "gpu: -1")), "spec.template.resources.gpu: must be >= 0");
  EXPECT_EQ(error_of(with("value: hi", "value: [1]")),
            "spec.template.env[0].value: must be a string");
  EXPECT_EQ(error_of(with("kind: Job", "kind: Pod")),
            "kind: 'Pod' is not supported (supported: Job, TrainJob, Experiment, "
            "InferenceService, Pipeline, PipelineRun, RecurringRun, Notebook)");
  EXPECT_EQ(error_of(with("cadre/v1", "v1")).rfind("apiVersion:", 0), 0u);
}

TEST(JobSpec, ARelativeWorkingDirMayNotLeaveTheReplicaFolder) {
  for (const std::string dir : {"..", "../../..", "a/../../b"}) {
    const std::string manifest = with("workingDir: /tmp", "workingDir: '" + dir + "'");
    EXPECT_EQ(error_of(manifest).rfind("spec.template.workingDir: '" + dir + "' leaves", 0), 0u)
        << error_of(manifest);
  }
  EXPECT_EQ(error_of(with("workingDir: /tmp", "workingDir: src/../build")), "");
}

TEST(JobSpec, RejectsNonYamlAndNonMaps) {
  EXPECT_NE(error_of("{{{").find("not valid YAML"), std::string::npos);
  EXPECT_EQ(error_of(""), "manifest is empty");
  EXPECT_EQ(error_of("- a\n- b\n"), "manifest: must be a map");
}

TEST(JobSpec, TakesASchedulingPolicyForItsPriorityAndQueueAsATrainJobDoes) {
  EXPECT_EQ(parse_manifest(kHello)->gang().run_policy.scheduling.queue, "default");
  auto manifest = parse_manifest(
      with("  suspend: true\n",
           "  schedulingPolicy: {priority: 7, queue: research, preemptionPolicy: Never}\n"));
  ASSERT_OK(manifest);
  EXPECT_EQ(manifest->job->scheduling.priority, 7);
  const TrainJobSpec gang = manifest->gang();
  EXPECT_EQ(gang.run_policy.scheduling.queue, "research");
  EXPECT_EQ(gang.run_policy.scheduling.priority, 7);
  EXPECT_EQ(gang.run_policy.scheduling.preemption, PreemptionPolicy::kNever);
  EXPECT_EQ(error_of(with("  suspend: true\n", "  schedulingPolicy: {queue: Research}\n")),
            "spec.schedulingPolicy.queue: 'Research' must be a DNS label");
  EXPECT_NE(error_of(with("  suspend: true\n", "  schedulingPolicy: {minAvailable: 2}\n"))
                .find("spec.schedulingPolicy.minAvailable"),
            std::string::npos);
}

TEST(JobSpec, AcceptsEnvAsAPlainMap) {
  auto manifest = parse_manifest(
      with("env:\n      - name: GREETING\n        value: hi", "env: {GREETING: hi}"));
  ASSERT_OK(manifest);
  EXPECT_EQ(manifest->job->replica.env.at(0).value, "hi");
}

TEST(DifferOnlyInSuspend, AllowsTheSuspendFieldAndLayoutToChangeButNothingElse) {
  const std::string job = kHello;
  EXPECT_TRUE(differ_only_in_suspend(job, job));
  EXPECT_TRUE(differ_only_in_suspend(job, with("suspend: true", "suspend: false")));
  EXPECT_TRUE(differ_only_in_suspend(job, with("  suspend: true\n", "")));
  // Data, not text: comments, flow or block style and key order are no change.
  EXPECT_TRUE(differ_only_in_suspend(
      job, with("    resources: {cpu: 500m, memory: 128Mi, gpu: 1}",
                "    # what it needs\n    resources:\n      gpu: 1\n      memory: 128Mi\n"
                "      cpu: 500m")));
  EXPECT_FALSE(differ_only_in_suspend(job, with("echo hello-cadre", "echo bye")));
  EXPECT_FALSE(
      differ_only_in_suspend(job, with("activeDeadlineSeconds: 60", "activeDeadlineSeconds: 61")));
  EXPECT_FALSE(differ_only_in_suspend(job, with("cpu: 500m", "cpu: 0.5")))
      << "the same quantity written otherwise is still other text";
  EXPECT_FALSE(differ_only_in_suspend(job, with("    workingDir: /tmp\n", "")));

  const std::string train = R"(
apiVersion: cadre/v1
kind: TrainJob
metadata: {name: pair}
spec:
  runPolicy: {backoffLimit: 0, suspend: true}
  replicaSpecs:
    Worker:
      replicas: 2
      template: {command: [sleep, '60']}
)";
  auto changed = [&](const std::string& from, const std::string& to) {
    std::string text = train;
    return text.replace(text.find(from), from.size(), to);
  };
  EXPECT_TRUE(differ_only_in_suspend(train, changed("suspend: true", "suspend: false")));
  EXPECT_TRUE(
      differ_only_in_suspend(changed("{backoffLimit: 0, suspend: true}", "{suspend: true}"),
                             changed("  runPolicy: {backoffLimit: 0, suspend: true}\n", "")))
      << "a runPolicy that held only suspend is as good as none";
  EXPECT_FALSE(differ_only_in_suspend(train, changed("replicas: 2", "replicas: 3")));
  EXPECT_FALSE(differ_only_in_suspend(train, job));
}

TEST(Quantity, ParsesKubernetesCpuAndMemoryForms) {
  EXPECT_EQ(parse_cpu_millis("2").value(), 2000);
  EXPECT_EQ(parse_cpu_millis("0.25").value(), 250);
  EXPECT_EQ(parse_cpu_millis("750m").value(), 750);
  EXPECT_FALSE(parse_cpu_millis("-1").ok());
  EXPECT_FALSE(parse_cpu_millis("1.2.3").ok());
  EXPECT_FALSE(parse_cpu_millis("0.0001").ok());
  EXPECT_EQ(parse_memory_bytes("1Gi").value(), 1ll << 30);
  EXPECT_EQ(parse_memory_bytes("1G").value(), 1000000000);
  EXPECT_EQ(parse_memory_bytes("4096").value(), 4096);
  EXPECT_FALSE(parse_memory_bytes("12Qi").ok());
  EXPECT_EQ(format_memory(128ll << 20), "128Mi");
  EXPECT_EQ(format_memory_rounded(900), "900");
  EXPECT_EQ(format_memory_rounded(1536), "1.5Ki");
  EXPECT_EQ(format_memory_rounded(16ll << 30), "16Gi");
  EXPECT_EQ(format_memory_rounded(23128948736), "21.5Gi");
  EXPECT_EQ(format_cpu(2500), "2.5");
  EXPECT_EQ(format_cpu(500), "500m");
}

}  // namespace
}  // namespace cadre::spec::job_spec_test
