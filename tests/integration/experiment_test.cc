// Experiments on a real local cluster: trials are real jobs on real agents, their
// metrics the lines they print; the coordinator is killed mid-experiment once.
#include <fstream>
#include <map>
#include <set>

#include "tests/integration/local_cluster.h"

namespace cadre::testing {
namespace {

using namespace std::chrono_literals;

// An Experiment whose trials are Jobs running `command` with the template's
// placeholders. `parameters` and `algorithm` are YAML blocks at spec level.
std::string experiment(const std::string& name, const std::string& spec_fields,
                       const std::string& parameters, const std::string& trial_parameters,
                       const std::string& command, const std::string& objective = "accuracy",
                       const std::string& type = "maximize") {
  return "apiVersion: cadre/v1\nkind: Experiment\nmetadata:\n  name: " + name +
         "\nspec:\n  objective:\n    type: " + type + "\n    objectiveMetricName: " + objective +
         "\n" + spec_fields + "  parameters:\n" + parameters +
         "  trialTemplate:\n    retain: true\n    trialParameters:\n" + trial_parameters +
         "    trialSpec:\n      kind: Job\n      spec:\n        template:\n          command: " +
         command + "\n          resources: {cpu: 500m, memory: 512Mi}\n";
}

class Experiments : public LocalCluster {
 protected:
  std::string coordinator_yaml() const override {
    return "not-ready-after-ms: 2000\nlost-after-ms: 5000\nlease-ms: 4000\n";
  }
  std::string up_flags() const override { return fixed_ports_flags(); }

  CommandResult wait_for(const std::string& name, const std::string& phase, int seconds) const {
    return cadre("wait experiment/" + name + " --for " + phase + " --timeout " +
                 std::to_string(seconds));
  }
  nlohmann::json experiment_json(const std::string& name) const {
    return get_json("experiment " + name);
  }
  std::map<std::string, nlohmann::json> trials_by_name(const nlohmann::json& e) const {
    std::map<std::string, nlohmann::json> out;
    for (const auto& t : e.at("trials")) out[t.at("name").get<std::string>()] = t;
    return out;
  }
};

TEST_F(Experiments, TwoParallelCadreTrainTrialsFindABestTrialThatMatchesTheirOwnMetrics) {
  const std::string e = experiment(
      "fmnist-random",
      "  algorithm:\n    algorithmName: random\n    algorithmSettings:\n"
      "      - {name: random_state, value: \"5\"}\n"
      "  parallelTrialCount: 2\n  maxTrialCount: 3\n",
      "    - name: lr\n      parameterType: double\n"
      "      feasibleSpace: {min: \"0.005\", max: \"0.2\", distribution: logUniform}\n",
      "      - {name: lr, reference: lr}\n",
      "[cadre-train, --model, mlp, --epochs, \"2\", --train-limit, \"2000\", --threads, \"1\", "
      "--lr, \"${trialParameters.lr}\"]");
  ASSERT_EQ(apply(e).exit_code, 0);
  auto done = wait_for("fmnist-random", "Succeeded", 200);
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe experiment fmnist-random").output;

  const auto json = experiment_json("fmnist-random");
  EXPECT_EQ(json.at("reason"), "MaxTrialsReached");
  EXPECT_EQ(json.at("counts").at("trialsSucceeded"), 3);
  EXPECT_EQ(json.at("epochsConsumed"), 6);
  double best = -1;
  std::string best_name;
  for (const auto& t : json.at("trials")) {
    EXPECT_EQ(t.at("phase"), "Succeeded") << t.dump();
    EXPECT_EQ(t.at("curve").size(), 2u);
    // The trial's objective is its best accuracy line (strategy max).
    double max_curve = -1;
    for (const auto& p : t.at("curve"))
      max_curve = std::max(max_curve, p.at("value").get<double>());
    EXPECT_DOUBLE_EQ(t.at("objective").get<double>(), max_curve);
    if (max_curve > best) {
      best = max_curve;
      best_name = t.at("name");
    }
    // The job ran with the parameter the trial shows.
    const auto job = cadre("describe job " + t.at("name").get<std::string>());
    EXPECT_NE(job.output.find(t.at("parameters").at("lr").get<std::string>()), std::string::npos)
        << job.output;
  }
  EXPECT_EQ(json.at("bestTrial").at("name"), best_name);
  EXPECT_DOUBLE_EQ(json.at("bestTrial").at("objective").get<double>(), best);

  auto listed = cadre("get trials -l experiment=fmnist-random");
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_NE(listed.output.find("fmnist-random-3"), std::string::npos) << listed.output;
  auto one = cadre("get trials fmnist-random-3");
  EXPECT_EQ(one.exit_code, 0);
  EXPECT_NE(one.output.find("fmnist-random-3"), std::string::npos) << one.output;
  EXPECT_EQ(one.output.find("fmnist-random-1"), std::string::npos) << one.output;
  auto by_experiment = cadre("get trials fmnist-random");
  EXPECT_NE(by_experiment.exit_code, 0);
  EXPECT_NE(by_experiment.output.find("cadre get trials -l experiment=fmnist-random"),
            std::string::npos)
      << "an experiment's name where a trial's goes says how to list its trials: "
      << by_experiment.output;
  auto described = cadre("describe experiment fmnist-random");
  EXPECT_NE(described.output.find("Best Trial:"), std::string::npos) << described.output;
  EXPECT_NE(cadre("get experiments").output.find("MaxTrialsReached"), std::string::npos);
}

TEST_F(Experiments, AnAshaPromotedTrialResumesFromItsCheckpointPastItsPreviousRung) {
  const std::string e = experiment(
      "fmnist-asha",
      "  algorithm:\n    algorithmName: asha\n    algorithmSettings:\n"
      "      - {name: resource_name, value: epochs}\n"
      "      - {name: min_resource, value: \"1\"}\n"
      "      - {name: max_resource, value: \"3\"}\n"
      "      - {name: reduction_factor, value: \"3\"}\n"
      "      - {name: random_state, value: \"2\"}\n"
      "  parallelTrialCount: 1\n  maxTrialCount: 3\n",
      "    - name: lr\n      parameterType: double\n"
      "      feasibleSpace: {min: \"0.005\", max: \"0.2\", distribution: logUniform}\n"
      "    - name: epochs\n      parameterType: int\n      feasibleSpace: {min: \"1\", max: "
      "\"3\"}\n",
      "      - {name: lr, reference: lr}\n      - {name: epochs, reference: epochs}\n",
      "[cadre-train, --model, mlp, --epochs, \"${trialParameters.epochs}\", --train-limit, "
      "\"2000\", --threads, \"1\", --lr, \"${trialParameters.lr}\"]");
  ASSERT_EQ(apply(e).exit_code, 0);
  auto done = wait_for("fmnist-asha", "Succeeded", 200);
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe experiment fmnist-asha").output;
  const auto json = experiment_json("fmnist-asha");
  const nlohmann::json* promoted = nullptr;
  for (const auto& t : json.at("trials"))
    if (t.at("jobs").size() == 2) promoted = &t;
  ASSERT_NE(promoted, nullptr) << json.dump(2);
  const std::string second = promoted->at("jobs")[1];
  EXPECT_EQ(second, promoted->at("name").get<std::string>() + "-r1");
  // Its second job trained epochs 2 and 3 only: the first was in the checkpoint.
  auto log = cadre("logs job/" + second);
  ASSERT_EQ(log.exit_code, 0);
  const auto first_line = log.output.find("epoch=");
  ASSERT_NE(first_line, std::string::npos) << log.output;
  EXPECT_EQ(log.output.compare(first_line, 8, "epoch=2 "), 0) << log.output;
  EXPECT_EQ(promoted->at("epochs"), 3);
  EXPECT_EQ(promoted->at("epochsResumed"), 1);
  EXPECT_EQ(json.at("epochsConsumed"), 5) << "3 trials at 1 epoch, one resumed for 2 more";
}

TEST_F(Experiments, TrialsWithoutTheirObjectiveOrWithANaNEndAndTheExperimentStillFinishes) {
  const std::string e =
      experiment("no-stall", "  algorithm:\n    algorithmName: grid\n  parallelTrialCount: 3\n",
                 "    - name: mode\n      parameterType: categorical\n"
                 "      feasibleSpace: {list: [silent, nan, good]}\n",
                 "      - {name: mode, reference: mode}\n",
                 "[sh, -c, 'case ${trialParameters.mode} in silent) echo no metrics here;; "
                 "nan) echo epoch=1 accuracy=nan;; good) echo epoch=1 accuracy=0.5;; esac']");
  ASSERT_EQ(apply(e).exit_code, 0);
  auto done = wait_for("no-stall", "Succeeded", 60);
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe experiment no-stall").output;
  const auto json = experiment_json("no-stall");
  EXPECT_EQ(json.at("reason"), "SearchSpaceExhausted");
  std::map<std::string, std::pair<std::string, std::string>> by_mode;
  for (const auto& t : json.at("trials")) {
    by_mode[t.at("parameters").at("mode")] = {t.at("phase"), t.at("reason")};
  }
  EXPECT_EQ(by_mode["silent"].first, "MetricsUnavailable");
  EXPECT_EQ(by_mode["nan"], std::make_pair(std::string("Failed"), std::string("InvalidMetric")));
  EXPECT_EQ(by_mode["good"].first, "Succeeded");
  EXPECT_EQ(json.at("bestTrial").at("parameters").at("mode"), "good");
}

TEST_F(Experiments, AFailingTemplateFailsTheExperimentOnceFailuresPassTheLimit) {
  const std::string e = experiment(
      "broken",
      "  algorithm:\n    algorithmName: random\n  parallelTrialCount: 1\n"
      "  maxTrialCount: 10\n  maxFailedTrialCount: 1\n",
      "    - name: x\n      parameterType: double\n      feasibleSpace: {min: \"0\", max: \"1\"}\n",
      "      - {name: x, reference: x}\n", "[sh, -c, 'echo x=${trialParameters.x}; exit 2']");
  ASSERT_EQ(apply(e).exit_code, 0);
  auto done = wait_for("broken", "Failed", 60);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  const auto json = experiment_json("broken");
  EXPECT_EQ(json.at("reason"), "MaxFailedTrialsReached");
  EXPECT_EQ(json.at("counts").at("trialsFailed"), 2);
  EXPECT_EQ(json.at("counts").at("trials"), 2) << "no trial after the limit";
  auto wait_success = wait_for("broken", "Succeeded", 5);
  EXPECT_NE(wait_success.exit_code, 0);
  EXPECT_NE(wait_success.output.find("MaxFailedTrialsReached"), std::string::npos)
      << wait_success.output;
}

TEST_F(Experiments, MedianStoppingStopsATrialBuiltToBeClearlyWorse) {
  // Three good trials report every 0.2 s; the bad one every 0.6 s. A trial is
  // judged once 3 others reported its step: a good one never is (the bad one is
  // behind it), the bad one is as soon as it reaches start_step.
  const std::string e = experiment(
      "median",
      "  algorithm:\n    algorithmName: grid\n  parallelTrialCount: 4\n"
      "  earlyStopping:\n    algorithmName: medianstop\n    algorithmSettings:\n"
      "      - {name: min_trials_required, value: \"3\"}\n"
      "      - {name: start_step, value: \"2\"}\n",
      "    - name: q\n      parameterType: discrete\n"
      "      feasibleSpace: {list: [\"0.9\", \"0.91\", \"0.92\", \"0.1\"]}\n",
      "      - {name: q, reference: q}\n",
      "[sh, -c, 'd=0.2; [ ${trialParameters.q} = 0.1 ] && d=0.6; for i in 1 2 3 4 5 6 7 8; do "
      "sleep $d; echo epoch=$i accuracy=${trialParameters.q}; done']");
  ASSERT_EQ(apply(e).exit_code, 0);
  auto done = wait_for("median", "Succeeded", 90);
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe experiment median").output;
  const auto json = experiment_json("median");
  for (const auto& t : json.at("trials")) {
    const bool bad = t.at("parameters").at("q") == "0.1";
    EXPECT_EQ(t.at("phase"), bad ? "EarlyStopped" : "Succeeded") << t.dump();
    if (bad) {
      EXPECT_LT(t.at("curve").size(), 8u) << "stopped before it finished";
    }
  }
  EXPECT_EQ(json.at("counts").at("trialsEarlyStopped"), 1);
}

TEST_F(Experiments, CoordinatorKilledMidExperimentFinishesWithNoTrialRunTwice) {
  // Replicas run as an unprivileged user: their shared log lives in a folder they may write.
  const std::string runs_dir = path("runs");
  std::filesystem::create_directories(runs_dir);
  std::filesystem::permissions(runs_dir, std::filesystem::perms::all);
  const std::string runs = runs_dir + "/runs.txt";
  const std::string e = experiment(
      "survivor",
      "  algorithm:\n    algorithmName: random\n  parallelTrialCount: 2\n  maxTrialCount: 4\n",
      "    - name: x\n      parameterType: double\n      feasibleSpace: {min: \"0\", max: \"1\"}\n",
      "      - {name: x, reference: x}\n",
      "[sh, -c, 'echo $CADRE_JOB >> " + runs +
          "; sleep 2; echo epoch=1 accuracy=${trialParameters.x}']");
  ASSERT_EQ(apply(e).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(runs); }, 20s));
  const auto before = experiment_json("survivor");
  ASSERT_EQ(before.at("phase"), "Running");
  ASSERT_GE(before.at("counts").at("trialsRunning"), 1);
  kill9_and_restart_coordinator();
  auto done = wait_for("survivor", "Succeeded", 90);
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe experiment survivor").output;
  const auto json = experiment_json("survivor");
  EXPECT_EQ(json.at("counts").at("trials"), 4);
  EXPECT_EQ(json.at("counts").at("trialsSucceeded"), 4);
  std::map<std::string, int> started;
  std::ifstream in(runs);
  for (std::string job; std::getline(in, job);) ++started[job];
  EXPECT_EQ(started.size(), 4u);
  for (const auto& [job, count] : started) EXPECT_EQ(count, 1) << job << " ran twice";
  EXPECT_NE(read_file(path("logs/coordinator.log")).find("1 experiments, "), std::string::npos);
}

TEST_F(Experiments, FileAndPushCollectorsReadTheirSourceAndNotTheOutput) {
  // File, with Katib's JSON-like custom format; the output says something else.
  const std::string from_file = experiment(
      "from-file",
      "  algorithm:\n    algorithmName: grid\n  parallelTrialCount: 2\n"
      "  metricsCollectorSpec:\n    collector: {kind: File}\n    source:\n"
      "      fileSystemPath: {path: out/metrics.log}\n"
      "      filter:\n        metricsFormat:\n"
      "          - \"\\\\{metricName: ([\\\\w|-]+), metricValue: "
      "((-?\\\\d+)(\\\\.\\\\d+)?)\\\\}\"\n",
      "    - name: v\n      parameterType: discrete\n      feasibleSpace: {list: [\"1\", \"2\"]}\n",
      "      - {name: v, reference: v}\n",
      "[sh, -c, 'mkdir -p out; echo accuracy=99; "
      "echo \"{metricName: accuracy, metricValue: 0.${trialParameters.v}}\" >> out/metrics.log']");
  auto applied = apply(from_file);
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  // Push: lines sent to CADRE_METRICS_ADDR; the printed line is not the source.
  const std::string pushed = experiment(
      "pushed",
      "  algorithm:\n    algorithmName: grid\n  parallelTrialCount: 2\n"
      "  metricsCollectorSpec:\n    collector: {kind: Push}\n",
      "    - name: v\n      parameterType: discrete\n      feasibleSpace: {list: [\"3\", \"4\"]}\n",
      "      - {name: v, reference: v}\n",
      "[/usr/bin/python3, -c, 'import os, socket; print(\"accuracy=99\"); "
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
      "s.sendto(b\"epoch=1 accuracy=0.${trialParameters.v}\", "
      "os.environ[\"CADRE_METRICS_ADDR\"][len(\"unix://\"):])']");
  applied = apply(pushed);
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  for (const std::string name : {"from-file", "pushed"}) {
    auto done = wait_for(name, "Succeeded", 60);
    ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe experiment " + name).output;
  }
  EXPECT_DOUBLE_EQ(experiment_json("from-file").at("bestTrial").at("objective").get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(experiment_json("pushed").at("bestTrial").at("objective").get<double>(), 0.4);
}

// A stand-in for Katib's mxnet-mnist program: the same flags, the same output
// lines, an accuracy that peaks at lr 0.02.
constexpr char kKatibMnistStandIn[] = R"(import argparse, math, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
p.add_argument("--num-epochs", type=int, default=3)
p.add_argument("--num-layers", type=int, default=2)
p.add_argument("--batch-size", type=int, default=64)
p.add_argument("--optimizer", default="sgd")
a = p.parse_args()
for epoch in range(a.num_epochs):
    time.sleep(0.1)
    acc = 0.9 - 0.1 * abs(math.log(a.lr / 0.02)) + 0.01 * epoch
    print("Epoch[%d] Train-accuracy=%.4f" % (epoch, acc + 0.02), flush=True)
    print("Epoch[%d] Validation-accuracy=%.4f" % (epoch, acc), flush=True)
)";

TEST_F(Experiments, KatibsOwnExamplesRunAsTranslated) {
  const std::string stand_in = path("mnist.py");
  std::ofstream(stand_in) << kKatibMnistStandIn;
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all |
                                         std::filesystem::perms::group_exec |
                                         std::filesystem::perms::others_exec);
  std::filesystem::permissions(stand_in, std::filesystem::perms::owner_all |
                                             std::filesystem::perms::others_read |
                                             std::filesystem::perms::group_read);
  for (const std::string example : {"random", "median-stop", "hyperband"}) {
    std::string text =
        read_file(std::string(CADRE_SOURCE_DIR) + "/examples/katib/" + example + ".yaml");
    // Only the program's path changes: Katib's lives in its container image.
    const std::string katib_path = "/opt/mxnet-mnist/mnist.py";
    text.replace(text.find(katib_path), katib_path.size(), stand_in);
    auto applied = apply(text);
    ASSERT_EQ(applied.exit_code, 0) << example << ": " << applied.output;
  }
  for (const std::string example : {"random", "median-stop", "hyperband"}) {
    auto done = wait_for(example, "Succeeded", 120);
    ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe experiment " + example).output;
    const auto json = experiment_json(example);
    EXPECT_GT(json.at("counts").at("trialsSucceeded").get<int>(), 0) << json.dump(2);
    EXPECT_TRUE(json.at("bestTrial").at("metrics").contains("Train-accuracy")) << json.dump(2);
  }
  EXPECT_EQ(experiment_json("random").at("counts").at("trials"), 12);
}

TEST_F(Experiments, BadSpecsAreRefusedWithTheFieldPathAndDeleteRemovesTheTrials) {
  auto bad = apply(experiment("bad", "  algorithm:\n    algorithmName: hyperband\n",
                              "    - name: x\n      parameterType: double\n"
                              "      feasibleSpace: {min: \"2\", max: \"1\"}\n",
                              "      - {name: x, reference: x}\n",
                              "[sh, -c, 'echo ${trialParameters.x}']"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("spec.parameters[0].feasibleSpace"), std::string::npos) << bad.output;

  const std::string e = experiment(
      "doomed", "  algorithm:\n    algorithmName: random\n  parallelTrialCount: 2\n",
      "    - name: x\n      parameterType: double\n      feasibleSpace: {min: \"0\", max: \"1\"}\n",
      "      - {name: x, reference: x}\n", "[sh, -c, 'sleep 60; echo x=${trialParameters.x}']");
  ASSERT_EQ(apply(e).exit_code, 0);
  EXPECT_EQ(apply(e).output.find("unchanged") != std::string::npos, true);
  ASSERT_TRUE(eventually([&] { return job_phase("doomed-2") == "Running"; }, 20s));
  auto deleted = cadre("delete experiment/doomed");
  EXPECT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_NE(cadre("get experiment doomed").exit_code, 0);
  EXPECT_NE(cadre("get job doomed-1").exit_code, 0) << "its trial jobs went with it";
}

}  // namespace
}  // namespace cadre::testing
