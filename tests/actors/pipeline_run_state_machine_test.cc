#include "actors/pipeline_run_state_machine.h"

#include <gtest/gtest.h>

#include "protocol/spec/manifest.h"
#include "tests/pipelines/kfp_specs.h"

namespace cadre::actors {
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

}  // namespace
}  // namespace cadre::actors
