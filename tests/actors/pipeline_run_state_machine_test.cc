#include "actors/pipeline_run_state_machine.h"

#include <gtest/gtest.h>

#include "protocol/spec/manifest.h"
#include "tests/pipelines/kfp_specs.h"

namespace cadre::actors::pipeline_run_state_machine_test {
namespace {

namespace fx = pipeline_run_effect;
using protocol::JobPhase;
using protocol::PipelineState;

std::shared_ptr<const spec::PipelineSpec> spec_of(const std::string& file) {
  auto m = spec::parse_manifest(cadre::testing::read_kfp_spec(file));
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m->pipeline;
}

protocol::PipelineRunStatus new_run(const std::string& parameters = "{\"text\": \"hi\"}") {
  protocol::PipelineRunStatus r;
  r.name = "r";
  r.ns = "default";
  r.pipeline = "two-step-pipeline";
  r.pipeline_version = 1;
  r.parameters = parameters;
  r.created_ms = 1000;
  return r;
}

template <typename E>
std::vector<E> all(const PipelineRunEffects& effects) {
  std::vector<E> out;
  for (const auto& e : effects) {
    if (const auto* x = std::get_if<E>(&e)) out.push_back(*x);
  }
  return out;
}

// Answers every Persist with success, returning the effects released by it.
PipelineRunEffects store_all(PipelineRunStateMachine& m, const PipelineRunEffects& effects) {
  PipelineRunEffects out;
  for (const auto& p : all<fx::Persist>(effects)) {
    auto released = m.on_stored(p.seq, Status::Ok());
    out.insert(out.end(), released.begin(), released.end());
  }
  return out;
}

protocol::JobStatus job(const std::string& name, JobPhase phase) {
  protocol::JobStatus j;
  j.name = name;
  j.phase = phase;
  return j;
}

PipelineRunMachineOptions options() {
  PipelineRunMachineOptions o;
  o.now_ms = [] { return int64_t{5000}; };
  o.checkpoint_root = "/ckpt";
  return o;
}

TEST(PipelineRunStateMachine, CreatesAStepsJobOnlyAfterTheRecordNamingItIsStored) {
  PipelineRunStateMachine m(new_run(), spec_of("two_step.yaml"), options());
  auto created = m.create();
  EXPECT_TRUE(all<fx::CreateJob>(created).empty());
  ASSERT_EQ(all<fx::Persist>(created).size(), 1u);
  EXPECT_EQ(m.record().tasks.at(0).job, "r-1");
  auto released = store_all(m, created);
  auto jobs = all<fx::CreateJob>(released);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job, "r-1");
  EXPECT_EQ(jobs[0].folder, "_pipelines/r/producer");
  EXPECT_NE(jobs[0].yaml.find("kind: Job"), std::string::npos);
  EXPECT_NE(jobs[0].yaml.find("/ckpt/default/_pipelines/r/producer/artifacts/dataset"),
            std::string::npos)
      << jobs[0].yaml;
  // The rendered job is a valid manifest.
  EXPECT_TRUE(spec::parse_manifest(jobs[0].yaml).ok()) << jobs[0].yaml;
}

TEST(PipelineRunStateMachine, AStepsTimeoutBecomesItsJobsActiveDeadline) {
  auto m = spec::parse_manifest(cadre::testing::read_kfp_spec("sleep_steps.yaml") +
                                "---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n"
                                "      executors:\n        exec-sleep:\n"
                                "          activeDeadlineSeconds: '7'\n");
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  PipelineRunStateMachine machine(new_run(R"({"seconds": 1})"), m->pipeline, options());
  auto jobs = all<fx::CreateJob>(store_all(machine, machine.create()));
  ASSERT_EQ(jobs.size(), 1u);
  auto job = spec::parse_manifest(jobs[0].yaml);
  ASSERT_TRUE(job.ok()) << job.status().to_string() << "\n" << jobs[0].yaml;
  ASSERT_TRUE(job->job);
  EXPECT_EQ(job->job->active_deadline_seconds, std::optional<int64_t>(7));
}

TEST(PipelineRunStateMachine, ReadsOutputsAsSoonAsTheJobSucceededAndCreatesTheNextJobAfterAWrite) {
  PipelineRunStateMachine m(new_run(), spec_of("two_step.yaml"), options());
  store_all(m, m.create());
  auto finished = m.on_job_status(job("r-1", JobPhase::kSucceeded));
  // A read changes nothing: it waits for no write.
  auto reads = all<fx::ReadOutputs>(finished);
  store_all(m, finished);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].read.dir, "/ckpt/default/_pipelines/r/producer");
  // Its outputs read, the consumer's job follows.
  auto next = store_all(m, m.on_outputs("producer", {}));
  auto jobs = all<fx::CreateJob>(next);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job, "r-2");
  EXPECT_EQ(m.summary().state, PipelineState::kRunning);
  EXPECT_TRUE(m.summary().tasks.empty());
}

TEST(PipelineRunStateMachine, ARestartCreatesMissingJobsAdoptsLiveOnesAndRereadsOutputs) {
  auto spec = spec_of("parallel_for.yaml");
  PipelineRunStateMachine first(new_run("{}"), spec, options());
  store_all(first, first.create());
  protocol::PipelineRunStatus stored = first.record();
  ASSERT_EQ(stored.tasks.size(), 1u + 1u + 3u + 3u);  // make-list, loop, 3 iterations, 3 doubles
  // After the restart: make-list's job finished while we were down, r-2 runs,
  // r-3 and r-4 were never created.
  PipelineRunStateMachine m(stored, spec, options());
  auto effects = m.restore(
      {{"r-1", job("r-1", JobPhase::kSucceeded)}, {"r-2", job("r-2", JobPhase::kRunning)}});
  std::set<std::string> created;
  for (const auto& c : all<fx::CreateJob>(effects)) created.insert(c.job);
  EXPECT_EQ(created, (std::set<std::string>{"r-3", "r-4"}));
  // make-list's job succeeded while we were down: its outputs are read.
  auto reads = all<fx::ReadOutputs>(effects);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].read.task_id, "make-list");
}

TEST(PipelineRunStateMachine, AJobThatCouldNotBeCreatedFailsItsStep) {
  PipelineRunStateMachine m(new_run(), spec_of("two_step.yaml"), options());
  store_all(m, m.create());
  store_all(m, m.on_job_created("r-1", Unavailable("the store is down")));
  EXPECT_EQ(m.record().state, PipelineState::kFailed);
  EXPECT_NE(m.record().tasks.at(0).message.find("the store is down"), std::string::npos);
  // AlreadyExists is an adopted job, not a failure.
  PipelineRunStateMachine n(new_run(), spec_of("two_step.yaml"), options());
  store_all(n, n.create());
  EXPECT_TRUE(n.on_job_created("r-1", AlreadyExists("job/r-1 exists")).empty());
  EXPECT_EQ(n.record().state, PipelineState::kRunning);
}

TEST(PipelineRunStateMachine, DeleteCancelsStoresThenDeletesEveryJobAndErases) {
  PipelineRunStateMachine m(new_run(), spec_of("two_step.yaml"), options());
  store_all(m, m.create());
  auto del = m.on_delete(7);
  EXPECT_EQ(m.record().state, PipelineState::kCanceled);
  EXPECT_TRUE(all<fx::DeleteJob>(del).empty());  // not before the cancel is stored
  auto deletes = all<fx::DeleteJob>(store_all(m, del));
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].job, "r-1");
  // A late job status changes nothing now.
  EXPECT_TRUE(m.on_job_status(job("r-1", JobPhase::kFailed)).empty());
  auto erase = m.on_job_deleted("r-1", Status::Ok());
  ASSERT_EQ(all<fx::EraseRecord>(erase).size(), 1u);
  auto done = m.on_erased(Status::Ok());
  auto answers = all<fx::AnswerDelete>(done);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].requests, std::vector<uint64_t>{7});
  EXPECT_EQ(all<fx::Stop>(done).size(), 1u);
}

TEST(PipelineRunStateMachine, ARetryWaitsOnATimer) {
  auto spec = spec_of("retry.yaml");
  int64_t now = 5000;
  auto o = options();
  o.now_ms = [&] { return now; };
  PipelineRunStateMachine m(new_run("{\"failures\": 2}"), spec, o);
  store_all(m, m.create());
  auto failed = m.on_job_status(job("r-1", JobPhase::kFailed));
  auto timers = all<fx::StartTimer>(failed);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].after.count(), 200);
  store_all(m, failed);
  now += 200;
  auto retried = store_all(m, m.on_timer());
  auto jobs = all<fx::CreateJob>(retried);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job, "r-2");
  EXPECT_EQ(m.record().tasks.at(0).attempts, 2);
}

// ---- Cadre workloads as steps: examples/fmnist-pipeline.yaml ----

class WorkloadSteps : public ::testing::Test {
 protected:
  WorkloadSteps() {
    auto m = spec::parse_manifest(cadre::testing::read_example("fmnist-pipeline.yaml"));
    EXPECT_TRUE(m.ok()) << m.status().to_string();
    spec_ = m->pipeline;
    auto o = options();
    o.now_ms = [this] { return now_; };
    o.deploy_timeout = std::chrono::seconds(60);
    options_ = o;
  }

  std::unique_ptr<PipelineRunStateMachine> machine() {
    return std::make_unique<PipelineRunStateMachine>(
        new_run(R"({"epochs": 1, "model": "mlp", "service": "fmnist-a", "threshold": 0.5,
                    "workers": 2})"),
        spec_, options_);
  }

  // Succeeds job `name` with these final metrics and reads its outputs; returns
  // what the stored record released.
  PipelineRunEffects succeed(PipelineRunStateMachine& m, const std::string& name,
                             std::map<std::string, double> metrics,
                             pipelines::TaskOutputFiles files = {}) {
    protocol::JobStatus j = job(name, JobPhase::kSucceeded);
    j.metrics = std::move(metrics);
    auto finished = m.on_job_status(j);
    auto reads = all<fx::ReadOutputs>(finished);
    EXPECT_EQ(reads.size(), 1u) << name;
    store_all(m, finished);
    if (reads.empty()) return {};
    return store_all(m, m.on_outputs(reads[0].read.task_id, files));
  }

  // Runs prepare, train and evaluate; returns the deploy's ApplyService.
  fx::ApplyWorkload run_to_deploy(PipelineRunStateMachine& m) {
    store_all(m, m.create());
    succeed(m, "r-1", {});
    pipelines::TaskOutputFiles model;
    model.artifacts = {"model"};
    succeed(m, "r-2", {{"accuracy", 0.85}}, model);
    auto applied = all<fx::ApplyWorkload>(succeed(m, "r-3", {{"accuracy", 0.86}}));
    EXPECT_EQ(applied.size(), 1u);
    return applied.empty() ? fx::ApplyWorkload{} : applied[0];
  }

  static protocol::InferenceServiceStatus service(bool ready) {
    protocol::InferenceServiceStatus s;
    s.name = "fmnist-a";
    s.url = "http://127.0.0.1:8080/v2/models/fmnist-a";
    s.ready = ready;
    s.latest_created_revision = "fmnist-a-00001";
    if (ready) s.latest_ready_revision = s.latest_created_revision;
    protocol::ServiceCondition c;
    c.type = protocol::ServiceConditionType::kPredictorReady;
    c.status = ready ? protocol::ConditionStatus::kTrue : protocol::ConditionStatus::kFalse;
    c.reason = ready ? "" : "NoReadyReplica";
    s.conditions.push_back(c);
    return s;
  }

  const protocol::PipelineTaskStatus& task(const PipelineRunStateMachine& m,
                                           const std::string& id) {
    for (const auto& t : m.record().tasks) {
      if (t.id == id) return t;
    }
    ADD_FAILURE() << id;
    static protocol::PipelineTaskStatus none;
    return none;
  }

  std::shared_ptr<const spec::PipelineSpec> spec_;
  PipelineRunMachineOptions options_;
  int64_t now_ = 5000;
};

TEST_F(WorkloadSteps, ATrainJobStepIsCreatedAsATrainJobManifest) {
  auto m = machine();
  store_all(*m, m->create());
  auto created = all<fx::CreateJob>(succeed(*m, "r-1", {}));
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].job, "r-2");
  EXPECT_EQ(created[0].folder, "_pipelines/r/exit-handler-1/train");
  auto manifest = spec::parse_manifest(created[0].yaml);
  ASSERT_TRUE(manifest.ok()) << manifest.status().to_string() << "\n" << created[0].yaml;
  ASSERT_TRUE(manifest->train_job);
  EXPECT_EQ(manifest->kind, "TrainJob");
  EXPECT_EQ(manifest->metadata.labels.at("pipeline-task"), "exit-handler-1.train");
  ASSERT_TRUE(manifest->train_job->find("Worker"));
  EXPECT_EQ(manifest->train_job->find("Worker")->replicas, 2);
}

TEST_F(WorkloadSteps, ADeployAppliesTheServiceAndSucceedsOnceItsRevisionServes) {
  auto m = machine();
  const fx::ApplyWorkload apply = run_to_deploy(*m);
  EXPECT_EQ(apply.ref, "inferenceservice/fmnist-a");
  auto manifest = spec::parse_manifest(apply.yaml);
  ASSERT_TRUE(manifest.ok()) << manifest.status().to_string() << "\n" << apply.yaml;
  ASSERT_TRUE(manifest->inference_service);
  EXPECT_NE(
      apply.yaml.find("file:///ckpt/default/_pipelines/r/exit-handler-1/train/artifacts/model"),
      std::string::npos)
      << apply.yaml;

  auto watching = m->on_workload_applied("inferenceservice/fmnist-a", Status::Ok());
  ASSERT_EQ(all<fx::WatchWorkload>(watching).size(), 1u);
  // Not ready yet: look again.
  EXPECT_EQ(all<fx::WatchWorkload>(m->on_service_status("fmnist-a", service(false))).size(), 1u);
  auto ready = m->on_service_status("fmnist-a", service(true));
  EXPECT_TRUE(all<fx::WatchWorkload>(ready).empty());
  auto released = store_all(*m, ready);
  const auto& deploy = task(*m, "exit-handler-1/condition-2/deploy");
  EXPECT_EQ(deploy.state, PipelineState::kSucceeded);
  EXPECT_EQ(nlohmann::json::parse(deploy.outputs),
            nlohmann::json({{"revision", "fmnist-a-00001"},
                            {"url", "http://127.0.0.1:8080/v2/models/fmnist-a"}}));
  // Then the exit handler's report runs as the run's fourth job.
  auto report = all<fx::CreateJob>(released);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0].job, "r-4");
}

TEST_F(WorkloadSteps, ADeployFailsWhenTheServiceIsRefusedOrNeverServes) {
  {
    auto m = machine();
    run_to_deploy(*m);
    store_all(*m, m->on_workload_applied("inferenceservice/fmnist-a",
                                         InvalidArgument("spec.predictor: bad")));
    const auto& deploy = task(*m, "exit-handler-1/condition-2/deploy");
    EXPECT_EQ(deploy.state, PipelineState::kFailed);
    EXPECT_NE(deploy.message.find("was not applied: spec.predictor: bad"), std::string::npos)
        << deploy.message;
  }
  {
    auto m = machine();
    run_to_deploy(*m);
    m->on_workload_applied("inferenceservice/fmnist-a", Status::Ok());
    now_ += 61000;
    store_all(*m, m->on_service_status("fmnist-a", service(false)));
    const auto& deploy = task(*m, "exit-handler-1/condition-2/deploy");
    EXPECT_EQ(deploy.state, PipelineState::kFailed);
    EXPECT_NE(deploy.message.find("was not ready within 60 s: PredictorReady is False: "
                                  "NoReadyReplica"),
              std::string::npos)
        << deploy.message;
  }
}

TEST_F(WorkloadSteps, ARestartAppliesARunningDeployAgainAndWatchesIt) {
  auto m = machine();
  run_to_deploy(*m);
  PipelineRunStateMachine restarted(m->record(), spec_, options_);
  auto restored = restarted.restore({});
  auto applied = all<fx::ApplyWorkload>(restored);
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0].ref, "inferenceservice/fmnist-a");
  EXPECT_TRUE(all<fx::CreateJob>(restored).empty());
}

protocol::ExperimentStatus experiment(protocol::ExperimentPhase phase) {
  protocol::ExperimentStatus e;
  e.name = "r-1";
  e.phase = phase;
  if (phase == protocol::ExperimentPhase::kSucceeded) {
    e.current_optimal_trial.best_trial_name = "r-1-2";
    e.current_optimal_trial.parameter_assignments = {{"x", "0.9"}};
    e.current_optimal_trial.observation = {{"score", 0.9}};
  }
  if (phase == protocol::ExperimentPhase::kFailed) e.message = "3 trials failed";
  return e;
}

TEST(PipelineRunStateMachine, ATuningStepCreatesItsExperimentAndWaitsUntilItEnds) {
  PipelineRunStateMachine m(new_run(R"({"trials": 3})"), spec_of("tune_step.yaml"), options());
  auto applied = all<fx::ApplyWorkload>(store_all(m, m.create()));
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0].ref, "experiment/r-1");
  auto manifest = spec::parse_manifest(applied[0].yaml);
  ASSERT_TRUE(manifest.ok()) << manifest.status().to_string() << "\n" << applied[0].yaml;
  ASSERT_TRUE(manifest->experiment);
  EXPECT_EQ(manifest->metadata.name, "r-1");
  EXPECT_EQ(manifest->metadata.labels.at("pipeline-run"), "r");

  EXPECT_EQ(all<fx::WatchWorkload>(m.on_workload_applied("experiment/r-1", Status::Ok())).size(),
            1u);
  // Running: look again (an experiment has no deadline of the pipeline's).
  EXPECT_EQ(all<fx::WatchWorkload>(
                m.on_experiment_status("r-1", experiment(protocol::ExperimentPhase::kRunning)))
                .size(),
            1u);
  auto done = m.on_experiment_status("r-1", experiment(protocol::ExperimentPhase::kSucceeded));
  auto reads = all<fx::ReadOutputs>(done);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].read.model_dir, "/ckpt/default/r-1-2");
  store_all(m, done);
  pipelines::TaskOutputFiles files;
  files.exported_model = "/ckpt/default/r-1-2/model.cadre";
  auto next = all<fx::CreateJob>(store_all(m, m.on_outputs("tune", files)));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].job, "r-2");
  EXPECT_NE(next[0].yaml.find("/ckpt/default/r-1-2/model.cadre"), std::string::npos);
}

TEST(PipelineRunStateMachine, AFailedOrVanishedExperimentFailsItsStep) {
  {
    PipelineRunStateMachine m(new_run(R"({"trials": 3})"), spec_of("tune_step.yaml"), options());
    store_all(m, m.create());
    m.on_workload_applied("experiment/r-1", Status::Ok());
    store_all(m, m.on_experiment_status("r-1", experiment(protocol::ExperimentPhase::kFailed)));
    EXPECT_EQ(m.record().state, PipelineState::kFailed);
    EXPECT_EQ(m.record().tasks.at(0).message, "experiment/r-1 failed: 3 trials failed");
  }
  {
    PipelineRunStateMachine m(new_run(R"({"trials": 3})"), spec_of("tune_step.yaml"), options());
    store_all(m, m.create());
    m.on_workload_applied("experiment/r-1", Status::Ok());
    store_all(m, m.on_experiment_status("r-1", NotFound("experiment/r-1 not found")));
    EXPECT_EQ(m.record().tasks.at(0).state, PipelineState::kFailed);
  }
}

}  // namespace
}  // namespace cadre::actors::pipeline_run_state_machine_test
