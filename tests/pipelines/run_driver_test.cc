#include "pipelines/run_driver.h"

#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <deque>
#include <functional>
#include <set>

#include "protocol/spec/manifest.h"
#include "tests/pipelines/kfp_specs.h"

namespace cadre::pipelines {
namespace {

using nlohmann::json;
using protocol::PipelineRunStatus;
using protocol::PipelineState;
using protocol::PipelineTaskStatus;

DriverOptions test_options() {
  DriverOptions o;
  o.run_dir = "/runs/r";
  o.run_folder = "_pipelines/r";
  return o;
}

// What a simulated step does: succeed (with these files) or fail.
struct StepResult {
  bool succeeded = true;
  TaskOutputFiles files;
  json reported = json::object();  // the job's final metrics (a service's url, ...)
};
using Program = std::function<StepResult(const TaskLaunch&, const PipelineTaskStatus&)>;

// Runs a pipeline through the driver with steps simulated in memory, one event
// at a time, as the supervisor would feed it.
class Harness {
 public:
  Harness(const std::string& file, json parameters = json::object(),
          std::map<std::string, CachedExecution>* cache = nullptr, const std::string& name = "r") {
    auto m = spec::parse_manifest(file.rfind("examples/", 0) == 0
                                      ? cadre::testing::read_example(file.substr(9))
                                      : cadre::testing::read_kfp_spec(file));
    EXPECT_TRUE(m.ok()) << m.status().to_string();
    spec_ = m->pipeline;
    DriverOptions options = test_options();
    options.run_dir = "/runs/" + name;
    options.run_folder = "_pipelines/" + name;
    if (cache) {
      options.cache = [cache](const std::string& fp) -> const CachedExecution* {
        auto it = cache->find(fp);
        return it == cache->end() ? nullptr : &it->second;
      };
    }
    driver_ = std::make_unique<RunDriver>(spec_, options);
    run.name = name;
    run.created_ms = now;
    for (const auto& [name, def] : spec_->root.inputs.parameters) {
      if (!parameters.contains(name) && def.default_value) parameters[name] = *def.default_value;
    }
    run.parameters = parameters.dump();
  }

  void take(DriverActions a) {
    for (auto& e : a.executions) executions.push_back(std::move(e));
    for (auto& l : a.launches) launches.push_back(std::move(l));
    for (auto& r : a.reads) reads.push_back(std::move(r));
    for (auto& s : a.stop_jobs) stopped.push_back(std::move(s));
    for (auto& m : a.metrics) logged.push_back(std::move(m));
  }

  // Runs until nothing is left to do (or `max_steps` jobs ran).
  void run_all(const Program& program, int max_steps = 1000) {
    take(driver_->advance(run, now));
    while ((!launches.empty() || !reads.empty()) && max_steps-- > 0) {
      if (!reads.empty()) {
        OutputRead read = reads.front();
        reads.pop_front();
        take(driver_->on_outputs(run, read.task_id, files_[read.task_id], ++now));
        continue;
      }
      TaskLaunch launch = launches.front();
      launches.pop_front();
      ++jobs_run;
      peak_running = std::max(peak_running, running_count());
      const PipelineTaskStatus& task = *find(launch.task_id);
      StepResult result = program(launch, task);
      files_[launch.task_id] = result.files;
      take(driver_->on_job_finished(run, launch.job, result.succeeded,
                                    result.succeeded ? "" : "exit code 1", result.reported, ++now));
      if (auto retry = driver_->next_retry_ms(run); retry && launches.empty() && reads.empty()) {
        now = *retry;
        take(driver_->advance(run, now));
      }
    }
  }

  void cancel() { take(driver_->cancel(run, "the run was deleted", ++now)); }

  const PipelineTaskStatus* find(const std::string& id) const {
    for (const auto& t : run.tasks) {
      if (t.id == id) return &t;
    }
    return nullptr;
  }
  PipelineState state_of(const std::string& id) const {
    const auto* t = find(id);
    EXPECT_TRUE(t) << id;
    return t ? t->state : PipelineState::kPending;
  }
  json outputs_of(const std::string& id) const { return json::parse(find(id)->outputs); }
  int running_count() const {
    int n = 0;
    for (const auto& t : run.tasks) {
      n += t.kind == protocol::PipelineTaskKind::kIteration && t.state == PipelineState::kRunning;
    }
    return n;
  }

  PipelineRunStatus run;
  int64_t now = 1000;
  std::deque<TaskLaunch> launches;
  std::deque<OutputRead> reads;
  std::vector<std::string> stopped;
  std::vector<CachedExecution> executions;
  std::vector<StepMetrics> logged;
  int jobs_run = 0;
  int peak_running = 0;

 private:
  std::shared_ptr<const spec::PipelineSpec> spec_;
  std::unique_ptr<RunDriver> driver_;
  std::map<std::string, TaskOutputFiles> files_;
};

StepResult writes(std::map<std::string, std::string> parameters) {
  StepResult r;
  r.files.parameters = std::move(parameters);
  return r;
}

// The user's argv: what follows the prepare script's "cadre-task".
std::vector<std::string> argv_of(const TaskLaunch& l) { return l.replica.args; }

TEST(RunDriver, PassesAnArtifactFromProducerToConsumer) {
  Harness h("two_step.yaml", {{"text", "three little words"}});
  std::string artifact_path;
  h.run_all([&](const TaskLaunch& l, const PipelineTaskStatus& t) {
    EXPECT_EQ(l.replica.command[0], "/bin/sh");
    if (t.name == "producer") {
      artifact_path = argv_of(l).back();
      EXPECT_EQ(argv_of(l)[3], "three little words");
      EXPECT_EQ(artifact_path, "/runs/r/producer/artifacts/dataset");
      EXPECT_EQ(l.folder, "_pipelines/r/producer");
      return StepResult{};
    }
    EXPECT_EQ(argv_of(l)[3], artifact_path);  // the consumer reads where the producer wrote
    EXPECT_EQ(argv_of(l)[4], "/runs/r/consumer/parameters/words");
    return writes({{"words", "3\n"}});
  });
  EXPECT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
  EXPECT_EQ(h.outputs_of("consumer"), json({{"words", 3}}));
  EXPECT_EQ(json::parse(h.run.outputs), json({{"words", 3}}));
  ASSERT_EQ(h.find("consumer")->input_artifacts.size(), 1u);
  EXPECT_EQ(h.find("consumer")->input_artifacts[0].uri, "file://" + artifact_path);
  EXPECT_EQ(h.run.tasks_succeeded, 2);
}

TEST(RunDriver, RunsTheTrueBranchOfAConditionAndSkipsTheOther) {
  for (const std::string side : {"heads", "tails"}) {
    Harness h("flip_coin.yaml", {{"side", side}});
    h.run_all([&](const TaskLaunch&, const PipelineTaskStatus& t) {
      if (t.name == "flip-coin") return writes({{"Output", side}});
      return StepResult{};
    });
    EXPECT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
    const bool heads = side == "heads";
    EXPECT_EQ(h.state_of("condition-1"),
              heads ? PipelineState::kSucceeded : PipelineState::kSkipped);
    EXPECT_EQ(h.state_of("condition-2"),
              heads ? PipelineState::kSkipped : PipelineState::kSucceeded);
    EXPECT_EQ(h.find(heads ? "condition-1/print-msg" : "condition-2/print-msg-2") != nullptr, true);
    EXPECT_EQ(h.find(heads ? "condition-2/print-msg-2" : "condition-1/print-msg"), nullptr);
    EXPECT_NE(h.find(heads ? "condition-2" : "condition-1")->message.find("condition is false"),
              std::string::npos);
    // The skipped branch's step never became a task, and still counts as skipped.
    EXPECT_EQ(h.run.tasks_skipped, 1);
    EXPECT_EQ(h.run.tasks_succeeded, 2);  // flip-coin and the branch taken
  }
}

TEST(RunDriver, FansOutLoopsWithinTheirParallelismAndCollectsTheOutputs) {
  Harness h("parallel_for.yaml");
  std::vector<std::string> printed;
  h.run_all([&](const TaskLaunch& l, const PipelineTaskStatus& t) {
    const json in = json::parse(t.inputs);
    if (t.name == "double") return writes({{"Output", std::to_string(2 * in["num"].get<int>())}});
    if (t.name == "add") {
      EXPECT_EQ(in["nums"], json::parse("[2, 4, 6]"));
      return writes({{"Output", "12"}});
    }
    if (t.name == "make-list") return writes({{"Output", "[\"a\", \"b\", \"c\", \"d\"]\n"}});
    printed.push_back(argv_of(l).back());
    return StepResult{};
  });
  EXPECT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
  EXPECT_EQ(json::parse(h.run.outputs), json({{"Output", 12}}));
  EXPECT_EQ(h.outputs_of("for-loop-2"), json({{"pipelinechannel--double-Output", {2, 4, 6}}}));
  EXPECT_EQ(printed, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(h.state_of("for-loop-4/3/print-item"), PipelineState::kSucceeded);
  // for-loop-4 allows two iterations at once; for-loop-2 three.
  EXPECT_LE(h.peak_running, 2 + 3);
  EXPECT_EQ(h.run.tasks_succeeded, 3 + 1 + 1 + 4);
}

TEST(RunDriver, ParallelismLimitHoldsIterationsBack) {
  Harness h("parallel_for.yaml");
  h.take(DriverActions{});
  // Finish make-list, then look at how many print iterations start at once.
  RunDriver driver(
      spec::parse_manifest(cadre::testing::read_kfp_spec("parallel_for.yaml"))->pipeline,
      test_options());
  auto a = driver.advance(h.run, 1);
  std::string make_list_job;
  for (const auto& l : a.launches) {
    if (l.task_id == "make-list") make_list_job = l.job;
  }
  ASSERT_FALSE(make_list_job.empty());
  driver.on_job_finished(h.run, make_list_job, true, "", json::object(), 2);
  TaskOutputFiles files;
  files.parameters["Output"] = "[\"a\", \"b\", \"c\", \"d\"]";
  auto after = driver.on_outputs(h.run, "make-list", files, 3);
  int print_launches = 0;
  for (const auto& l : after.launches) print_launches += l.task_id.rfind("for-loop-4/", 0) == 0;
  EXPECT_EQ(print_launches, 2);
  EXPECT_EQ(h.find("for-loop-4/2"), nullptr);
}

TEST(RunDriver, ExitHandlerRunsAfterAFailureAndTheRunFails) {
  Harness h("exit_handler.yaml");
  h.run_all([&](const TaskLaunch&, const PipelineTaskStatus& t) {
    StepResult r;
    r.succeeded = t.name != "fail-op";
    return r;
  });
  EXPECT_EQ(h.run.state, PipelineState::kFailed);
  EXPECT_EQ(h.state_of("exit-handler-1/fail-op"), PipelineState::kFailed);
  EXPECT_EQ(h.state_of("exit-handler-1/print-op-2"), PipelineState::kSucceeded);
  EXPECT_EQ(h.state_of("exit-handler-1"), PipelineState::kFailed);
  EXPECT_EQ(h.state_of("print-op"), PipelineState::kSucceeded);
  EXPECT_NE(h.run.message.find("exit-handler-1"), std::string::npos) << h.run.message;
}

TEST(RunDriver, RetriesWithBackoffUntilTheStepSucceeds) {
  Harness h("retry.yaml");
  int attempt = 0;
  std::vector<int64_t> starts;
  h.run_all([&](const TaskLaunch&, const PipelineTaskStatus& t) {
    starts.push_back(t.started_ms);
    if (++attempt <= 2) return StepResult{false, {}};
    return writes({{"attempts", "3"}});
  });
  EXPECT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
  EXPECT_EQ(h.find("flaky")->attempts, 3);
  EXPECT_EQ(h.find("flaky")->job, "r-3");
  ASSERT_EQ(starts.size(), 3u);
  // 0.2 s after the first failure, 0.4 s after the second.
  EXPECT_GE(starts[1] - starts[0], 200);
  EXPECT_GE(starts[2] - starts[1], 400);
}

TEST(RunDriver, RetryRunsWhatFailedAndWhatItGuardsButNoSucceededStepAgain) {
  Harness h("exit_handler.yaml");
  bool broken = true;
  std::vector<std::string> ran;
  auto program = [&](const TaskLaunch&, const PipelineTaskStatus& t) {
    ran.push_back(t.id);
    StepResult r;
    r.succeeded = !(broken && t.name == "fail-op");
    return r;
  };
  h.run_all(program);
  ASSERT_EQ(h.run.state, PipelineState::kFailed);
  RunDriver driver(
      spec::parse_manifest(cadre::testing::read_kfp_spec("exit_handler.yaml"))->pipeline,
      test_options());
  // Only a FAILED run can be retried.
  protocol::PipelineRunStatus fine = h.run;
  fine.state = PipelineState::kSucceeded;
  EXPECT_FALSE(driver.retry(fine, h.now, nullptr).ok());

  broken = false;
  ran.clear();
  const std::string kept_job = h.find("exit-handler-1/print-op-2")->job;
  int32_t reset = 0;
  auto retried = driver.retry(h.run, ++h.now, &reset);
  ASSERT_TRUE(retried.ok()) << retried.status().to_string();
  // fail-op, its DAG, and the exit handler downstream of it.
  EXPECT_EQ(reset, 3);
  EXPECT_EQ(h.run.state, PipelineState::kRunning);
  h.take(std::move(*retried));
  h.run_all(program);
  EXPECT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
  EXPECT_EQ(ran, (std::vector<std::string>{"exit-handler-1/fail-op", "print-op"}));
  EXPECT_EQ(h.find("exit-handler-1/print-op-2")->job, kept_job);  // kept from the first try
}

TEST(RunDriver, GivesUpAfterMaxRetryCountAttempts) {
  Harness h("retry.yaml", {{"failures", 10}});
  h.run_all([&](const TaskLaunch&, const PipelineTaskStatus&) { return StepResult{false, {}}; });
  EXPECT_EQ(h.run.state, PipelineState::kFailed);
  EXPECT_EQ(h.find("flaky")->attempts, 4);
  EXPECT_NE(h.find("flaky")->message.find("after 4 attempts"), std::string::npos);
}

TEST(RunDriver, AMissingOrMalformedOutputFailsTheStepWithThatReason) {
  {
    Harness h("two_step.yaml");
    h.run_all([&](const TaskLaunch&, const PipelineTaskStatus&) { return StepResult{}; });
    EXPECT_EQ(h.run.state, PipelineState::kFailed);
    EXPECT_EQ(h.find("consumer")->message,
              "output parameter 'words' was not written (/runs/r/consumer/parameters/words) "
              "and its job reported no metric 'words'");
  }
  {
    Harness h("two_step.yaml");
    h.run_all([&](const TaskLaunch&, const PipelineTaskStatus& t) {
      return t.name == "consumer" ? writes({{"words", "many"}}) : StepResult{};
    });
    EXPECT_EQ(h.run.state, PipelineState::kFailed);
    EXPECT_NE(h.find("consumer")->message.find("'many' is not a NUMBER_INTEGER value"),
              std::string::npos)
        << h.find("consumer")->message;
  }
}

TEST(RunDriver, ExecutorOutputFileOverridesParametersAndCarriesArtifactMetadata) {
  Harness h("two_step.yaml");
  h.run_all([&](const TaskLaunch&, const PipelineTaskStatus& t) {
    StepResult r;
    if (t.name == "producer") {
      r.files.executor_output =
          R"({"artifacts": {"dataset": {"artifacts": [{"metadata": {"rows": 3}}]}}})";
    } else {
      r.files.executor_output = R"({"parameterValues": {"words": 7}})";
    }
    return r;
  });
  EXPECT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
  EXPECT_EQ(h.outputs_of("consumer")["words"], 7);
  EXPECT_EQ(json::parse(h.find("producer")->output_artifacts[0].metadata), json({{"rows", 3}}));
}

TEST(RunDriver, CancelStopsRunningJobsAndEndsTheRunCanceled) {
  Harness h("parallel_for.yaml");
  RunDriver driver(
      spec::parse_manifest(cadre::testing::read_kfp_spec("parallel_for.yaml"))->pipeline,
      test_options());
  auto started = driver.advance(h.run, 1);
  ASSERT_EQ(started.launches.size(), 4u);  // three doubles and make-list
  auto canceled = driver.cancel(h.run, "deleted by a user", 2);
  EXPECT_EQ(canceled.stop_jobs.size(), 4u);
  EXPECT_EQ(h.run.state, PipelineState::kCanceled);
  EXPECT_EQ(h.state_of("make-list"), PipelineState::kCanceled);
  // A job ending after the cancel changes nothing.
  auto late = driver.on_job_finished(h.run, started.launches[0].job, true, "", json::object(), 3);
  EXPECT_FALSE(late.changed);
}

TEST(RunDriver, ANewDriverOverTheStoredRecordContinuesWithoutRunningAStepTwice) {
  Harness h("two_step.yaml");
  auto spec = spec::parse_manifest(cadre::testing::read_kfp_spec("two_step.yaml"))->pipeline;
  auto first = RunDriver(spec, test_options()).advance(h.run, 1);
  ASSERT_EQ(first.launches.size(), 1u);
  // "Restart": a second driver sees the producer running and starts nothing new.
  RunDriver second(spec, test_options());
  EXPECT_TRUE(second.advance(h.run, 2).launches.empty());
  auto relaunch = second.launch_of(h.run, *h.find("producer"));
  ASSERT_TRUE(relaunch.ok());
  EXPECT_EQ(relaunch->job, first.launches[0].job);
  EXPECT_EQ(relaunch->replica.args, first.launches[0].replica.args);
}

TEST(RunDriver, AWrongTypedInputFailsTheTaskWithItsName) {
  Harness h("parallel_for.yaml");
  h.run_all([&](const TaskLaunch&, const PipelineTaskStatus& t) {
    if (t.name == "make-list") return writes({{"Output", "not a list"}});
    if (t.name == "double") return writes({{"Output", "2"}});
    return writes({{"Output", "1"}});
  });
  EXPECT_EQ(h.run.state, PipelineState::kFailed);
  EXPECT_NE(h.find("make-list")->message.find("'not a list' is not a LIST value"),
            std::string::npos)
      << h.find("make-list")->message;
}

TEST(RunDriver, HostileOutputBytesNeitherCrashNorSlipThrough) {
  // Invalid UTF-8, a NUL and a huge number as a step's outputs.
  Harness h("flip_coin.yaml");
  h.run_all([&](const TaskLaunch&, const PipelineTaskStatus& t) {
    if (t.name == "flip-coin") return writes({{"Output", std::string("\xff\xfe\0heads", 8)}});
    return StepResult{};
  });
  EXPECT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
  // The value is kept (bad bytes replaced), and the condition compares it as text.
  EXPECT_EQ(h.state_of("condition-2"), PipelineState::kSucceeded);
  EXPECT_FALSE(json::parse(h.find("flip-coin")->outputs).at("Output").get<std::string>().empty());

  Harness n("two_step.yaml");
  n.run_all([&](const TaskLaunch&, const PipelineTaskStatus& t) {
    return t.name == "consumer" ? writes({{"words", "99999999999999999999999"}}) : StepResult{};
  });
  EXPECT_EQ(n.run.state, PipelineState::kFailed);
  EXPECT_NE(n.find("consumer")->message.find("is not a NUMBER_INTEGER value"), std::string::npos);
}

TEST(RunDriverCache, ASecondRunReusesEveryStepsOutputsWithoutRunningThem) {
  std::map<std::string, CachedExecution> cache;
  auto program = [](const TaskLaunch&, const PipelineTaskStatus& t) {
    return t.name == "consumer" ? writes({{"words", "2"}}) : StepResult{};
  };
  Harness first("two_step.yaml", {{"text", "two words"}}, &cache);
  first.run_all(program);
  ASSERT_EQ(first.run.state, PipelineState::kSucceeded);
  ASSERT_EQ(first.executions.size(), 2u);
  for (const auto& e : first.executions) cache[e.fingerprint] = e;

  Harness second("two_step.yaml", {{"text", "two words"}}, &cache, "r2");
  second.run_all(program);
  EXPECT_EQ(second.run.state, PipelineState::kSucceeded);
  EXPECT_EQ(second.jobs_run, 0);
  EXPECT_TRUE(second.find("consumer")->cached);
  EXPECT_EQ(second.find("consumer")->cached_from, "r/consumer");
  EXPECT_EQ(json::parse(second.run.outputs), json({{"words", 2}}));
  EXPECT_EQ(second.run.tasks_cached, 2);

  // Another input misses; so does a run with caching off.
  Harness other("two_step.yaml", {{"text", "three words here"}}, &cache, "r3");
  other.run_all(program);
  EXPECT_EQ(other.jobs_run, 2);
  Harness off("two_step.yaml", {{"text", "two words"}}, &cache, "r4");
  off.run.caching = false;
  off.run_all(program);
  EXPECT_EQ(off.jobs_run, 2);
}

TEST(RunDriverCache, AStepWithCachingDisabledAlwaysRuns) {
  std::map<std::string, CachedExecution> cache;
  auto program = [](const TaskLaunch&, const PipelineTaskStatus& t) {
    return t.name == "flip-coin" ? writes({{"Output", "heads"}}) : StepResult{};
  };
  Harness first("flip_coin.yaml", json::object(), &cache);
  first.run_all(program);
  for (const auto& e : first.executions) cache[e.fingerprint] = e;
  Harness second("flip_coin.yaml", json::object(), &cache, "r2");
  second.run_all(program);
  // flip-coin has cachingOptions: {} (KFP: off); print-msg has enableCache: true.
  EXPECT_FALSE(second.find("flip-coin")->cached);
  EXPECT_TRUE(second.find("condition-1/print-msg")->cached);
  EXPECT_EQ(second.jobs_run, 1);
}

TEST(RunDriverCache, TheFingerprintCoversInputsAndExecutorButNotNames) {
  auto spec = spec::parse_manifest(cadre::testing::read_kfp_spec("flip_coin.yaml"))->pipeline;
  // comp-print-msg and comp-print-msg-2 are the same step under two names.
  EXPECT_EQ(task_fingerprint(*spec, "comp-print-msg", R"({"msg":"x"})", {}),
            task_fingerprint(*spec, "comp-print-msg-2", R"({"msg":"x"})", {}));
  EXPECT_NE(task_fingerprint(*spec, "comp-print-msg", R"({"msg":"x"})", {}),
            task_fingerprint(*spec, "comp-print-msg", R"({"msg":"y"})", {}));
  EXPECT_NE(task_fingerprint(*spec, "comp-print-msg", R"({"msg":"x"})", {}),
            task_fingerprint(*spec, "comp-flip-coin", R"({"side":"x"})", {}));
}

// ---- Cadre workloads as steps (examples/fmnist-pipeline.yaml) ----

// What the quickstart pipeline's steps report: the train job's and the evaluate
// job's final metrics, and the deployed service's address.
StepResult fmnist_step(const TaskLaunch& launch, const PipelineTaskStatus& task, double accuracy) {
  StepResult r;
  if (task.name == "train") {
    r.files.artifacts = {"model"};  // cadre-train --export wrote it
    r.reported = {{"accuracy", accuracy - 0.01}, {"loss", 0.4}, {"epoch", 3}};
  } else if (task.name == "evaluate") {
    r.reported = {{"accuracy", accuracy}, {"loss", 0.35}, {"test_images", 10000}};
  } else if (task.name == "deploy") {
    r.reported = {{"name", launch.workload_name},
                  {"url", "http://127.0.0.1:8080/v2/models/" + launch.workload_name},
                  {"revision", launch.workload_name + "-00001"}};
  }
  return r;
}

TEST(RunDriverWorkloads, RunsEachStepAsItsKindWithPlaceholdersSubstitutedInItsSpec) {
  Harness h("examples/fmnist-pipeline.yaml", {{"workers", 3}, {"service", "fmnist-a"}});
  std::map<std::string, TaskLaunch> seen;
  h.run_all([&](const TaskLaunch& l, const PipelineTaskStatus& t) {
    seen[t.name] = l;
    return fmnist_step(l, t, 0.9);
  });
  ASSERT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;

  const TaskLaunch& train = seen.at("train");
  EXPECT_EQ(train.kind, "TrainJob");
  const YAML::Node spec = YAML::Load(train.workload_spec);
  EXPECT_EQ(spec["replicaSpecs"]["Worker"]["replicas"].as<std::string>(), "3");
  const YAML::Node tmpl = spec["replicaSpecs"]["Worker"]["template"];
  // Every replica runs under the step's preparation, then its own command.
  EXPECT_EQ(tmpl["command"][0].as<std::string>(), "/bin/sh");
  EXPECT_EQ(tmpl["command"][3].as<std::string>(), "cadre-task");
  EXPECT_EQ(tmpl["command"][4].as<std::string>(), "cadre-train");
  std::vector<std::string> args;
  for (const auto& a : tmpl["args"]) args.push_back(a.as<std::string>());
  const std::string data = h.find("exit-handler-1/prepare")->output_artifacts[0].uri.substr(7);
  EXPECT_NE(std::find(args.begin(), args.end(), data), args.end()) << data;
  EXPECT_EQ(args.back(), "/runs/r/exit-handler-1/train/artifacts/model");
  bool named = false;
  for (const auto& e : tmpl["env"]) {
    named = named || (e["name"].as<std::string>() == "CADRE_PIPELINE_TASK" &&
                      e["value"].as<std::string>() == "exit-handler-1/train");
  }
  EXPECT_TRUE(named);
  EXPECT_EQ(seen.at("evaluate").kind, "Job");

  const TaskLaunch& deploy = seen.at("deploy");
  EXPECT_EQ(deploy.kind, "InferenceService");
  EXPECT_EQ(deploy.workload_name, "fmnist-a");
  EXPECT_EQ(deploy.job, "inferenceservice/fmnist-a");
  EXPECT_EQ(YAML::Load(deploy.workload_spec)["predictor"]["model"]["storageUri"].as<std::string>(),
            "file:///runs/r/exit-handler-1/train/artifacts/model");
  // The record keeps each step's kind beside its job, for describe and lineage.
  EXPECT_EQ(h.find("exit-handler-1/prepare")->workload_kind, "Job");
  EXPECT_EQ(h.find("exit-handler-1/train")->workload_kind, "TrainJob");
  EXPECT_EQ(h.find("exit-handler-1/condition-2/deploy")->workload_kind, "InferenceService");
  EXPECT_EQ(h.find("exit-handler-1/condition-2/deploy")->job, "inferenceservice/fmnist-a");
  // Jobs are numbered for the run's own jobs only: prepare, train, evaluate, report.
  EXPECT_EQ(h.run.next_job, 5);
  EXPECT_EQ(h.run.outputs, R"({"accuracy":0.9})");
}

TEST(RunDriverWorkloads, OutputsNotWrittenAsFilesComeFromWhatTheJobReported) {
  Harness h("examples/fmnist-pipeline.yaml");
  h.run_all(
      [&](const TaskLaunch& l, const PipelineTaskStatus& t) { return fmnist_step(l, t, 0.9); });
  ASSERT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
  EXPECT_EQ(h.outputs_of("exit-handler-1/train")["accuracy"], 0.89);
  EXPECT_EQ(h.outputs_of("exit-handler-1/evaluate")["accuracy"], 0.9);
  // KFP's Metrics artifact holds the job's final metrics.
  const auto* evaluate = h.find("exit-handler-1/evaluate");
  ASSERT_EQ(evaluate->output_artifacts.size(), 1u);
  EXPECT_EQ(json::parse(evaluate->output_artifacts[0].metadata),
            json({{"accuracy", 0.9}, {"loss", 0.35}, {"test_images", 10000}}));
  EXPECT_EQ(h.outputs_of("exit-handler-1/condition-2/deploy"),
            json({{"revision", "fmnist-pipeline-00001"},
                  {"url", "http://127.0.0.1:8080/v2/models/fmnist-pipeline"}}));
}

TEST(RunDriverWorkloads, MetricsAStepLoggedButItsJobNeverPrintedGoToTheJobToo) {
  Harness h("examples/fmnist-pipeline.yaml");
  h.run_all([&](const TaskLaunch& l, const PipelineTaskStatus& t) {
    StepResult r = fmnist_step(l, t, 0.9);
    if (t.name == "evaluate") {
      // log_metric wrote these; the job printed accuracy (the same) and loss.
      r.files.executor_output =
          R"({"artifacts": {"metrics": {"artifacts": [{"metadata": )"
          R"({"accuracy": 0.9, "auc": 0.97, "f1": 0.88, "note": "text"}}]}}})";
    }
    return r;
  });
  ASSERT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
  const auto* evaluate = h.find("exit-handler-1/evaluate");
  ASSERT_EQ(h.logged.size(), 1u) << "only the step that logged something new";
  EXPECT_EQ(h.logged[0].job, evaluate->job);
  EXPECT_EQ(h.logged[0].values, (std::map<std::string, double>{{"auc", 0.97}, {"f1", 0.88}}))
      << "printed names keep their own series; text is not a metric";
}

TEST(RunDriverWorkloads, BelowTheThresholdNothingIsDeployedAndTheExitHandlerStillReports) {
  Harness h("examples/fmnist-pipeline.yaml");
  std::set<std::string> ran;
  h.run_all([&](const TaskLaunch& l, const PipelineTaskStatus& t) {
    ran.insert(t.name);
    return fmnist_step(l, t, 0.8);
  });
  EXPECT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
  EXPECT_EQ(h.state_of("exit-handler-1/condition-2"), PipelineState::kSkipped);
  EXPECT_FALSE(ran.count("deploy"));
  EXPECT_TRUE(ran.count("report"));
  EXPECT_EQ(h.run.tasks_skipped, 1) << "deploy, inside the false condition";
  EXPECT_EQ(h.run.tasks_succeeded, 4);
}

TEST(RunDriverWorkloads, AModelNeitherWrittenNorExportedFailsTheStepWithWhy) {
  Harness h("examples/fmnist-pipeline.yaml");
  h.run_all([&](const TaskLaunch& l, const PipelineTaskStatus& t) {
    StepResult r = fmnist_step(l, t, 0.9);
    if (t.name == "train") r.files.artifacts.clear();
    return r;
  });
  EXPECT_EQ(h.run.state, PipelineState::kFailed);
  EXPECT_NE(
      h.find("exit-handler-1/train")
          ->message.find(
              "output artifact 'model' was not written (/runs/r/exit-handler-1/train/artifacts/"
              "model) and its job exported no model"),
      std::string::npos)
      << h.find("exit-handler-1/train")->message;
  EXPECT_EQ(h.state_of("report"), PipelineState::kSucceeded);  // the exit handler runs anyway
}

TEST(RunDriverWorkloads, AModelTheJobExportedToItsCheckpointFolderIsTheStepsModel) {
  Harness h("examples/fmnist-pipeline.yaml");
  h.run_all([&](const TaskLaunch& l, const PipelineTaskStatus& t) {
    StepResult r = fmnist_step(l, t, 0.9);
    if (t.name == "train") {
      r.files.artifacts.clear();
      r.files.exported_model = "/runs/r/exit-handler-1/train/model.cadre";
    }
    return r;
  });
  ASSERT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
  const auto* deploy = h.find("exit-handler-1/condition-2/deploy");
  ASSERT_EQ(deploy->input_artifacts.size(), 1u);
  EXPECT_EQ(deploy->input_artifacts[0].uri, "file:///runs/r/exit-handler-1/train/model.cadre");
}

TEST(RunDriverWorkloads, ADeployedServiceOutlivesACanceledRun) {
  Harness h("examples/fmnist-pipeline.yaml");
  // prepare, train and evaluate run; the deploy is launched and left running.
  h.run_all(
      [&](const TaskLaunch& l, const PipelineTaskStatus& t) { return fmnist_step(l, t, 0.9); }, 6);
  ASSERT_EQ(h.launches.size(), 1u);
  EXPECT_EQ(h.launches[0].job, "inferenceservice/fmnist-pipeline");
  h.cancel();
  EXPECT_EQ(h.run.state, PipelineState::kCanceled);
  EXPECT_TRUE(h.stopped.empty());
}

TEST(RunDriverWorkloads, AServiceThatDoesNotBecomeReadyFailsTheDeployStep) {
  Harness h("examples/fmnist-pipeline.yaml");
  h.run_all([&](const TaskLaunch& l, const PipelineTaskStatus& t) {
    StepResult r = fmnist_step(l, t, 0.9);
    r.succeeded = t.name != "deploy";
    return r;
  });
  EXPECT_EQ(h.run.state, PipelineState::kFailed);
  EXPECT_EQ(h.state_of("exit-handler-1/condition-2/deploy"), PipelineState::kFailed);
}

TEST(RunDriverWorkloads, ACachedReRunStillAppliesItsDeployButRunsNoJob) {
  std::map<std::string, CachedExecution> cache;
  Harness first("examples/fmnist-pipeline.yaml", json::object(), &cache);
  first.run_all(
      [&](const TaskLaunch& l, const PipelineTaskStatus& t) { return fmnist_step(l, t, 0.9); });
  ASSERT_EQ(first.run.state, PipelineState::kSucceeded);
  for (const auto& e : first.executions) cache[e.fingerprint] = e;

  Harness second("examples/fmnist-pipeline.yaml", json::object(), &cache, "r2");
  std::vector<std::string> ran;
  second.run_all([&](const TaskLaunch& l, const PipelineTaskStatus& t) {
    ran.push_back(l.kind + " " + t.name);
    return fmnist_step(l, t, 0.9);
  });
  EXPECT_EQ(second.run.state, PipelineState::kSucceeded);
  // The report has caching off (as the spec says); the deploy is never reused.
  EXPECT_EQ(ran, (std::vector<std::string>{"InferenceService deploy", "Job report"}));
  EXPECT_TRUE(second.find("exit-handler-1/train")->cached);
  EXPECT_FALSE(second.find("exit-handler-1/condition-2/deploy")->cached);
}

TEST(RunDriverWorkloads, ATuningStepsOutputsAreItsBestTrialsParametersMetricsAndModel) {
  Harness h("tune_step.yaml");
  std::map<std::string, TaskLaunch> seen;
  h.run_all([&](const TaskLaunch& l, const PipelineTaskStatus& t) {
    seen[t.name] = l;
    StepResult r;
    if (t.name == "tune") {
      // As the supervisor reports a Succeeded experiment: values as the trial had them.
      r.reported = {{"x", "0.9"}, {"score", 0.9}, {"best_trial", "r-1-2"}};
      r.files.exported_model = "/runs/r-1-2/model.cadre";
    }
    return r;
  });
  ASSERT_EQ(h.run.state, PipelineState::kSucceeded) << h.run.message;
  const TaskLaunch& tune = seen.at("tune");
  EXPECT_EQ(tune.kind, "Experiment");
  EXPECT_EQ(tune.job, "experiment/r-1");
  EXPECT_EQ(tune.workload_name, "r-1");
  EXPECT_EQ(YAML::Load(tune.workload_spec)["maxTrialCount"].as<std::string>(), "3");
  EXPECT_EQ(h.outputs_of("tune"), json({{"best_trial", "r-1-2"}, {"score", 0.9}, {"x", 0.9}}));
  EXPECT_EQ(h.find("use")->input_artifacts[0].uri, "file:///runs/r-1-2/model.cadre");
  EXPECT_EQ(h.run.next_job, 3);  // the experiment r-1, then use's job r-2
}

TEST(RunDriverWorkloads, ATuningStepLooksForItsModelInTheBestTrialsFolder) {
  auto m = spec::parse_manifest(cadre::testing::read_kfp_spec("tune_step.yaml"));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  DriverOptions o = test_options();
  o.run_dir = "/ckpt/team-a/_pipelines/r";
  RunDriver driver(m->pipeline, o);
  PipelineTaskStatus t;
  t.id = "tune";
  t.component = "comp-tune";
  t.job = "experiment/r-1";
  t.reported = R"({"best_trial": "r-1-2", "x": "0.9"})";
  const OutputRead read = driver.read_of(t);
  EXPECT_TRUE(read.find_exported_model);
  EXPECT_EQ(read.model_dir, "/ckpt/team-a/r-1-2");
  // A name that would leave the namespace's folder is not looked in.
  t.reported = R"({"best_trial": ".."})";
  EXPECT_FALSE(driver.read_of(t).find_exported_model);
}

}  // namespace
}  // namespace cadre::pipelines
