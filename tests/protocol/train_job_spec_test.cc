#include "protocol/spec/train_job_spec.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "protocol/spec/manifest.h"
#include "tests/support/examples.h"
#include "tests/support/status_matchers.h"

namespace cadre::spec::train_job_spec_test {
namespace {

const char* kFull = R"(
apiVersion: cadre/v1
kind: TrainJob
metadata:
  name: fmnist
  namespace: research
  labels: {team: vision}
spec:
  successPolicy: AllWorkers
  runPolicy:
    backoffLimit: 3
    activeDeadlineSeconds: 600
    cleanPodPolicy: All
    ttlSecondsAfterFinished: 60
    suspend: true
    schedulingPolicy:
      minAvailable: 4
      priority: -5
      queue: gpu-team
      placement: Spread
      preemptionPolicy: Never
  replicaSpecs:
    Worker:
      replicas: 2
      restartPolicy: ExitCode
      template:
        command: [cadre-train]
        args: [--model, cnn]
        env: {LR: "0.01"}
        workingDir: run
        resources: {cpu: 2, memory: 1Gi, gpu: 1}
        terminationGracePeriodSeconds: 30
    Chief:
      restartPolicy: OnFailure
      template:
        command: [cadre-train, --chief]
    PS:
      replicas: 1
      restartPolicy: Always
      template:
        command: [cadre-ps]
        resources: {cpu: 500m}
)";

std::string error_of(const std::string& yaml) {
  auto result = parse_manifest(yaml);
  return result.ok() ? "" : result.status().message();
}

std::string full_with(const std::string& from, const std::string& to) {
  std::string text = kFull;
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

// One replicaSpecs entry in flow style, e.g. role("Worker", "replicas: 2").
std::string role(const std::string& type, const std::string& fields = "") {
  return "    " + type + ": {" + fields + (fields.empty() ? "" : ", ") +
         "template: {command: [run]}}\n";
}

// A minimal TrainJob with the given replicaSpecs entries and extra `spec` lines.
std::string train_job(const std::string& replica_specs, const std::string& spec_lines = "") {
  return "apiVersion: cadre/v1\nkind: TrainJob\nmetadata: {name: t}\nspec:\n" + spec_lines +
         "  replicaSpecs:\n" + replica_specs;
}

TrainJobSpec parsed(const std::string& yaml) {
  auto manifest = parse_manifest(yaml);
  EXPECT_OK(manifest);
  if (!manifest.ok() || !manifest->train_job) return {};
  return *manifest->train_job;
}

TEST(TrainJobSpec, ParsesAFullSpecIntoEveryField) {
  auto manifest = parse_manifest(kFull);
  ASSERT_OK(manifest);
  EXPECT_EQ(manifest->kind, "TrainJob");
  EXPECT_FALSE(manifest->job.has_value());
  ASSERT_TRUE(manifest->train_job.has_value());
  const TrainJobSpec& job = *manifest->train_job;
  EXPECT_EQ(job.metadata.name, "fmnist");
  EXPECT_EQ(job.metadata.ns, "research");
  EXPECT_EQ(job.metadata.labels.at("team"), "vision");
  EXPECT_EQ(job.success_policy, SuccessPolicy::kAllWorkers);
  EXPECT_EQ(job.run_policy.backoff_limit, 3);
  EXPECT_EQ(job.run_policy.active_deadline_seconds, 600);
  EXPECT_EQ(job.run_policy.clean_pod_policy, CleanPodPolicy::kAll);
  EXPECT_EQ(job.run_policy.ttl_seconds_after_finished, 60);
  EXPECT_TRUE(job.run_policy.suspend);
  EXPECT_EQ(job.run_policy.scheduling.min_available, 4);
  EXPECT_EQ(job.run_policy.scheduling.priority, -5);
  EXPECT_EQ(job.run_policy.scheduling.queue, "gpu-team");
  EXPECT_EQ(job.run_policy.scheduling.placement, PlacementPolicy::kSpread);
  EXPECT_EQ(job.run_policy.scheduling.preemption, PreemptionPolicy::kNever);
  EXPECT_EQ(job.total_replicas(), 4);

  const ReplicaSpec* worker = job.find("Worker");
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->type, "Worker");
  EXPECT_EQ(worker->replicas, 2);
  EXPECT_EQ(worker->restart_policy, RestartPolicy::kExitCode);
  EXPECT_EQ(worker->tmpl.command, (std::vector<std::string>{"cadre-train"}));
  EXPECT_EQ(worker->tmpl.args, (std::vector<std::string>{"--model", "cnn"}));
  ASSERT_EQ(worker->tmpl.env.size(), 1u);
  EXPECT_EQ(worker->tmpl.env[0].name, "LR");
  EXPECT_EQ(worker->tmpl.env[0].value, "0.01");
  EXPECT_EQ(worker->tmpl.working_dir, "run");
  EXPECT_EQ(worker->tmpl.resources.cpu_millis, 2000);
  EXPECT_EQ(worker->tmpl.resources.memory_bytes, 1ll << 30);
  EXPECT_EQ(worker->tmpl.resources.gpus, 1);
  EXPECT_EQ(worker->tmpl.termination_grace_seconds, 30);

  const ReplicaSpec* chief = job.find("Chief");
  ASSERT_NE(chief, nullptr);
  EXPECT_EQ(chief->replicas, 1);
  EXPECT_EQ(chief->restart_policy, RestartPolicy::kOnFailure);
  EXPECT_EQ(chief->tmpl.command, (std::vector<std::string>{"cadre-train", "--chief"}));

  const ReplicaSpec* ps = job.find("PS");
  ASSERT_NE(ps, nullptr);
  EXPECT_EQ(ps->restart_policy, RestartPolicy::kAlways);
  EXPECT_EQ(ps->tmpl.resources.cpu_millis, 500);
  EXPECT_EQ(job.find("Evaluator"), nullptr);
}

TEST(TrainJobSpec, DefaultsEveryOptionalField) {
  const TrainJobSpec job = parsed(train_job(role("Worker")));
  EXPECT_EQ(job.metadata.ns, "default");
  EXPECT_EQ(job.success_policy, SuccessPolicy::kDefault);
  EXPECT_EQ(job.run_policy.backoff_limit, 6);
  EXPECT_FALSE(job.run_policy.active_deadline_seconds.has_value());
  EXPECT_EQ(job.run_policy.clean_pod_policy, CleanPodPolicy::kRunning);
  EXPECT_FALSE(job.run_policy.ttl_seconds_after_finished.has_value());
  EXPECT_FALSE(job.run_policy.suspend) << "a job runs unless asked to wait";
  EXPECT_FALSE(job.run_policy.scheduling.min_available.has_value());
  EXPECT_EQ(job.run_policy.scheduling.priority, 0);
  EXPECT_EQ(job.run_policy.scheduling.queue, "default");
  EXPECT_EQ(job.run_policy.scheduling.placement, PlacementPolicy::kPack);
  EXPECT_EQ(job.run_policy.scheduling.preemption, PreemptionPolicy::kPreemptLowerPriority)
      << "as a Kubernetes PriorityClass's default";
  ASSERT_EQ(job.replica_specs.size(), 1u);
  EXPECT_EQ(job.replica_specs[0].replicas, 1);
  EXPECT_EQ(job.replica_specs[0].restart_policy, RestartPolicy::kNever);

  // Empty maps and an empty successPolicy are the same as absent ones.
  const TrainJobSpec empty = parsed(
      train_job(role("Worker"), "  successPolicy: \"\"\n  runPolicy: {schedulingPolicy: {}}\n"));
  EXPECT_EQ(empty.success_policy, SuccessPolicy::kDefault);
  EXPECT_EQ(empty.run_policy.backoff_limit, 6);
  EXPECT_EQ(empty.run_policy.scheduling.queue, "default");
}

TEST(TrainJobSpec, StoresReplicaTypesInRankOrderWhateverTheYamlOrder) {
  const TrainJobSpec job =
      parsed(train_job(role("Launcher") + role("Evaluator") + role("Worker", "replicas: 3") +
                       role("Master") + role("PS", "replicas: 2")));
  std::vector<std::string> types;
  for (const auto& spec : job.replica_specs) types.push_back(spec.type);
  EXPECT_EQ(types, (std::vector<std::string>{"PS", "Master", "Worker", "Evaluator", "Launcher"}));
  EXPECT_EQ(job.total_replicas(), 8);
}

TEST(TrainJobSpec, RefusesUnknownReplicaTypesListingTheAllowedOnes) {
  const std::string allowed = "(allowed: PS, Chief, Master, Worker, Evaluator, Launcher)";
  EXPECT_EQ(error_of(train_job(role("Wroker"))),
            "spec.replicaSpecs.Wroker: unknown replica type " + allowed);
  EXPECT_EQ(error_of(train_job(role("Main"))), "spec.replicaSpecs.Main: unknown replica type " +
                                                   allowed +
                                                   "; Main is the replica of a kind: Job");
  EXPECT_EQ(error_of(train_job(role("worker"))),
            "spec.replicaSpecs.worker: unknown replica type " + allowed +
                "; types are case-sensitive, did you mean Worker?");
  EXPECT_EQ(error_of(train_job(role("Worker") + role("Worker"))),
            "spec.replicaSpecs.Worker: duplicate key");
}

TEST(TrainJobSpec, RequiresANonEmptyReplicaSpecsMap) {
  EXPECT_EQ(error_of(train_job("", "  runPolicy: {backoffLimit: 1}\n")),
            "spec.replicaSpecs: required");
  EXPECT_EQ(error_of(train_job("    {}\n")),
            "spec.replicaSpecs: must name at least one replica type (PS, Chief, Master, Worker, "
            "Evaluator, Launcher)");
  EXPECT_EQ(error_of(train_job("    [Worker]\n")),
            "spec.replicaSpecs: must be a map keyed by replica type (PS, Chief, Master, Worker, "
            "Evaluator, Launcher)");
  EXPECT_EQ(error_of("apiVersion: cadre/v1\nkind: TrainJob\nmetadata: {name: t}\n"),
            "spec: required");
  EXPECT_EQ(error_of(train_job("    Worker:\n")), "spec.replicaSpecs.Worker: must be a map");
}

TEST(TrainJobSpec, RequiresReplicasOfAtLeastOneAndExactlyOneChiefMasterOrLauncher) {
  EXPECT_EQ(error_of(train_job(role("Worker", "replicas: 0"))),
            "spec.replicaSpecs.Worker.replicas: must be >= 1, got 0");
  EXPECT_EQ(error_of(train_job(role("Worker", "replicas: many"))),
            "spec.replicaSpecs.Worker.replicas: must be an integer, got 'many'");
  for (const std::string type : {"Chief", "Master", "Launcher"}) {
    EXPECT_EQ(
        error_of(train_job(role(type, "replicas: 2") + role("Worker"))),
        "spec.replicaSpecs." + type + ".replicas: must be 1 (a job has one " + type + "), got 2");
  }
  EXPECT_TRUE(error_of(train_job(role("PS", "replicas: 3") + role("Evaluator", "replicas: 2") +
                                 role("Worker")))
                  .empty());
}

TEST(TrainJobSpec, RefusesChiefAndMasterTogether) {
  EXPECT_EQ(error_of(train_job(role("Chief") + role("Master"))),
            "spec.replicaSpecs: Chief and Master are the same role (TFJob's and PyTorchJob's "
            "name for it); give one of them");
}

TEST(TrainJobSpec, RefusesALauncherWithoutWorkers) {
  EXPECT_EQ(error_of(train_job(role("Launcher"))),
            "spec.replicaSpecs.Launcher: needs Worker replicas for mpirun to launch on");
  EXPECT_TRUE(error_of(train_job(role("Launcher") + role("Worker", "replicas: 2"))).empty());
}

TEST(TrainJobSpec, RefusesAJobThatNoReplicaCanDecideSuccessFor) {
  const std::string message =
      "spec.replicaSpecs: needs a Chief, Master, Worker or Launcher: PS and Evaluator replicas "
      "alone cannot decide when the job succeeds";
  EXPECT_EQ(error_of(train_job(role("PS"))), message);
  EXPECT_EQ(error_of(train_job(role("PS") + role("Evaluator"))), message);
  EXPECT_TRUE(error_of(train_job(role("Chief"))).empty());
  EXPECT_TRUE(error_of(train_job(role("Master"))).empty());
}

TEST(TrainJobSpec, CapsTheTotalReplicaCountAt1024) {
  EXPECT_TRUE(error_of(train_job(role("Worker", "replicas: 1024"))).empty());
  EXPECT_EQ(error_of(train_job(role("Worker", "replicas: 1025"))),
            "spec.replicaSpecs.Worker.replicas: must be <= 1024, got 1025");
  EXPECT_EQ(error_of(train_job(role("PS", "replicas: 24") + role("Worker", "replicas: 1000") +
                               role("Chief"))),
            "spec.replicaSpecs: at most 1024 replicas over all types, got 1025");
}

TEST(TrainJobSpec, RequiresATemplatePerTypeAndReportsItsFieldPaths) {
  EXPECT_EQ(error_of(train_job("    Worker: {replicas: 2}\n")),
            "spec.replicaSpecs.Worker.template: required");
  EXPECT_EQ(error_of(train_job("    Worker: {template: {args: [x]}}\n")),
            "spec.replicaSpecs.Worker.template.command: required");
  EXPECT_EQ(error_of(full_with("resources: {cpu: 500m}", "resources: {cpu: lots}")),
            "spec.replicaSpecs.PS.template.resources.cpu: 'lots' is not a CPU quantity (examples: "
            "2, 0.5, 500m)");
  EXPECT_EQ(error_of(full_with("workingDir: run", "workDir: run")),
            "spec.replicaSpecs.Worker.template.workDir: unknown field");
}

TEST(TrainJobSpec, RefusesUnknownEnumValuesListingTheAllowedOnesAndTheBadOne) {
  EXPECT_EQ(error_of(full_with("restartPolicy: ExitCode", "restartPolicy: Sometimes")),
            "spec.replicaSpecs.Worker.restartPolicy: 'Sometimes' is not one of Never, OnFailure, "
            "Always, ExitCode");
  EXPECT_EQ(error_of(full_with("restartPolicy: ExitCode", "restartPolicy: onfailure")),
            "spec.replicaSpecs.Worker.restartPolicy: 'onfailure' is not one of Never, OnFailure, "
            "Always, ExitCode");
  EXPECT_EQ(error_of(full_with("cleanPodPolicy: All", "cleanPodPolicy: Some")),
            "spec.runPolicy.cleanPodPolicy: 'Some' is not one of All, Running, None");
  EXPECT_EQ(error_of(full_with("placement: Spread", "placement: Scatter")),
            "spec.runPolicy.schedulingPolicy.placement: 'Scatter' is not one of Pack, Spread");
  EXPECT_EQ(error_of(full_with("preemptionPolicy: Never", "preemptionPolicy: Always")),
            "spec.runPolicy.schedulingPolicy.preemptionPolicy: 'Always' is not one of "
            "PreemptLowerPriority, Never");
  EXPECT_EQ(error_of(full_with("successPolicy: AllWorkers", "successPolicy: Everyone")),
            "spec.successPolicy: 'Everyone' is not one of AllWorkers, or empty for the default");
  // "None" is a string in YAML, not null.
  EXPECT_EQ(
      parsed(full_with("cleanPodPolicy: All", "cleanPodPolicy: None")).run_policy.clean_pod_policy,
      CleanPodPolicy::kNone);
}

TEST(TrainJobSpec, RefusesRunPolicyValuesOutOfRangeEchoingTheValue) {
  EXPECT_EQ(error_of(full_with("backoffLimit: 3", "backoffLimit: -1")),
            "spec.runPolicy.backoffLimit: must be >= 0, got -1");
  EXPECT_EQ(parsed(full_with("backoffLimit: 3", "backoffLimit: 0")).run_policy.backoff_limit, 0);
  EXPECT_EQ(error_of(full_with("activeDeadlineSeconds: 600", "activeDeadlineSeconds: 0")),
            "spec.runPolicy.activeDeadlineSeconds: must be >= 1, got 0");
  EXPECT_EQ(error_of(full_with("ttlSecondsAfterFinished: 60", "ttlSecondsAfterFinished: -5")),
            "spec.runPolicy.ttlSecondsAfterFinished: must be >= 0, got -5");
  EXPECT_EQ(error_of(full_with("suspend: true", "suspend: later")),
            "spec.runPolicy.suspend: must be true or false");
  EXPECT_EQ(error_of(full_with("priority: -5", "priority: 3000000000")),
            "spec.runPolicy.schedulingPolicy.priority: must be <= 2147483647, got 3000000000");
  EXPECT_EQ(error_of(full_with("queue: gpu-team", "queue: GPU_Team")),
            "spec.runPolicy.schedulingPolicy.queue: 'GPU_Team' must be a DNS label");
}

TEST(TrainJobSpec, AcceptsMinAvailableOnlyAsTheWholeGang) {
  EXPECT_EQ(error_of(full_with("minAvailable: 4", "minAvailable: 3")),
            "spec.runPolicy.schedulingPolicy.minAvailable: must equal the total replica count 4, "
            "got 3: Cadre admits a gang whole, because every replica's CADRE_PEERS and TF_CONFIG "
            "name all of its peers (omit it for the default)");
  EXPECT_EQ(error_of(full_with("minAvailable: 4", "minAvailable: 5")),
            "spec.runPolicy.schedulingPolicy.minAvailable: must be <= 4, got 5");
  EXPECT_EQ(error_of(full_with("minAvailable: 4", "minAvailable: 0")),
            "spec.runPolicy.schedulingPolicy.minAvailable: must be >= 1, got 0");
}

TEST(TrainJobSpec, AllWorkersSuccessPolicyNeedsWorkers) {
  EXPECT_EQ(error_of(train_job(role("Chief"), "  successPolicy: AllWorkers\n")),
            "spec.successPolicy: AllWorkers needs Worker replicas");
}

TEST(TrainJobSpec, RefusesUnknownFieldsAtEveryLevelBeforeOtherErrors) {
  EXPECT_EQ(error_of(full_with("  successPolicy:", "  sucessPolicy:")),
            "spec.sucessPolicy: unknown field");
  EXPECT_EQ(error_of(full_with("backoffLimit: 3", "backOffLimit: 3")),
            "spec.runPolicy.backOffLimit: unknown field");
  EXPECT_EQ(error_of(full_with("queue: gpu-team", "gang: true")),
            "spec.runPolicy.schedulingPolicy.gang: unknown field");
  EXPECT_EQ(error_of(full_with("restartPolicy: ExitCode", "restart: ExitCode")),
            "spec.replicaSpecs.Worker.restart: unknown field");
  // A misspelt required map is reported as the typo, not as the missing field.
  EXPECT_EQ(error_of(full_with("  replicaSpecs:", "  replicaSpec:")),
            "spec.replicaSpec: unknown field");
  // Kubeflow's PyTorchJob spelling is not accepted under another name.
  EXPECT_EQ(error_of(full_with("  replicaSpecs:", "  pytorchReplicaSpecs:")),
            "spec.pytorchReplicaSpecs: unknown field");
}

using cadre::testing::read_example;

TEST(TrainJobSpec, ParsesTheAllReduceExample) {
  const TrainJobSpec job = parsed(read_example("train-fmnist-allreduce.yaml"));
  EXPECT_EQ(job.metadata.name, "fmnist-cnn");
  ASSERT_EQ(job.replica_specs.size(), 1u);
  EXPECT_EQ(job.replica_specs[0].type, "Worker");
  EXPECT_EQ(job.replica_specs[0].replicas, 2);
  EXPECT_EQ(job.replica_specs[0].restart_policy, RestartPolicy::kOnFailure);
  EXPECT_EQ(job.replica_specs[0].tmpl.command, (std::vector<std::string>{"sh", "-c"}));
  // The chief exports where an InferenceService's trainjob:// finds it.
  EXPECT_NE(
      job.replica_specs[0].tmpl.args.at(0).find("--export \"$CADRE_CHECKPOINT_DIR/model.cadre\""),
      std::string::npos);
  EXPECT_EQ(job.run_policy.backoff_limit, 3);
}

TEST(TrainJobSpec, ParsesTheParameterServerExample) {
  const TrainJobSpec job = parsed(read_example("train-fmnist-ps.yaml"));
  EXPECT_EQ(job.metadata.name, "fmnist-mlp-ps");
  ASSERT_EQ(job.replica_specs.size(), 2u);
  EXPECT_EQ(job.replica_specs[0].type, "PS");
  EXPECT_EQ(job.replica_specs[1].type, "Worker");
  EXPECT_EQ(job.total_replicas(), 3);
  EXPECT_EQ(job.replica_specs[1].tmpl.resources.memory_bytes, 1ll << 30);
}

TEST(TrainJobSpec, NamesEachEnumValueAsYamlSpellsIt) {
  EXPECT_STREQ(to_string(RestartPolicy::kNever), "Never");
  EXPECT_STREQ(to_string(RestartPolicy::kOnFailure), "OnFailure");
  EXPECT_STREQ(to_string(RestartPolicy::kAlways), "Always");
  EXPECT_STREQ(to_string(RestartPolicy::kExitCode), "ExitCode");
  EXPECT_STREQ(to_string(CleanPodPolicy::kAll), "All");
  EXPECT_STREQ(to_string(CleanPodPolicy::kRunning), "Running");
  EXPECT_STREQ(to_string(CleanPodPolicy::kNone), "None");
  EXPECT_STREQ(to_string(PlacementPolicy::kPack), "Pack");
  EXPECT_STREQ(to_string(PlacementPolicy::kSpread), "Spread");
  EXPECT_STREQ(to_string(PreemptionPolicy::kPreemptLowerPriority), "PreemptLowerPriority");
  EXPECT_STREQ(to_string(PreemptionPolicy::kNever), "Never");
}

const char* kJob = R"(
apiVersion: cadre/v1
kind: Job
metadata: {name: hello, namespace: lab, labels: {a: b}}
spec:
  activeDeadlineSeconds: 60
  template: {command: [sh, -c], args: [echo hi], resources: {gpu: 1}}
)";

TEST(ToTrainJob, RunsAJobAsOneMainReplicaThatIsNeverRestarted) {
  auto manifest = parse_manifest(kJob);
  ASSERT_OK(manifest);
  ASSERT_TRUE(manifest->job.has_value());
  EXPECT_FALSE(manifest->train_job.has_value());
  const TrainJobSpec gang = to_train_job(*manifest->job);
  EXPECT_EQ(gang.metadata.name, "hello");
  EXPECT_EQ(gang.metadata.ns, "lab");
  EXPECT_EQ(gang.metadata.labels.at("a"), "b");
  ASSERT_EQ(gang.replica_specs.size(), 1u);
  EXPECT_EQ(gang.replica_specs[0].type, "Main");
  EXPECT_EQ(gang.replica_specs[0].replicas, 1);
  EXPECT_EQ(gang.replica_specs[0].restart_policy, RestartPolicy::kNever);
  EXPECT_EQ(gang.replica_specs[0].tmpl.command, (std::vector<std::string>{"sh", "-c"}));
  EXPECT_EQ(gang.replica_specs[0].tmpl.resources.gpus, 1);
  EXPECT_EQ(gang.run_policy.backoff_limit, 0);
  EXPECT_EQ(gang.run_policy.active_deadline_seconds, 60);
  EXPECT_EQ(gang.run_policy.clean_pod_policy, CleanPodPolicy::kRunning);
  EXPECT_EQ(gang.success_policy, SuccessPolicy::kDefault);
  EXPECT_EQ(gang.total_replicas(), 1);
  EXPECT_NE(gang.find("Main"), nullptr);
}

TEST(Manifest, GangIsTheTrainJobItselfOrTheJobAsOneReplica) {
  auto train = parse_manifest(kFull);
  ASSERT_OK(train);
  EXPECT_EQ(train->gang().total_replicas(), 4);
  EXPECT_EQ(train->gang().run_policy.backoff_limit, 3);
  auto job = parse_manifest(kJob);
  ASSERT_OK(job);
  EXPECT_EQ(job->gang().replica_specs.at(0).type, "Main");
  EXPECT_EQ(job->gang().run_policy.backoff_limit, 0);
}

}  // namespace
}  // namespace cadre::spec::train_job_spec_test
