#include "actors/experiment_state_machine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cadre::actors::experiment_state_machine_test {
namespace {

namespace fx = experiment_effect;
using protocol::ExperimentPhase;
using protocol::JobPhase;
using protocol::TrialPhase;

// A Katib-shaped experiment over a Job whose command carries the parameters.
std::string experiment_yaml(const std::string& algorithm_block, const std::string& extra,
                            const std::string& parameters = R"(
    - name: lr
      parameterType: double
      feasibleSpace: {min: "0.001", max: "0.1", distribution: logUniform}
    - name: epochs
      parameterType: int
      feasibleSpace: {min: "1", max: "9"}
)") {
  return R"(
apiVersion: cadre/v1
kind: Experiment
metadata:
  name: exp
spec:
  objective:
    type: maximize
    objectiveMetricName: accuracy
)" + extra +
         algorithm_block + "  parameters:" + parameters + R"(
  trialTemplate:
    trialParameters:
      - {name: lr, reference: lr}
      - {name: epochs, reference: epochs}
    trialSpec:
      kind: Job
      spec:
        template:
          command: [train, "--lr=${trialParameters.lr}", "--epochs=${trialParameters.epochs}"]
)";
}

constexpr char kRandom[] = R"(
  algorithm:
    algorithmName: random
    algorithmSettings: [{name: random_state, value: "7"}]
)";

// Runs the machine the way the actor would, recording what it asked for; every
// write succeeds at once unless a test says otherwise.
class Harness {
 public:
  explicit Harness(const std::string& yaml) {
    auto spec = spec::parse_experiment(yaml);
    EXPECT_TRUE(spec.ok()) << spec.status().to_string();
    protocol::ExperimentStatus record;
    record.name = spec->metadata.name;
    record.manifest = yaml;
    ExperimentMachineOptions options;
    options.now_ms = [this] { return ++clock_; };
    auto machine = ExperimentStateMachine::Create(record, *spec, options);
    EXPECT_TRUE(machine.ok()) << machine.status().to_string();
    machine_ = std::move(*machine);
  }

  void run(ExperimentEffects effects) {
    for (auto& effect : effects) {
      if (auto* p = std::get_if<fx::Persist>(&effect)) {
        writes_.push_back(p->seq);
        if (store_ok_) run(machine_->on_stored(p->seq, Status::Ok()));
      } else if (auto* c = std::get_if<fx::CreateJob>(&effect)) {
        created_.push_back(*c);
        run(machine_->on_job_created(c->job, Status::Ok()));
      } else if (auto* s = std::get_if<fx::StopJob>(&effect)) {
        stopped_.push_back(*s);
      } else if (auto* d = std::get_if<fx::DeleteJob>(&effect)) {
        deleted_.push_back(d->job);
        if (answer_deletes_) run(machine_->on_job_deleted(d->job, Status::Ok()));
      } else if (std::holds_alternative<fx::EraseRecord>(effect)) {
        erased_ = true;
        run(machine_->on_erased(Status::Ok()));
      } else if (std::holds_alternative<fx::Stop>(effect)) {
        stopped_actor_ = true;
      }
    }
  }

  void report(const std::string& job, const std::string& name, int64_t step, double value) {
    run(machine_->on_metrics(job, {protocol::MetricSample{name, value, step, 0}}));
  }
  void job_ends(const std::string& job, JobPhase phase, const std::string& reason = "") {
    protocol::JobStatus status;
    status.name = job;
    status.phase = phase;
    status.reason = reason;
    run(machine_->on_job_status(status));
  }
  // A trial's job reports its epochs and succeeds.
  void succeed(const std::string& job, std::vector<double> accuracy_by_epoch, int64_t first = 1) {
    for (size_t i = 0; i < accuracy_by_epoch.size(); ++i)
      report(job, "accuracy", first + static_cast<int64_t>(i), accuracy_by_epoch[i]);
    job_ends(job, JobPhase::kSucceeded);
  }
  const protocol::TrialStatus& trial(const std::string& name) const {
    for (const auto& t : machine_->record().trials)
      if (t.name == name) return t;
    ADD_FAILURE() << "no trial " << name;
    static protocol::TrialStatus none;
    return none;
  }
  std::vector<std::string> created_jobs() const {
    std::vector<std::string> out;
    for (const auto& c : created_) out.push_back(c.job);
    return out;
  }

  std::unique_ptr<ExperimentStateMachine> machine_;
  std::vector<uint64_t> writes_;
  std::vector<fx::CreateJob> created_;
  std::vector<fx::StopJob> stopped_;
  std::vector<std::string> deleted_;
  bool store_ok_ = true;
  bool answer_deletes_ = true;
  bool erased_ = false, stopped_actor_ = false;
  int64_t clock_ = 1000;
};

TEST(ExperimentStateMachine, CreatesATrialJobOnlyOnceTheRecordNamingItIsStored) {
  Harness h(experiment_yaml(kRandom, "  parallelTrialCount: 2\n  maxTrialCount: 4\n"));
  h.store_ok_ = false;
  h.run(h.machine_->create());
  EXPECT_TRUE(h.created_.empty()) << "nothing may run before the write";
  ASSERT_FALSE(h.writes_.empty());
  h.store_ok_ = true;
  h.run(h.machine_->on_stored(h.writes_.back(), Status::Ok()));
  EXPECT_EQ(h.created_jobs(), (std::vector<std::string>{"exp-1", "exp-2"}));
  EXPECT_EQ(h.created_[0].checkpoint_name, "exp-1");
  EXPECT_NE(h.created_[0].yaml.find("experiment: exp"), std::string::npos) << h.created_[0].yaml;
}

TEST(ExperimentStateMachine, KeepsParallelTrialsRunningAndEndsWithTheBestTrialAtMaxTrials) {
  Harness h(experiment_yaml(kRandom, "  parallelTrialCount: 2\n  maxTrialCount: 4\n"));
  h.run(h.machine_->create());
  EXPECT_EQ(h.machine_->record().phase, ExperimentPhase::kRunning);
  h.succeed("exp-1", {0.50, 0.70, 0.60});  // max strategy: 0.70
  EXPECT_EQ(h.created_jobs().size(), 3u) << "a finished trial's slot is refilled";
  h.succeed("exp-2", {0.80});
  h.succeed("exp-3", {0.10});
  EXPECT_EQ(h.machine_->record().phase, ExperimentPhase::kRunning) << "exp-4 still runs";
  h.succeed("exp-4", {0.75});
  const auto& r = h.machine_->record();
  EXPECT_EQ(r.phase, ExperimentPhase::kSucceeded);
  EXPECT_EQ(r.reason, "MaxTrialsReached");
  EXPECT_EQ(r.trials_succeeded, 4);
  EXPECT_EQ(h.created_jobs().size(), 4u);
  EXPECT_EQ(r.current_optimal_trial.best_trial_name, "exp-2");
  EXPECT_DOUBLE_EQ(r.current_optimal_trial.observation.at("accuracy"), 0.80);
  EXPECT_EQ(r.current_optimal_trial.parameter_assignments, h.trial("exp-2").parameters);
  EXPECT_DOUBLE_EQ(*h.trial("exp-1").objective, 0.70);
  EXPECT_EQ(r.epochs_consumed, 6);
  // retain is false: the trials' jobs go once the experiment is done.
  EXPECT_EQ(h.deleted_.size(), 4u);
}

TEST(ExperimentStateMachine, ANaNObjectiveFailsTheTrialAsInvalidMetricAndTheSearchGoesOn) {
  Harness h(experiment_yaml(kRandom, "  parallelTrialCount: 1\n  maxTrialCount: 2\n"));
  h.run(h.machine_->create());
  h.report("exp-1", "accuracy", 1, 0.5);
  h.report("exp-1", "accuracy", 2, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.trial("exp-1").phase, TrialPhase::kFailed);
  EXPECT_EQ(h.trial("exp-1").reason, "InvalidMetric");
  ASSERT_EQ(h.stopped_.size(), 1u);
  EXPECT_EQ(h.stopped_[0].job, "exp-1");
  // Its job's later end changes nothing; the next trial already runs.
  h.job_ends("exp-1", JobPhase::kFailed, "InvalidMetric");
  EXPECT_EQ(h.trial("exp-1").reason, "InvalidMetric");
  EXPECT_EQ(h.created_jobs(), (std::vector<std::string>{"exp-1", "exp-2"}));
  h.succeed("exp-2", {0.4});
  EXPECT_EQ(h.machine_->record().phase, ExperimentPhase::kSucceeded);
  EXPECT_EQ(h.machine_->record().trials_failed, 1);
}

TEST(ExperimentStateMachine, ASucceededJobThatNeverReportedTheObjectiveIsMetricsUnavailable) {
  Harness h(experiment_yaml(kRandom, "  parallelTrialCount: 1\n  maxTrialCount: 2\n"));
  h.run(h.machine_->create());
  h.report("exp-1", "loss", 1, 0.3);  // not the objective
  h.job_ends("exp-1", JobPhase::kSucceeded);
  EXPECT_EQ(h.trial("exp-1").phase, TrialPhase::kMetricsUnavailable);
  EXPECT_NE(h.trial("exp-1").message.find("accuracy"), std::string::npos);
  EXPECT_EQ(h.machine_->record().trials_metrics_unavailable, 1);
  EXPECT_EQ(h.created_jobs().size(), 2u) << "the experiment does not stall";
}

TEST(ExperimentStateMachine, FailsOnceMoreTrialsFailThanMaxFailedTrialCount) {
  Harness h(experiment_yaml(
      kRandom, "  parallelTrialCount: 2\n  maxTrialCount: 10\n  maxFailedTrialCount: 1\n"));
  h.run(h.machine_->create());
  h.job_ends("exp-1", JobPhase::kFailed, "Error");
  EXPECT_EQ(h.machine_->record().phase, ExperimentPhase::kRunning) << "1 failure is allowed";
  h.job_ends("exp-2", JobPhase::kFailed, "Error");
  const auto& r = h.machine_->record();
  EXPECT_EQ(r.phase, ExperimentPhase::kFailed);
  EXPECT_EQ(r.reason, "MaxFailedTrialsReached");
  EXPECT_EQ(r.trials_failed, 2);
  EXPECT_EQ(h.trial("exp-2").reason, "Error");
  // The trial still running when the experiment failed is killed.
  EXPECT_EQ(h.trial("exp-3").phase, TrialPhase::kKilled);
  ASSERT_FALSE(h.stopped_.empty());
  EXPECT_EQ(h.stopped_.back().job, "exp-3");
}

TEST(ExperimentStateMachine, EndsGoalReachedAndKillsTheTrialsStillRunning) {
  std::string yaml = experiment_yaml(kRandom, "  parallelTrialCount: 3\n");
  yaml.replace(yaml.find("    objectiveMetricName"), 0, "    goal: 0.9\n");
  Harness h(yaml);
  h.run(h.machine_->create());
  h.succeed("exp-2", {0.95});
  const auto& r = h.machine_->record();
  EXPECT_EQ(r.phase, ExperimentPhase::kSucceeded);
  EXPECT_EQ(r.reason, "GoalReached");
  EXPECT_EQ(h.trial("exp-1").phase, TrialPhase::kKilled);
  EXPECT_EQ(h.trial("exp-3").phase, TrialPhase::kKilled);
  EXPECT_EQ(h.created_jobs().size(), 3u) << "no trial after the goal";
  EXPECT_EQ(h.stopped_.size(), 2u);
}

TEST(ExperimentStateMachine, GridEndsSearchSpaceExhaustedAfterEveryPointOnce) {
  Harness h(experiment_yaml(R"(
  algorithm:
    algorithmName: grid
)",
                            "  parallelTrialCount: 2\n", R"(
    - name: lr
      parameterType: categorical
      feasibleSpace: {list: ["0.01", "0.1"]}
    - name: epochs
      parameterType: int
      feasibleSpace: {min: "1", max: "2"}
)"));
  h.run(h.machine_->create());
  for (int i = 1; i <= 4; ++i) h.succeed("exp-" + std::to_string(i), {0.1 * i});
  const auto& r = h.machine_->record();
  EXPECT_EQ(r.phase, ExperimentPhase::kSucceeded);
  EXPECT_EQ(r.reason, "SearchSpaceExhausted");
  std::set<std::map<std::string, std::string>> points;
  for (const auto& t : r.trials) points.insert(t.parameters);
  EXPECT_EQ(points.size(), 4u);
  EXPECT_EQ(r.trials.size(), 4u);
}

TEST(ExperimentStateMachine, AshaPromotesATrialIntoANewJobThatSharesItsCheckpointAndResumes) {
  Harness h(experiment_yaml(R"(
  algorithm:
    algorithmName: asha
    algorithmSettings:
      - {name: resource_name, value: epochs}
      - {name: min_resource, value: "1"}
      - {name: max_resource, value: "3"}
      - {name: reduction_factor, value: "3"}
      - {name: random_state, value: "3"}
)",
                            "  parallelTrialCount: 1\n  maxTrialCount: 3\n"));
  h.run(h.machine_->create());
  h.succeed("exp-1", {0.2});
  h.succeed("exp-2", {0.9});
  h.succeed("exp-3", {0.5});
  // Rung 0 (1 epoch) holds three results: the top third (exp-2) goes on to 3 epochs.
  ASSERT_EQ(h.created_jobs().back(), "exp-2-r1");
  const auto& promoted = h.created_.back();
  EXPECT_EQ(promoted.checkpoint_name, "exp-2") << "the trial's folder, so it resumes";
  EXPECT_NE(promoted.yaml.find("--epochs=3"), std::string::npos) << promoted.yaml;
  EXPECT_EQ(h.trial("exp-2").phase, TrialPhase::kRunning);
  EXPECT_EQ(h.trial("exp-2").rung, 1);
  // It resumes from its checkpoint: only epochs 2 and 3 are trained and reported.
  h.succeed("exp-2-r1", {0.93, 0.95}, 2);
  const auto& t = h.trial("exp-2");
  EXPECT_EQ(t.phase, TrialPhase::kSucceeded);
  EXPECT_EQ(t.jobs, (std::vector<std::string>{"exp-2", "exp-2-r1"}));
  EXPECT_EQ(t.epochs, 3);
  EXPECT_EQ(t.epochs_resumed, 1);
  EXPECT_EQ(t.curve.size(), 3u);
  EXPECT_DOUBLE_EQ(*t.objective, 0.95);
  const auto& r = h.machine_->record();
  EXPECT_EQ(r.phase, ExperimentPhase::kSucceeded);
  EXPECT_EQ(r.reason, "MaxTrialsReached");
  EXPECT_EQ(r.epochs_consumed, 5);
  EXPECT_EQ(r.current_optimal_trial.best_trial_name, "exp-2");
}

TEST(ExperimentStateMachine, MedianStoppingStopsAClearlyWorseTrialWhileItRuns) {
  Harness h(experiment_yaml(kRandom, R"(  parallelTrialCount: 4
  maxTrialCount: 4
  earlyStopping:
    algorithmName: medianstop
    algorithmSettings:
      - {name: min_trials_required, value: "2"}
      - {name: start_step, value: "2"}
)"));
  h.run(h.machine_->create());
  for (const char* job : {"exp-1", "exp-2", "exp-3"}) {
    h.report(job, "accuracy", 1, 0.7);
    h.report(job, "accuracy", 2, 0.8);
  }
  h.report("exp-4", "accuracy", 1, 0.1);
  EXPECT_EQ(h.trial("exp-4").phase, TrialPhase::kRunning) << "before start_step";
  h.report("exp-4", "accuracy", 2, 0.15);
  EXPECT_EQ(h.trial("exp-4").phase, TrialPhase::kEarlyStopped);
  ASSERT_EQ(h.stopped_.size(), 1u);
  EXPECT_EQ(h.stopped_[0].reason, "EarlyStopped");
  EXPECT_DOUBLE_EQ(h.trial("exp-4").curve.at(2), 0.15) << "it keeps its metrics";
  EXPECT_EQ(h.machine_->record().trials_early_stopped, 1);
}

TEST(ExperimentStateMachine, RestoreCreatesOnlyTheJobsThatDoNotExistAndReplaysStoredMetrics) {
  Harness before(experiment_yaml(kRandom, "  parallelTrialCount: 3\n  maxTrialCount: 3\n"));
  before.run(before.machine_->create());
  before.succeed("exp-1", {0.5});
  const protocol::ExperimentStatus stored = before.machine_->record();

  Harness after(experiment_yaml(kRandom, "  parallelTrialCount: 3\n  maxTrialCount: 3\n"));
  auto spec = spec::parse_experiment(stored.manifest);
  ASSERT_TRUE(spec.ok());
  auto restored = ExperimentStateMachine::Create(stored, *spec, {});
  ASSERT_TRUE(restored.ok());
  after.machine_ = std::move(*restored);
  // exp-2 runs, exp-3 was stored but its job never created; exp-2 had reported.
  protocol::JobStatus running;
  running.name = "exp-2";
  running.phase = JobPhase::kRunning;
  after.run(after.machine_->restore({{"exp-1", {}}, {"exp-2", running}},
                                    {{"exp-2", {{"accuracy", 0.6, 1, 0}}}}));
  EXPECT_EQ(after.created_jobs(), (std::vector<std::string>{"exp-3"}));
  EXPECT_EQ(after.trial("exp-2").curve.at(1), 0.6);
  after.succeed("exp-2", {0.7}, 2);
  after.succeed("exp-3", {0.2});
  const auto& r = after.machine_->record();
  EXPECT_EQ(r.phase, ExperimentPhase::kSucceeded);
  EXPECT_EQ(r.trials.size(), 3u) << "no trial twice";
  EXPECT_EQ(r.current_optimal_trial.best_trial_name, "exp-2");
  EXPECT_EQ(after.trial("exp-2").epochs, 2);
}

TEST(ExperimentStateMachine, DeleteRemovesEveryTrialJobBeforeTheRecord) {
  Harness h(experiment_yaml(kRandom, "  parallelTrialCount: 2\n"));
  h.run(h.machine_->create());
  h.answer_deletes_ = false;
  h.run(h.machine_->on_delete(1));
  EXPECT_EQ(h.deleted_, (std::vector<std::string>{"exp-1", "exp-2"}));
  EXPECT_FALSE(h.erased_) << "jobs first";
  h.run(h.machine_->on_job_deleted("exp-1", Status::Ok()));
  h.run(h.machine_->on_job_deleted("exp-2", NotFound("gone already")));
  EXPECT_TRUE(h.erased_);
  EXPECT_TRUE(h.stopped_actor_);
}

TEST(ExperimentStateMachine, NothingIsWrittenOnceADeleteHasBegunSoTheEraseIsLast) {
  Harness h(experiment_yaml(kRandom, "  parallelTrialCount: 2\n"));
  h.run(h.machine_->create());
  h.answer_deletes_ = false;
  h.run(h.machine_->on_delete(1));
  const size_t writes = h.writes_.size();
  // The delete kills exp-1's job; its end and its going arrive while erasing.
  h.job_ends("exp-1", JobPhase::kFailed, "Killed");
  h.run(h.machine_->on_job_deleted("exp-1", Status::Ok()));
  h.run(h.machine_->on_job_deleted("exp-2", Status::Ok()));
  EXPECT_TRUE(h.erased_);
  h.run(h.machine_->on_job_gone("exp-2"));
  EXPECT_EQ(h.writes_.size(), writes) << "a write after the erase would resurrect it";
}

TEST(ExperimentStateMachine, AJobDeletedUnderARunningTrialFailsItAndTheSearchGoesOn) {
  Harness h(experiment_yaml(kRandom, "  parallelTrialCount: 1\n  maxTrialCount: 2\n"));
  h.run(h.machine_->create());
  h.run(h.machine_->on_job_gone("exp-1"));
  EXPECT_EQ(h.trial("exp-1").phase, TrialPhase::kFailed);
  EXPECT_EQ(h.trial("exp-1").reason, "TrialJobLost");
  EXPECT_EQ(h.created_jobs().back(), "exp-2");
}

}  // namespace
}  // namespace cadre::actors::experiment_state_machine_test
