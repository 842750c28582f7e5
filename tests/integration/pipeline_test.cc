// Kubeflow Pipelines v2 specs, as the KFP compiler writes them, run on a real local
// cluster: steps are real jobs on real agents, outputs the files they write; the
// coordinator is killed mid-run once.
#include <fstream>
#include <set>
#include <thread>

#include "tests/integration/local_cluster.h"
#include "tests/pipelines/kfp_specs.h"

namespace cadre::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class Pipelines : public LocalCluster {
 protected:
  std::string up_flags() const override { return fixed_ports_flags(); }

  void apply_spec(const std::string& file) const {
    auto applied = apply(read_kfp_spec(file));
    ASSERT_EQ(applied.exit_code, 0) << applied.output;
  }
  CommandResult run(const std::string& args) const { return cadre("run " + args); }
  CommandResult wait_for(const std::string& run, const std::string& state, int seconds = 60) const {
    return cadre("wait run/" + run + " --for " + state + " --timeout " + std::to_string(seconds));
  }
  json run_json(const std::string& name) const { return get_json("run " + name); }
  // The run's tasks by id.
  std::map<std::string, json> tasks(const json& run) const {
    std::map<std::string, json> out;
    for (const auto& t : run.at("tasks")) out[t.at("id").get<std::string>()] = t;
    return out;
  }
  std::string task_folder(const std::string& run, const std::string& task) const {
    return path("state/checkpoints/default/_pipelines/" + run + "/" + task);
  }
};

TEST_F(Pipelines, AProducerPassesAnArtifactToItsConsumer) {
  apply_spec("two_step.yaml");
  ASSERT_EQ(
      run("pipeline/two-step-pipeline -p text='four words right here' --name words").exit_code, 0);
  auto done = wait_for("words", "Succeeded");
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run words").output;
  const json r = run_json("words");
  EXPECT_EQ(r.at("outputs"), json({{"words", 4}}));
  auto t = tasks(r);
  EXPECT_EQ(t.at("consumer").at("outputs"), json({{"words", 4}}));
  const std::string uri = t.at("producer").at("outputArtifacts")[0].at("uri");
  ASSERT_EQ(uri.rfind("file://", 0), 0u) << uri;
  EXPECT_EQ(read_file(uri.substr(7)), "four words right here\n");
  EXPECT_EQ(r.at("steps").at("succeeded"), 2);
  // The same spec again is not a new version; a changed one is.
  EXPECT_NE(apply(read_kfp_spec("two_step.yaml")).output.find("unchanged"), std::string::npos);
}

TEST_F(Pipelines, TheExamplePipelineTrainsPublishesOnlyWhenAccurateEnoughAndReRunsFromCache) {
  auto applied =
      cadre("apply -f " + std::string(CADRE_SOURCE_DIR) + "/examples/pipeline-fmnist-mlp.yaml");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_EQ(run("pipeline/fmnist-mlp --name trained").exit_code, 0);
  auto done = wait_for("trained", "Succeeded", 180);
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run trained").output;
  const json r = run_json("trained");
  const double accuracy = r.at("outputs").at("accuracy");
  EXPECT_GT(accuracy, 0.8);
  auto t = tasks(r);
  // The published model is the trained one, byte for byte.
  std::string model;
  for (const auto& a : t.at("train").at("outputArtifacts")) {
    if (a.at("name") == "model") model = a.at("uri");
    if (a.at("name") == "metrics") {
      EXPECT_EQ(a.at("metadata").at("accuracy"), accuracy);
    }
  }
  ASSERT_FALSE(model.empty());
  const std::string published = t.at("condition-1/publish").at("outputArtifacts")[0].at("uri");
  const std::string model_bytes = read_file(model.substr(7));
  EXPECT_GT(model_bytes.size(), 1000u);
  EXPECT_TRUE(read_file(published.substr(7)) == model_bytes);
  // Lineage from the published model reaches the training step's parameters and the
  // data step, with every edge.
  auto lineage = cadre("lineage artifact/" + published);
  ASSERT_EQ(lineage.exit_code, 0) << lineage.output;
  EXPECT_NE(lineage.output.find("produced by run/trained step condition-1/publish"),
            std::string::npos)
      << lineage.output;
  EXPECT_NE(lineage.output.find("produced by run/trained step train"), std::string::npos);
  EXPECT_NE(lineage.output.find("parameters: epochs=2 files=4 train_limit=10000"),
            std::string::npos)
      << lineage.output;
  EXPECT_NE(lineage.output.find("after run/trained step check-data"), std::string::npos);
  const json graph = json::parse(cadre("lineage artifact/" + published + " -o json").output);
  std::set<std::string> steps;
  for (const auto& e : graph.at("executions")) steps.insert(e.at("task").get<std::string>());
  EXPECT_EQ(steps, (std::set<std::string>{"condition-1/publish", "train", "check-data"}));
  std::set<std::string> edges;
  for (const auto& e : graph.at("edges")) {
    edges.insert(e.at("from").get<std::string>() + " -> " + e.at("to").get<std::string>() + " " +
                 e.at("artifact").get<std::string>());
  }
  EXPECT_EQ(edges, (std::set<std::string>{
                       "trained/condition-1/publish ->  " + published,
                       "trained/train -> trained/condition-1/publish " + model,
                       "trained/check-data -> trained/train ",
                   }));
  auto downstream = cadre("lineage artifact/" + model + " --downstream");
  EXPECT_NE(downstream.output.find("consumed by run/trained step condition-1/publish"),
            std::string::npos)
      << downstream.output;
  EXPECT_NE(cadre("lineage artifact/file:///nowhere").output.find("no run produced or used"),
            std::string::npos);
  // A threshold the model misses skips the publish step; training comes from the cache.
  ASSERT_EQ(run("pipeline/fmnist-mlp -p threshold=0.99 --name strict").exit_code, 0);
  ASSERT_EQ(wait_for("strict", "Succeeded").exit_code, 0);
  auto strict = tasks(run_json("strict"));
  EXPECT_EQ(strict.at("train").at("cached"), true);
  EXPECT_EQ(strict.at("condition-1").at("state"), "SKIPPED");
  EXPECT_EQ(strict.count("condition-1/publish"), 0u);
  // Side by side: the parameters differ, the metric (from the Metrics artifact) does not.
  auto compared = cadre("compare runs trained strict");
  ASSERT_EQ(compared.exit_code, 0) << compared.output;
  const auto threshold = compared.output.find("parameter threshold");
  ASSERT_NE(threshold, std::string::npos) << compared.output;
  const std::string row =
      compared.output.substr(threshold, compared.output.find('\n', threshold) - threshold);
  EXPECT_NE(row.find("0.8"), std::string::npos) << row;
  EXPECT_NE(row.find("0.99"), std::string::npos) << row;
  EXPECT_NE(compared.output.find("metric train.accuracy"), std::string::npos) << compared.output;
  auto compared_json = json::parse(cadre("compare runs trained strict -o json").output);
  EXPECT_EQ(compared_json[1].at("parameters").at("threshold"), 0.99);
  EXPECT_DOUBLE_EQ(compared_json[0].at("metrics").at("train.accuracy").get<double>(), accuracy);
}

TEST_F(Pipelines, ARunAgainReusesCachedStepsEvenAfterACoordinatorRestart) {
  apply_spec("two_step.yaml");
  ASSERT_EQ(run("pipeline/two-step-pipeline --name first").exit_code, 0);
  ASSERT_EQ(wait_for("first", "Succeeded").exit_code, 0);
  // The cache is rebuilt from the stored runs.
  kill9_and_restart_coordinator();
  ASSERT_EQ(run("pipeline/two-step-pipeline --name again").exit_code, 0);
  auto done = wait_for("again", "Succeeded", 60);
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run again").output;
  const json r = run_json("again");
  EXPECT_EQ(r.at("steps").at("cached"), 2);
  EXPECT_EQ(r.at("outputs"), json({{"words", 2}}));
  auto t = tasks(r);
  EXPECT_EQ(t.at("consumer").at("cachedFrom"), "first/consumer");
  EXPECT_EQ(t.at("consumer").at("job"), "");
  EXPECT_NE(cadre("describe run again").output.find("cached from first/producer"),
            std::string::npos);
  // --no-cache runs every step again.
  ASSERT_EQ(run("pipeline/two-step-pipeline --no-cache --name fresh").exit_code, 0);
  ASSERT_EQ(wait_for("fresh", "Succeeded").exit_code, 0);
  EXPECT_EQ(run_json("fresh").at("steps").at("cached"), 0);
  EXPECT_EQ(tasks(run_json("fresh")).at("consumer").at("job"), "fresh-2");
}

TEST_F(Pipelines, ARunMadeAgainUnderADeletedRunsNameStartsFromAnEmptyFolder) {
  apply_spec("two_step.yaml");
  ASSERT_EQ(run("pipeline/two-step-pipeline -p text='one two' --name again").exit_code, 0);
  ASSERT_EQ(wait_for("again", "Succeeded").exit_code, 0);
  const std::string stale = task_folder("again", "producer") + "/stale-checkpoint";
  std::ofstream(stale) << "from the deleted run\n";
  ASSERT_EQ(cadre("delete run/again").exit_code, 0);
  ASSERT_EQ(run("pipeline/two-step-pipeline -p text='three four five' --name again").exit_code, 0);
  auto done = wait_for("again", "Succeeded");
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run again").output;
  EXPECT_EQ(run_json("again").at("outputs"), json({{"words", 3}}));
  EXPECT_FALSE(std::filesystem::exists(stale));
  // The deleted run's files are kept beside, not lost.
  bool kept = false;
  for (const auto& entry :
       std::filesystem::directory_iterator(path("state/checkpoints/default/_pipelines"))) {
    kept |= entry.path().filename().string().rfind("again.replaced-", 0) == 0 &&
            std::filesystem::exists(entry.path() / "producer" / "stale-checkpoint");
  }
  EXPECT_TRUE(kept);
}

TEST_F(Pipelines, AConditionRunsOneBranchAndSkipsTheOther) {
  apply_spec("flip_coin.yaml");
  ASSERT_EQ(run("pipeline/flip-coin-pipeline --name heads").exit_code, 0);
  ASSERT_EQ(run("pipeline/flip-coin-pipeline -p side=tails --name tails").exit_code, 0);
  for (const std::string side : {"heads", "tails"}) {
    auto done = wait_for(side, "Succeeded");
    ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run " + side).output;
    auto t = tasks(run_json(side));
    const bool heads = side == "heads";
    EXPECT_EQ(t.at("flip-coin").at("outputs").at("Output"), side);
    EXPECT_EQ(t.at("condition-1").at("state"), heads ? "SUCCEEDED" : "SKIPPED");
    EXPECT_EQ(t.at("condition-2").at("state"), heads ? "SKIPPED" : "SUCCEEDED");
    EXPECT_EQ(t.count("condition-1/print-msg"), heads ? 1u : 0u);
    EXPECT_EQ(t.count("condition-2/print-msg-2"), heads ? 0u : 1u);
  }
  auto log = cadre("logs run/tails --task print-msg-2");
  EXPECT_EQ(log.exit_code, 0) << log.output;
  EXPECT_EQ(log.output, "tails\n");
}

TEST_F(Pipelines, ParallelForFansOutOverLiteralAndUpstreamListsAndCollectsOutputs) {
  apply_spec("parallel_for.yaml");
  ASSERT_EQ(run("pipeline/parallel-for-pipeline --name loops").exit_code, 0);
  auto done = wait_for("loops", "Succeeded");
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run loops").output;
  const json r = run_json("loops");
  EXPECT_EQ(r.at("outputs"), json({{"Output", 12}}));
  auto t = tasks(r);
  EXPECT_EQ(t.at("for-loop-2").at("outputs"),
            json({{"pipelinechannel--double-Output", {2, 4, 6}}}));
  for (int i = 0; i < 4; ++i) {
    const std::string id = "for-loop-4/" + std::to_string(i) + "/print-item";
    ASSERT_TRUE(t.count(id)) << id;
    auto log = cadre("logs run/loops --task " + id);
    EXPECT_EQ(log.output, std::string(1, static_cast<char>('a' + i)) + "\n");
  }
  EXPECT_EQ(r.at("steps").at("succeeded"), 9);
}

TEST_F(Pipelines, AnExitHandlerRunsAfterAFailedStepAndTheRunFails) {
  apply_spec("exit_handler.yaml");
  ASSERT_EQ(run("pipeline/pipeline-with-exit-handler --name exits").exit_code, 0);
  auto waited = wait_for("exits", "Succeeded");
  EXPECT_NE(waited.exit_code, 0);
  EXPECT_NE(waited.output.find("ended FAILED"), std::string::npos) << waited.output;
  auto t = tasks(run_json("exits"));
  EXPECT_EQ(t.at("exit-handler-1/fail-op").at("state"), "FAILED");
  EXPECT_EQ(t.at("exit-handler-1/print-op-2").at("state"), "SUCCEEDED");
  EXPECT_EQ(t.at("exit-handler-1").at("state"), "FAILED");
  EXPECT_EQ(t.at("print-op").at("state"), "SUCCEEDED");
  EXPECT_EQ(cadre("logs run/exits --task fail-op").output, "Task failed.\n");
}

TEST_F(Pipelines, AFlakyStepIsRetriedWithBackoffInItsOwnFolder) {
  apply_spec("retry.yaml");
  ASSERT_EQ(run("pipeline/retry-pipeline --name flaky").exit_code, 0);
  auto done = wait_for("flaky", "Succeeded");
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run flaky").output;
  auto t = tasks(run_json("flaky"));
  EXPECT_EQ(t.at("flaky").at("attempts"), 3);
  EXPECT_EQ(t.at("flaky").at("outputs").at("attempts"), 3);
  // Past its retries, the run fails and says after how many attempts.
  ASSERT_EQ(run("pipeline/retry-pipeline -p failures=9 --name hopeless").exit_code, 0);
  EXPECT_EQ(wait_for("hopeless", "Failed").exit_code, 0);
  EXPECT_NE(tasks(run_json("hopeless"))
                .at("flaky")
                .at("message")
                .get<std::string>()
                .find("after 4 attempts"),
            std::string::npos);
}

TEST_F(Pipelines, ARetriedRunRunsItsFailedStepAgainInTheSameFolder) {
  apply_spec("retry.yaml");
  // Fails its first 5 tries; 4 attempts (maxRetryCount 3) are not enough.
  ASSERT_EQ(run("pipeline/retry-pipeline -p failures=5 --name second-chance").exit_code, 0);
  ASSERT_EQ(wait_for("second-chance", "Failed").exit_code, 0);
  EXPECT_NE(cadre("retry run/nope").output.find("run/nope not found"), std::string::npos);
  auto retried = cadre("retry run/second-chance");
  ASSERT_EQ(retried.exit_code, 0) << retried.output;
  EXPECT_NE(retried.output.find("run/second-chance retried (1 tasks run again)"), std::string::npos)
      << retried.output;
  auto done = wait_for("second-chance", "Succeeded");
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run second-chance").output;
  auto t = tasks(run_json("second-chance"));
  // Tries 5 and 6: the step counts its tries in its folder, which a retry keeps.
  EXPECT_EQ(t.at("flaky").at("attempts"), 2);
  EXPECT_EQ(t.at("flaky").at("outputs").at("attempts"), 6);
  EXPECT_EQ(t.at("flaky").at("job"), "second-chance-6");
  // A run that succeeded cannot be retried.
  EXPECT_NE(cadre("retry run/second-chance").output.find("only a FAILED run can be retried"),
            std::string::npos);
}

TEST_F(Pipelines, BadSpecsAndParametersAreRefusedWithWhatWasWrong) {
  // The producer made to depend on its consumer.
  std::string cyclic = read_kfp_spec("two_step.yaml");
  const std::string anchor = "        componentRef:\n          name: comp-producer\n";
  cyclic.replace(cyclic.find(anchor), anchor.size(),
                 anchor + "        dependentTasks:\n        - consumer\n");
  auto refused = apply(cyclic);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("root.dag.tasks: the tasks 'consumer', 'producer' depend on each "
                                "other in a cycle"),
            std::string::npos)
      << refused.output;
  apply_spec("sleep_steps.yaml");
  auto missing = run("pipeline/sleep-steps --name r1");
  EXPECT_NE(missing.output.find("parameter 'seconds' (NUMBER_INTEGER) is required"),
            std::string::npos)
      << missing.output;
  auto typed = run("pipeline/sleep-steps -p seconds=soon --name r1");
  EXPECT_NE(typed.output.find("spec.parameters.seconds: 'soon' is not a NUMBER_INTEGER value"),
            std::string::npos)
      << typed.output;
  auto unknown = run("pipeline/sleep-steps -p seconds=1 -p second=2 --name r1");
  EXPECT_NE(unknown.output.find("has no parameter 'second' (it has: seconds)"), std::string::npos)
      << unknown.output;
  EXPECT_NE(run("pipeline/nope --name r1").output.find("pipeline/nope not found"),
            std::string::npos);
  EXPECT_NE(cadre("get runs").output.find("No runs found"), std::string::npos);
}

TEST_F(Pipelines, ACoordinatorKilledMidRunContinuesWithoutRunningAStepTwice) {
  apply_spec("sleep_steps.yaml");
  ASSERT_EQ(run("pipeline/sleep-steps -p seconds=2 --name survive").exit_code, 0);
  ASSERT_TRUE(eventually([&] { return job_phase("survive-1") == "Running"; }, 20s));
  kill9_and_restart_coordinator();
  auto done = wait_for("survive", "Succeeded", 90);
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run survive").output;
  // Each step started once: its folder's "starts" has one line.
  EXPECT_EQ(read_file(task_folder("survive", "first") + "/starts"), "started\n");
  EXPECT_EQ(read_file(task_folder("survive", "second") + "/starts"), "started\n");
  auto t = tasks(run_json("survive"));
  EXPECT_EQ(t.at("first").at("attempts"), 1);
  EXPECT_EQ(t.at("second").at("job"), "survive-2");
}

TEST_F(Pipelines, DeletingARunStopsItsStepsAndRemovesItsJobs) {
  apply_spec("sleep_steps.yaml");
  ASSERT_EQ(run("pipeline/sleep-steps -p seconds=60 --name doomed").exit_code, 0);
  ASSERT_TRUE(eventually([&] { return job_phase("doomed-1") == "Running"; }, 20s));
  auto deleted = cadre("delete run/doomed");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_NE(cadre("get run doomed").output.find("run/doomed not found"), std::string::npos);
  EXPECT_EQ(job_phase("doomed-1"), "");
  // With no run left, the pipeline can go too.
  EXPECT_EQ(cadre("delete pipeline/sleep-steps").exit_code, 0);
  EXPECT_NE(cadre("get pipelines").output.find("No pipelines found"), std::string::npos);
}

// The quickstart's pipeline: prepare → TrainJob (2 ring workers) → evaluate →
// deploy as an InferenceService when accurate enough, with an exit handler.
TEST_F(Pipelines, TheFmnistPipelineTrainsAsATrainJobAndDeploysAServiceLineageCanTraceBack) {
  auto applied =
      cadre("apply -f " + std::string(CADRE_SOURCE_DIR) + "/examples/fmnist-pipeline.yaml");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_EQ(run("pipeline/fmnist-pipeline -p epochs=2 -p threshold=0.8 -p service=fmnist-p "
                "--name deployed")
                .exit_code,
            0);
  auto done = wait_for("deployed", "Succeeded", 240);
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run deployed").output;
  auto t = tasks(run_json("deployed"));

  // The train step ran as a TrainJob of two workers, and reported its metrics.
  const std::string train_job = t.at("exit-handler-1/train").at("job");
  const json trainjob = get_json("trainjob " + train_job);
  EXPECT_EQ(trainjob.at("kind"), "TrainJob");
  EXPECT_EQ(trainjob.at("replicas").size(), 2u);
  // describe run names it as describe takes it.
  const std::string train_ref = t.at("exit-handler-1/train").at("workload");
  EXPECT_EQ(train_ref, "trainjob/" + train_job);
  EXPECT_EQ(cadre("describe " + train_ref).exit_code, 0);
  EXPECT_NE(cadre("describe run deployed").output.find("  trainjob/" + train_job + "\n"),
            std::string::npos);
  // Its log is rank 0's, which prints the epochs; or the replica asked for.
  const auto chief_log = cadre("logs run/deployed --task train");
  EXPECT_EQ(chief_log.exit_code, 0) << chief_log.output;
  EXPECT_NE(chief_log.output.find("epoch="), std::string::npos) << chief_log.output;
  const auto other_log = cadre("logs run/deployed --task train --replica worker-1");
  EXPECT_EQ(other_log.exit_code, 0) << other_log.output;
  EXPECT_EQ(other_log.output.find("epoch="), std::string::npos) << other_log.output;
  const double trained = t.at("exit-handler-1/train").at("outputs").at("accuracy");
  const double evaluated = t.at("exit-handler-1/evaluate").at("outputs").at("accuracy");
  EXPECT_GT(evaluated, 0.8);
  // The evaluate step scored the exported model on the same test set the chief did.
  EXPECT_NEAR(trained, evaluated, 1e-3);
  for (const auto& a : t.at("exit-handler-1/train").at("outputArtifacts")) {
    if (a.at("name") == "metrics") {
      EXPECT_TRUE(a.at("metadata").contains("images_per_sec"));
    }
  }

  // The deploy step applied the service and waited until it served.
  const auto& deploy = t.at("exit-handler-1/condition-2/deploy");
  EXPECT_EQ(deploy.at("job"), "inferenceservice/fmnist-p");
  EXPECT_EQ(deploy.at("workload"), "inferenceservice/fmnist-p");
  const json service = get_json("isvc fmnist-p");
  EXPECT_EQ(service.at("ready"), true);
  EXPECT_EQ(deploy.at("outputs").at("url"), service.at("url"));
  EXPECT_EQ(t.at("report").at("state"), "SUCCEEDED");

  // From the served model back to the training parameters and the data step.
  auto lineage = cadre("lineage isvc/fmnist-p");
  ASSERT_EQ(lineage.exit_code, 0) << lineage.output;
  EXPECT_NE(lineage.output.find("produced by run/deployed step exit-handler-1/train"),
            std::string::npos)
      << lineage.output;
  EXPECT_NE(lineage.output.find("parameters: epochs=2 model=mlp workers=2"), std::string::npos)
      << lineage.output;
  EXPECT_NE(lineage.output.find("produced by run/deployed step exit-handler-1/prepare"),
            std::string::npos)
      << lineage.output;

  // Again: every job comes from the cache; the deploy applies (unchanged) and serves.
  ASSERT_EQ(run("pipeline/fmnist-pipeline -p epochs=2 -p threshold=0.8 -p service=fmnist-p "
                "--name again")
                .exit_code,
            0);
  ASSERT_EQ(wait_for("again", "Succeeded", 60).exit_code, 0) << cadre("describe run again").output;
  auto again = tasks(run_json("again"));
  EXPECT_EQ(again.at("exit-handler-1/train").at("cached"), true);
  const auto cached_log = cadre("logs run/again --task train");
  EXPECT_NE(cached_log.exit_code, 0);
  EXPECT_NE(cached_log.output.find("reused the outputs of deployed/exit-handler-1/train and ran "
                                   "nothing; that execution's log: cadre logs run/deployed --task "
                                   "exit-handler-1/train"),
            std::string::npos)
      << cached_log.output;
  EXPECT_EQ(again.at("exit-handler-1/condition-2/deploy").at("cached"), false);
  EXPECT_EQ(again.at("exit-handler-1/condition-2/deploy").at("state"), "SUCCEEDED");
  EXPECT_EQ(get_json("isvc fmnist-p").at("latestCreatedRevision"), "fmnist-p-00001");
}

TEST_F(Pipelines, AWorkloadStepWhoseSpecIsWrongForItsParametersFailsWithTheField) {
  auto applied =
      cadre("apply -f " + std::string(CADRE_SOURCE_DIR) + "/examples/fmnist-pipeline.yaml");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_EQ(run("pipeline/fmnist-pipeline -p workers=0 --name none").exit_code, 0);
  ASSERT_EQ(wait_for("none", "Failed", 60).exit_code, 0) << cadre("describe run none").output;
  auto t = tasks(run_json("none"));
  const std::string why = t.at("exit-handler-1/train").at("message");
  EXPECT_NE(why.find("spec.replicaSpecs.Worker.replicas"), std::string::npos) << why;
  EXPECT_EQ(t.at("report").at("state"), "SUCCEEDED");  // the exit handler still reports
}

TEST_F(Pipelines, ATuningStepRunsAnExperimentAndPassesOnItsBestTrial) {
  apply_spec("tune_step.yaml");
  ASSERT_EQ(run("pipeline/tune-then-use --name tuned").exit_code, 0);
  auto done = wait_for("tuned", "Succeeded", 120);
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run tuned").output;
  auto t = tasks(run_json("tuned"));
  const json& tune = t.at("tune");
  EXPECT_EQ(tune.at("job"), "experiment/tuned-1");
  EXPECT_EQ(tune.at("outputs").at("x"), 0.9);
  EXPECT_EQ(tune.at("outputs").at("score"), 0.9);
  const std::string best = tune.at("outputs").at("best_trial");
  // The experiment is a real one, listed with its trials.
  const json experiment = get_json("experiment tuned-1");
  EXPECT_EQ(experiment.at("bestTrial").at("name"), best);
  // The model is the one the best trial exported, and the next step read it.
  const std::string model = tune.at("outputArtifacts")[0].at("uri");
  EXPECT_EQ(model, "file://" + path("state/checkpoints/default/" + best + "/model.cadre"));
  EXPECT_EQ(read_file(model.substr(7)), "x=0.9");
  auto logs = cadre("logs run/tuned --task use");
  EXPECT_NE(logs.output.find("best x=0.9, its model says x=0.9"), std::string::npos) << logs.output;
  // Deleting the run deletes the experiment it made, and the experiment's trials.
  ASSERT_EQ(cadre("delete run/tuned").exit_code, 0);
  EXPECT_NE(cadre("get experiment tuned-1").output.find("not found"), std::string::npos);
}

TEST_F(Pipelines, AStepPastItsKfpKubernetesTimeoutIsStoppedAndFails) {
  // The compiler's file as kfp-kubernetes' set_timeout(task, 1) leaves it: two
  // documents, which `cadre apply -f` keeps together.
  auto applied = apply(read_kfp_spec("sleep_steps.yaml") +
                       "---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n"
                       "        exec-sleep:\n          activeDeadlineSeconds: '1'\n");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_EQ(run("pipeline/sleep-steps -p seconds=30 --name late").exit_code, 0);
  auto done = wait_for("late", "Failed", 30);
  ASSERT_EQ(done.exit_code, 0) << done.output << cadre("describe run late").output;
  auto t = tasks(run_json("late"));
  const std::string why = t.at("first").at("message");
  EXPECT_NE(why.find("active deadline of 1s exceeded"), std::string::npos) << why;
  EXPECT_EQ(job_phase("late-1"), "Failed");
}

TEST_F(Pipelines, ARecurringRunStartsRunsOnScheduleAndNoneTwiceAcrossACoordinatorRestart) {
  apply_spec("two_step.yaml");
  auto applied = apply(
      "apiVersion: cadre/v1\nkind: RecurringRun\nmetadata:\n  name: every\nspec:\n"
      "  pipelineRef: {name: two-step-pipeline}\n  parameters: {text: on a schedule}\n"
      "  trigger:\n    periodicSchedule: {intervalSecond: 1}\n  maxConcurrency: 1\n");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  auto runs_of_schedule = [&] {
    std::set<std::string> names;
    for (const auto& r : get_json("runs")) {
      if (r.value("recurringRun", "") == "every") names.insert(r.at("name").get<std::string>());
    }
    return names;
  };
  ASSERT_TRUE(eventually([&] { return runs_of_schedule().size() >= 2; }, 20s))
      << cadre("describe rr every").output;
  kill9_and_restart_coordinator();
  const size_t before = runs_of_schedule().size();
  ASSERT_TRUE(eventually([&] { return runs_of_schedule().size() >= before + 2; }, 20s))
      << cadre("describe rr every").output;
  // Every run is one due time, each second at most once; each ran.
  const auto names = runs_of_schedule();
  for (const auto& name : names) EXPECT_EQ(name.rfind("every-2", 0), 0u) << name;
  const json rr = get_json("rr every");
  EXPECT_EQ(rr.at("mode"), "ENABLE");
  EXPECT_GE(rr.at("runsStarted").get<int>(), 3);
  auto first = run_json(*names.begin());
  EXPECT_EQ(first.at("recurringRun"), "every");
  EXPECT_EQ(first.at("parameters").at("text"), "on a schedule");

  // Deleted, it starts nothing more; its runs stay.
  ASSERT_EQ(cadre("delete rr/every").exit_code, 0);
  const size_t left = runs_of_schedule().size();
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(runs_of_schedule().size(), left);
  EXPECT_NE(cadre("get rr every").output.find("not found"), std::string::npos);
  // A schedule of a pipeline that is not there is refused at apply.
  auto orphan = apply(
      "apiVersion: cadre/v1\nkind: RecurringRun\nmetadata:\n  name: orphan\nspec:\n"
      "  pipelineRef: {name: nope}\n  trigger:\n    periodicSchedule: {intervalSecond: 60}\n");
  EXPECT_NE(orphan.output.find("spec.pipelineRef.name: pipeline/nope not found"), std::string::npos)
      << orphan.output;
}

}  // namespace
}  // namespace cadre::testing
