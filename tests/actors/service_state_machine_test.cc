#include "actors/service_state_machine.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "actors/service_replica_job.h"
#include "protocol/spec/manifest.h"

namespace cadre::actors::service_state_machine_test {
namespace {

namespace fx = service_effect;
using protocol::JobPhase;
using protocol::ServiceReplicaState;

std::string service_yaml(const std::string& model, const std::string& extra = "") {
  return R"(apiVersion: cadre/v1
kind: InferenceService
metadata: {name: fmnist}
spec:
  predictor:
    model: {modelFormat: {name: cadre}, storageUri: "file:///models/)" +
         model + R"(.cadre"}
    minReplicas: 2
    maxReplicas: 4
)" + extra;
}

ServiceApply apply_of(const std::string& yaml) {
  auto spec = spec::parse_inference_service(yaml);
  EXPECT_TRUE(spec.ok()) << spec.status().to_string();
  return ServiceApply{*spec, yaml, spec->predictor.storage.path};
}

// Runs the machine the way the actor would: writes succeed at once, jobs are
// created at once, deletes are answered; timers are collected for the test to fire.
class Harness {
 public:
  explicit Harness(const std::string& yaml = service_yaml("a")) {
    ServiceMachineOptions options;
    options.now_ms = [this] { return ++clock_; };
    auto machine = ServiceStateMachine::Create(
        ServiceStateMachine::first_record(apply_of(yaml), "secret", 1), options);
    EXPECT_TRUE(machine.ok()) << machine.status().to_string();
    machine_ = std::move(*machine);
    run(machine_->create());
  }
  explicit Harness(std::unique_ptr<ServiceStateMachine> machine) : machine_(std::move(machine)) {}

  void run(ServiceEffects effects) {
    for (auto& effect : effects) {
      if (auto* p = std::get_if<fx::Persist>(&effect)) {
        ++writes_;
        run(machine_->on_stored(p->seq, Status::Ok()));
      } else if (auto* c = std::get_if<fx::CreateJob>(&effect)) {
        created_.push_back(*c);
        run(machine_->on_job_created(c->job, create_status_));
      } else if (auto* d = std::get_if<fx::DeleteJob>(&effect)) {
        deleted_.push_back(d->job);
        run(machine_->on_job_deleted(d->job, Status::Ok()));
      } else if (auto* e = std::get_if<fx::RecordEvent>(&effect)) {
        events_.push_back(e->event);
      } else if (auto* t = std::get_if<fx::StartTimer>(&effect)) {
        timers_.push_back(*t);
      } else if (auto* a = std::get_if<fx::AnswerApply>(&effect)) {
        answers_.push_back(a->status.ok() ? a->action : a->status.message());
      } else if (std::holds_alternative<fx::EraseRecord>(effect)) {
        run(machine_->on_erased(Status::Ok()));
      } else if (std::holds_alternative<fx::Stop>(effect)) {
        stopped_ = true;
      }
    }
  }

  // The replica's job runs on node-1 and its agent's probe says ready (or not).
  void job_runs(const std::string& job, bool ready, int32_t port = 9000) {
    run(machine_->on_job_status(status(job, JobPhase::kRunning, ready, port)));
  }
  void job_ends(const std::string& job, JobPhase phase, const std::string& why) {
    auto s = status(job, phase, false, 9000);
    s.reason = why;
    run(machine_->on_job_status(s));
  }
  // Fires every timer set so far (drains finish, back-offs end).
  void fire_timers() {
    auto timers = std::move(timers_);
    timers_.clear();
    for (const auto& t : timers) run(machine_->on_timer(t.job, t.eviction));
  }
  void apply(const std::string& yaml) { run(machine_->on_apply(1, apply_of(yaml))); }
  // The replicas the ingress would route to.
  std::vector<std::string> routed() const {
    std::vector<std::string> out;
    for (const auto& rev : machine_->route().revisions) {
      for (const auto& e : rev.endpoints) out.push_back(e.replica);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  static protocol::JobStatus status(const std::string& job, JobPhase phase, bool ready,
                                    int32_t port) {
    protocol::JobStatus s;
    s.name = job;
    s.phase = phase;
    protocol::ReplicaStatus r;
    r.uid = job + "-main-0-0";
    r.state = phase == JobPhase::kRunning ? protocol::ReplicaState::kRunning
                                          : protocol::ReplicaState::kFailed;
    r.node = "node-1";
    r.address = "127.0.0.1";
    r.port = port;
    r.ready = ready;
    r.readiness_message = ready ? "" : "connection refused";
    s.replicas.push_back(r);
    return s;
  }

  std::vector<std::string> created_jobs() const {
    std::vector<std::string> out;
    for (const auto& c : created_) out.push_back(c.job);
    return out;
  }
  std::string traffic() const {
    std::string out;
    for (const auto& t : machine_->record().status.traffic) {
      out += (out.empty() ? "" : " ") + t.revision_name + "=" + std::to_string(t.percent);
    }
    return out;
  }
  const protocol::ServiceReplica* replica(const std::string& job) const {
    for (const auto& r : machine_->record().status.replicas) {
      if (r.job == job) return &r;
    }
    return nullptr;
  }
  const protocol::ServiceCondition& condition(protocol::ServiceConditionType type) const {
    for (const auto& c : machine_->record().status.conditions) {
      if (c.type == type) return c;
    }
    static protocol::ServiceCondition none;
    ADD_FAILURE() << "no condition";
    return none;
  }

  int64_t clock_ = 0;
  std::unique_ptr<ServiceStateMachine> machine_;
  Status create_status_;
  std::vector<fx::CreateJob> created_;
  std::vector<std::string> deleted_;
  std::vector<fx::StartTimer> timers_;
  std::vector<protocol::JobEvent> events_;
  std::vector<std::string> answers_;
  int writes_ = 0;
  bool stopped_ = false;
};

TEST(ServiceStateMachine, CreatesMinReplicasOfTheFirstRevisionOnlyAfterTheRecordIsStored) {
  ServiceMachineOptions options;
  auto machine = ServiceStateMachine::Create(
      ServiceStateMachine::first_record(apply_of(service_yaml("a")), "secret", 1), options);
  ASSERT_TRUE(machine.ok());
  auto effects = (*machine)->create();
  for (const auto& e : effects) EXPECT_FALSE(std::holds_alternative<fx::CreateJob>(e));
  EXPECT_EQ((*machine)->record().status.replicas.size(), 2u);

  Harness h;
  EXPECT_EQ(h.created_jobs(), (std::vector<std::string>{"fmnist-00001-1", "fmnist-00001-2"}));
  EXPECT_EQ(h.traffic(), "fmnist-00001=100");
  EXPECT_FALSE(h.machine_->record().status.ready);
  EXPECT_EQ(h.condition(protocol::ServiceConditionType::kPredictorReady).reason, "NoReadyReplicas");
}

TEST(ServiceStateMachine, ItsPredictorConditionSaysWhatAQueuedReplicaIsWaitingFor) {
  Harness h;
  auto queued = Harness::status("fmnist-00001-1", JobPhase::kQueued, false, 0);
  queued.message = "waiting for capacity: replica main-0 needs cpu=1 memory=512Mi gpu=0";
  h.run(h.machine_->on_job_status(queued));
  EXPECT_EQ(h.replica("fmnist-00001-1")->state, ServiceReplicaState::kPending);
  const auto& c = h.condition(protocol::ServiceConditionType::kPredictorReady);
  EXPECT_EQ(c.reason, "NoReadyReplicas");
  EXPECT_EQ(c.message,
            "waiting for a ready replica of fmnist-00001 (fmnist-00001-1: waiting for capacity: "
            "replica main-0 needs cpu=1 memory=512Mi gpu=0)");
}

TEST(ServiceStateMachine, IsReadyWhenAReplicaAnswersReadyAndAnIngressPollsTheRoutes) {
  Harness h;
  h.job_runs("fmnist-00001-1", false);
  EXPECT_EQ(h.replica("fmnist-00001-1")->state, ServiceReplicaState::kStarting);
  EXPECT_EQ(h.replica("fmnist-00001-1")->message, "connection refused");
  h.job_runs("fmnist-00001-1", true);
  EXPECT_EQ(h.replica("fmnist-00001-1")->state, ServiceReplicaState::kReady);
  EXPECT_EQ(h.condition(protocol::ServiceConditionType::kPredictorReady).status,
            protocol::ConditionStatus::kTrue);
  EXPECT_FALSE(h.machine_->record().status.ready);  // no ingress yet
  EXPECT_EQ(h.condition(protocol::ServiceConditionType::kReady).reason, "IngressNotConnected");

  h.run(h.machine_->on_ingress(true, "http://127.0.0.1:8080"));
  EXPECT_TRUE(h.machine_->record().status.ready);
  EXPECT_EQ(h.machine_->record().status.url, "http://127.0.0.1:8080/v2/models/fmnist");
  const auto route = h.machine_->route();
  ASSERT_EQ(route.revisions.size(), 1u);
  ASSERT_EQ(route.revisions[0].endpoints.size(), 1u);  // only the ready replica
  EXPECT_EQ(route.revisions[0].endpoints[0].port, 9000);
  EXPECT_EQ(route.replica_token, "secret");
}

TEST(ServiceStateMachine, ANewRevisionTakesTheTrafficOnlyOnceReadyAndTheOldOneIsDrained) {
  Harness h;
  h.job_runs("fmnist-00001-1", true);
  h.job_runs("fmnist-00001-2", true);
  h.apply(service_yaml("b"));
  EXPECT_EQ(h.answers_, (std::vector<std::string>{"configured"}));
  EXPECT_EQ(h.machine_->record().status.latest_created_revision, "fmnist-00002");
  EXPECT_EQ(h.created_jobs().back(), "fmnist-00002-2");
  // Not ready yet: the old revision keeps every request.
  EXPECT_EQ(h.traffic(), "fmnist-00001=100 fmnist-00002=0");
  h.job_runs("fmnist-00002-1", false);
  EXPECT_EQ(h.traffic(), "fmnist-00001=100 fmnist-00002=0");

  h.job_runs("fmnist-00002-1", true);
  EXPECT_EQ(h.traffic(), "fmnist-00002=100");
  EXPECT_EQ(h.machine_->record().status.latest_rolledout_revision, "fmnist-00002");
  EXPECT_EQ(h.machine_->record().status.previous_rolledout_revision, "fmnist-00001");
  // Out of the routes at once, stopped only after the drain delay.
  EXPECT_EQ(h.replica("fmnist-00001-1")->state, ServiceReplicaState::kDraining);
  EXPECT_TRUE(h.deleted_.empty());
  const auto route = h.machine_->route();
  ASSERT_EQ(route.revisions.size(), 1u);
  for (const auto& e : route.revisions[0].endpoints) {
    EXPECT_EQ(e.replica.rfind("fmnist-00002", 0), 0u);
  }
  h.fire_timers();
  std::sort(h.deleted_.begin(), h.deleted_.end());
  EXPECT_EQ(h.deleted_, (std::vector<std::string>{"fmnist-00001-1", "fmnist-00001-2"}));
  EXPECT_EQ(h.replica("fmnist-00001-1"), nullptr);
}

TEST(ServiceStateMachine, ACanaryGetsItsShareOnceReadyAndZeroRollsBack) {
  Harness h;
  h.job_runs("fmnist-00001-1", true);
  h.job_runs("fmnist-00001-2", true);
  h.apply(service_yaml("b", "    canaryTrafficPercent: 20\n"));
  EXPECT_EQ(h.traffic(), "fmnist-00001=100 fmnist-00002=0");
  h.job_runs("fmnist-00002-1", true);
  EXPECT_EQ(h.traffic(), "fmnist-00001=80 fmnist-00002=20");
  EXPECT_EQ(h.machine_->record().status.latest_rolledout_revision, "fmnist-00001");
  const auto route = h.machine_->route();
  ASSERT_EQ(route.revisions.size(), 2u);
  EXPECT_EQ(route.revisions[1].percent, 20);

  // canaryTrafficPercent changes move traffic without a new revision.
  h.apply(service_yaml("b", "    canaryTrafficPercent: 0\n"));
  EXPECT_EQ(h.machine_->record().status.latest_created_revision, "fmnist-00002");
  EXPECT_EQ(h.traffic(), "fmnist-00001=100 fmnist-00002=0");
  h.fire_timers();
  EXPECT_EQ(h.replica("fmnist-00002-1"), nullptr);  // the canary's replicas are stopped

  // Removing the field promotes it: it is started again, then takes everything.
  h.apply(service_yaml("b"));
  EXPECT_EQ(h.traffic(), "fmnist-00001=100 fmnist-00002=0");
  h.job_runs("fmnist-00002-3", true);
  EXPECT_EQ(h.traffic(), "fmnist-00002=100");
}

TEST(ServiceStateMachine, AFailedReplicaIsReplacedAtOnceAndOneThatKeepsFailingWaits) {
  Harness h;
  h.job_runs("fmnist-00001-1", true);
  h.job_runs("fmnist-00001-2", true);
  h.job_ends("fmnist-00001-2", JobPhase::kFailed, "Killed");
  EXPECT_EQ(h.created_jobs().back(), "fmnist-00001-3");  // no back-off the first time
  EXPECT_EQ(h.deleted_, (std::vector<std::string>{"fmnist-00001-2"}));
  EXPECT_EQ(h.traffic(), "fmnist-00001=100");  // the other replica still serves

  h.job_ends("fmnist-00001-3", JobPhase::kFailed, "Error");
  EXPECT_EQ(h.created_jobs().back(), "fmnist-00001-3");  // waits
  ASSERT_FALSE(h.timers_.empty());
  EXPECT_EQ(h.timers_.back().job, "");
  h.fire_timers();
  EXPECT_EQ(h.created_jobs().back(), "fmnist-00001-4");
}

TEST(ServiceStateMachine, ReplicasLostWithTheirNodeAreReplacedWithoutBackingOff) {
  Harness h;
  for (int i = 0; i < 3; ++i) {
    const std::string job = h.created_jobs().back();
    auto s = Harness::status(job, JobPhase::kFailed, false, 9000);
    s.replicas[0].reason = "NodeLost";
    h.run(h.machine_->on_job_status(s));
  }
  EXPECT_EQ(h.created_jobs().back(), "fmnist-00001-5");
  for (const auto& t : h.timers_) EXPECT_NE(t.job, "") << "a back-off timer was set";
}

TEST(ServiceStateMachine, ADrainedNodesReplicaServesUntilOneElsewhereIsReadyThenDrains) {
  Harness h;  // minReplicas 2
  h.job_runs("fmnist-00001-1", true);
  h.job_runs("fmnist-00001-2", true);
  h.run(h.machine_->on_evict("fmnist-00001-1"));
  EXPECT_EQ(h.created_jobs().back(), "fmnist-00001-3") << "the replacement starts first";
  EXPECT_EQ(h.replica("fmnist-00001-1")->state, ServiceReplicaState::kReady);
  EXPECT_TRUE(h.replica("fmnist-00001-1")->evicted);
  EXPECT_EQ(h.replica("fmnist-00001-1")->message,
            "its node node-1 is drained: it serves until a replica elsewhere is ready");
  EXPECT_EQ(h.routed(), (std::vector<std::string>{"fmnist-00001-1", "fmnist-00001-2"}))
      << "no capacity is lost while the replacement loads";
  EXPECT_EQ(h.machine_->record().status.revisions[0].ready_replicas, 2);
  h.run(h.machine_->on_evict("fmnist-00001-1"));
  EXPECT_EQ(h.created_jobs().size(), 3u) << "evicted twice, replaced once";

  h.job_runs("fmnist-00001-1", true);  // a status while it waits keeps its message
  EXPECT_NE(h.replica("fmnist-00001-1")->message, "");
  h.job_runs("fmnist-00001-3", false);
  EXPECT_EQ(h.replica("fmnist-00001-1")->state, ServiceReplicaState::kReady);
  h.job_runs("fmnist-00001-3", true);
  EXPECT_EQ(h.replica("fmnist-00001-1")->state, ServiceReplicaState::kDraining);
  EXPECT_EQ(h.routed(), (std::vector<std::string>{"fmnist-00001-2", "fmnist-00001-3"}));
  EXPECT_TRUE(h.deleted_.empty()) << "stopped only after the drain delay";
  h.fire_timers();
  EXPECT_EQ(h.deleted_, std::vector<std::string>{"fmnist-00001-1"});
  EXPECT_EQ(h.created_jobs().size(), 3u);
}

TEST(ServiceStateMachine, AnEvictedReplicaWithNoReadyReplacementDrainsAfterTheGraceEvenRestored) {
  Harness first;
  first.job_runs("fmnist-00001-1", true);
  first.job_runs("fmnist-00001-2", true);
  first.run(first.machine_->on_evict("fmnist-00001-2"));
  // The coordinator restarts while the replacement waits for a node.
  auto machine = ServiceStateMachine::Create(first.machine_->record(), ServiceMachineOptions{});
  ASSERT_TRUE(machine.ok());
  Harness h(std::move(*machine));
  h.run(h.machine_->restore(
      {{"fmnist-00001-1", Harness::status("fmnist-00001-1", JobPhase::kRunning, true, 9000)},
       {"fmnist-00001-2", Harness::status("fmnist-00001-2", JobPhase::kRunning, true, 9001)},
       {"fmnist-00001-3", Harness::status("fmnist-00001-3", JobPhase::kQueued, false, 0)}}));
  ASSERT_TRUE(h.replica("fmnist-00001-2")->evicted);
  const auto eviction = std::count_if(h.timers_.begin(), h.timers_.end(),
                                      [](const fx::StartTimer& t) { return t.eviction; });
  EXPECT_EQ(eviction, 1) << "the wait for a replacement is armed again";
  h.fire_timers();
  EXPECT_EQ(h.replica("fmnist-00001-2")->state, ServiceReplicaState::kDraining);
  EXPECT_EQ(h.replica("fmnist-00001-2")->message,
            "its node node-1 is drained and no replica elsewhere was ready within 120 s");
  h.fire_timers();
  EXPECT_EQ(h.deleted_, std::vector<std::string>{"fmnist-00001-2"});
}

TEST(ServiceStateMachine, AReplicaNotYetReadyOnADrainedNodeDrainsAtOnce) {
  Harness h;
  h.job_runs("fmnist-00001-1", true);
  h.job_runs("fmnist-00001-2", false);
  h.run(h.machine_->on_evict("fmnist-00001-2"));
  EXPECT_EQ(h.replica("fmnist-00001-2")->state, ServiceReplicaState::kDraining);
  EXPECT_FALSE(h.replica("fmnist-00001-2")->evicted);
  EXPECT_EQ(h.created_jobs().back(), "fmnist-00001-3");
}

TEST(ServiceStateMachine, TheAutoscalerScalesARevisionWithinItsBoundsAndSaysSo) {
  Harness h;  // minReplicas 2, maxReplicas 4, scaleTarget 100 (the default)
  h.job_runs("fmnist-00001-1", true);
  h.job_runs("fmnist-00001-2", true);
  for (int i = 0; i < 30; ++i) h.run(h.machine_->on_load("ingress", "fmnist-00001", 1000, 50));
  EXPECT_EQ(h.created_jobs().size(), 4u);  // capped at maxReplicas
  EXPECT_EQ(h.machine_->record().status.revisions[0].desired_replicas, 4);
  bool scaled = false;
  for (const auto& e : h.events_) scaled = scaled || e.reason == "Scaled";
  EXPECT_TRUE(scaled);
  // A restarted coordinator keeps the count instead of scaling back in.
  auto again = ServiceStateMachine::Create(h.machine_->record(), ServiceMachineOptions{});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->record().status.revisions[0].desired_replicas, 4);
}

TEST(ServiceStateMachine, AtMinZeroItStartsOneScalesToZeroWhenIdleAndStartsOneOnARequest) {
  std::string yaml = service_yaml("a");
  yaml.replace(yaml.find("minReplicas: 2"), 14, "minReplicas: 0");
  Harness h(yaml);
  // One to begin with: a revision proves it serves before it may go to zero.
  EXPECT_EQ(h.created_jobs(), (std::vector<std::string>{"fmnist-00001-1"}));
  for (int i = 0; i < 300; ++i) {  // idle, but never ready: stays
    h.clock_ += 250;
    h.run(h.machine_->on_load("ingress", "fmnist-00001", 0, 0));
  }
  EXPECT_EQ(h.machine_->record().status.revisions[0].desired_replicas, 1);
  EXPECT_FALSE(h.machine_->route().revisions[0].activate);

  h.job_runs("fmnist-00001-1", true);
  h.run(h.machine_->on_ingress(true, "http://127.0.0.1:8080"));
  EXPECT_TRUE(h.machine_->route().revisions[0].activate);
  for (int i = 0; i < 200; ++i) {  // 50 s without a request: not yet
    h.clock_ += 250;
    h.run(h.machine_->on_load("ingress", "fmnist-00001", 0, 0));
  }
  EXPECT_EQ(h.replica("fmnist-00001-1")->state, ServiceReplicaState::kReady);
  for (int i = 0; i < 60; ++i) {  // a whole stable window (60 s): to zero
    h.clock_ += 250;
    h.run(h.machine_->on_load("ingress", "fmnist-00001", 0, 0));
  }
  EXPECT_EQ(h.replica("fmnist-00001-1")->state, ServiceReplicaState::kDraining);
  EXPECT_EQ(h.replica("fmnist-00001-1")->message, "scaled to zero");
  h.fire_timers();
  EXPECT_EQ(h.deleted_, (std::vector<std::string>{"fmnist-00001-1"}));
  // Still the service's traffic, still Ready: the ingress holds requests.
  EXPECT_EQ(h.traffic(), "fmnist-00001=100");
  EXPECT_TRUE(h.machine_->record().status.ready);
  EXPECT_NE(h.condition(protocol::ServiceConditionType::kPredictorReady)
                .message.find("fmnist-00001 at zero replicas"),
            std::string::npos);
  auto route = h.machine_->route();
  EXPECT_TRUE(route.revisions[0].endpoints.empty());
  EXPECT_TRUE(route.revisions[0].activate);

  // A restarted coordinator keeps it at zero.
  auto again = ServiceStateMachine::Create(h.machine_->record(), ServiceMachineOptions{});
  ASSERT_TRUE(again.ok());
  Harness restarted(std::move(*again));
  restarted.run(restarted.machine_->restore({}));
  EXPECT_TRUE(restarted.created_.empty());

  // A held request is load: one replica at once.
  h.clock_ += 250;
  h.run(h.machine_->on_load("ingress", "fmnist-00001", 0.02, 4));
  EXPECT_EQ(h.created_jobs().back(), "fmnist-00001-2");
  h.job_runs("fmnist-00001-2", true);
  EXPECT_EQ(h.machine_->route().revisions[0].endpoints.size(), 1u);
}

TEST(ServiceStateMachine, AModelThatNeverLoadsLeavesAConditionThatSaysWhy) {
  Harness h;
  h.job_ends("fmnist-00001-1", JobPhase::kFailed, "Error");
  const auto& c = h.condition(protocol::ServiceConditionType::kPredictorReady);
  EXPECT_EQ(c.status, protocol::ConditionStatus::kFalse);
  EXPECT_EQ(c.reason, "ReplicaFailed");
  EXPECT_NE(c.message.find("fmnist-00001-1: Error"), std::string::npos) << c.message;
  EXPECT_EQ(h.condition(protocol::ServiceConditionType::kReady).reason, "ReplicaFailed");
}

TEST(ServiceStateMachine, RestoreAdoptsRunningReplicasAndCreatesOnlyThoseNeverCreated) {
  Harness first;
  first.job_runs("fmnist-00001-1", true);
  ServiceRecord record = first.machine_->record();
  record.status.replicas[1].uid.clear();  // stored, but its job was never created
  auto machine = ServiceStateMachine::Create(record, ServiceMachineOptions{});
  ASSERT_TRUE(machine.ok());
  Harness h(std::move(*machine));
  h.run(h.machine_->restore(
      {{"fmnist-00001-1", Harness::status("fmnist-00001-1", JobPhase::kRunning, true, 9000)}}));
  EXPECT_EQ(h.created_jobs(), (std::vector<std::string>{"fmnist-00001-2"}));
  EXPECT_EQ(h.replica("fmnist-00001-1")->state, ServiceReplicaState::kReady);
  EXPECT_EQ(h.traffic(), "fmnist-00001=100");
}

TEST(ServiceStateMachine, TheSameManifestIsUnchangedAndDeleteStopsEveryReplicaFirst) {
  Harness h;
  h.apply(service_yaml("a"));
  EXPECT_EQ(h.answers_, (std::vector<std::string>{"unchanged"}));
  h.job_runs("fmnist-00001-1", true);
  h.run(h.machine_->on_delete(7));
  EXPECT_EQ(h.deleted_, (std::vector<std::string>{"fmnist-00001-1", "fmnist-00001-2"}));
  EXPECT_TRUE(h.stopped_);
}

TEST(ServiceStateMachine, AReplicaRunsCadreServeWithTheRevisionsModelAndBatching) {
  auto apply =
      apply_of(service_yaml("a",
                            "    batching: {maxBatchSize: 16, maxQueueDelayMicroseconds: 300}\n"
                            "    resources: {cpu: 1, memory: 256Mi}\n"
                            "    nodeSelector: {gpu: h200}\n"));
  const auto record = ServiceStateMachine::first_record(apply, "t", 1);
  const std::string yaml =
      render_replica_job(record.status, apply.spec, record.status.revisions[0], "fmnist-00001-1");
  auto manifest = spec::parse_manifest(yaml);
  ASSERT_TRUE(manifest.ok()) << manifest.status().to_string() << "\n" << yaml;
  const auto& cmd = manifest->job->replica.command;
  ASSERT_EQ(cmd.size(), 8u);
  EXPECT_NE(cmd[2].find("exec cadre-serve"), std::string::npos);
  EXPECT_EQ(cmd[4], "fmnist");
  EXPECT_EQ(cmd[5], "/models/a.cadre");
  EXPECT_NE(cmd[6].find("max_batch_size: 16"), std::string::npos);
  EXPECT_NE(cmd[6].find("max_queue_delay_microseconds: 300"), std::string::npos);
  EXPECT_EQ(manifest->job->replica.resources.cpu_millis, 1000);
  EXPECT_EQ(manifest->job->replica.node_selector,
            (std::map<std::string, std::string>{{"gpu", "h200"}}));
  EXPECT_EQ(manifest->metadata.labels.at("inferenceservice"), "fmnist");
}

}  // namespace
}  // namespace cadre::actors::service_state_machine_test
