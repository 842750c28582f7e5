#include "actors/notebook_state_machine.h"

#include <gtest/gtest.h>

#include "protocol/spec/manifest.h"
#include "protocol/spec/notebook_spec.h"

namespace cadre::actors::notebook_state_machine_test {
namespace {

namespace fx = notebook_effect;
using protocol::JobPhase;
using protocol::NotebookPhase;

std::string notebook_yaml(const std::string& spec_extra = "", const std::string& tmpl = "") {
  return "apiVersion: cadre/v1\nkind: Notebook\nmetadata: {name: alice, namespace: team}\n"
         "spec:\n  template:\n    resources: {cpu: 1, memory: 1Gi, gpu: 1}\n" +
         tmpl + spec_extra;
}

NotebookApply apply_of(const std::string& yaml) {
  auto manifest = spec::parse_manifest(yaml);
  EXPECT_TRUE(manifest.ok()) << manifest.status().to_string();
  return NotebookApply{*manifest->notebook, yaml};
}

// Runs the machine as the actor would: writes succeed at once, jobs are created at
// once, deletes are answered at once; timers are kept for the test to fire.
class Harness {
 public:
  explicit Harness(const std::string& yaml = notebook_yaml()) {
    NotebookMachineOptions options;
    options.now_ms = [this] { return ++clock_; };
    options.checkpoint_root = "/ckpt";
    auto machine = NotebookStateMachine::Create(
        NotebookStateMachine::first_record(apply_of(yaml), "tok", 1), options);
    EXPECT_TRUE(machine.ok()) << machine.status().to_string();
    machine_ = std::move(*machine);
    run(machine_->create());
  }

  void run(NotebookEffects effects) {
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
        events_.push_back(e->event.reason);
        event_messages_.push_back(e->event.message);
      } else if (auto* t = std::get_if<fx::StartTimer>(&effect)) {
        timers_.push_back(t->after);
      } else if (auto* a = std::get_if<fx::AnswerApply>(&effect)) {
        answers_.push_back(a->status.ok() ? a->action : a->status.message());
      } else if (std::holds_alternative<fx::EraseRecord>(effect)) {
        run(machine_->on_erased(Status::Ok()));
      } else if (auto* ad = std::get_if<fx::AnswerDelete>(&effect)) {
        delete_answers_ += static_cast<int>(ad->requests.size());
        if (!ad->status.ok()) delete_errors_.push_back(ad->status.message());
      } else if (std::holds_alternative<fx::Stop>(effect)) {
        stopped_ = true;
      }
    }
  }

  protocol::JobStatus job(const std::string& name, JobPhase phase, bool ready,
                          const std::string& node = "gpu-2") {
    protocol::JobStatus s;
    s.name = name;
    s.kind = "Job";
    s.phase = phase;
    protocol::ReplicaStatus r;
    r.name = "main-0";
    r.node = phase == JobPhase::kQueued ? "" : node;
    r.address = "10.0.0.2";
    r.port = 31000;
    r.gpu_indices = {1};
    r.ready = ready;
    s.replicas.push_back(r);
    return s;
  }
  void serves(const std::string& name) {
    run(machine_->on_job_status(job(name, JobPhase::kRunning, true)));
  }
  void fire_timer() { run(machine_->on_timer()); }

  NotebookStateMachine& m() { return *machine_; }
  const protocol::NotebookStatus& st() { return machine_->record().status; }

  std::unique_ptr<NotebookStateMachine> machine_;
  int64_t clock_ = 100;
  int writes_ = 0;
  Status create_status_ = Status::Ok();
  std::vector<fx::CreateJob> created_;
  std::vector<std::string> deleted_;
  std::vector<std::string> events_;
  std::vector<std::string> event_messages_;
  std::vector<std::chrono::milliseconds> timers_;
  std::vector<std::string> answers_;
  int delete_answers_ = 0;
  std::vector<std::string> delete_errors_;
  bool stopped_ = false;
};

TEST(NotebookStateMachine, StartsItsServerAsAJobOnceTheRecordNamingItIsStored) {
  Harness h;
  ASSERT_EQ(h.created_.size(), 1u);
  EXPECT_EQ(h.created_[0].job, "alice-1");
  EXPECT_EQ(h.created_[0].node, "");  // the first start goes anywhere
  EXPECT_EQ(h.st().phase, NotebookPhase::kPending);
  EXPECT_EQ(h.st().workspace, "/ckpt/team/_notebooks/alice");
  // The job is a Job the coordinator accepts, running Jupyter through the launcher.
  auto job = spec::parse_manifest(h.created_[0].yaml);
  ASSERT_TRUE(job.ok()) << job.status().to_string() << "\n" << h.created_[0].yaml;
  const auto& t = job->job->replica;
  EXPECT_EQ(job->metadata.ns, "team");
  EXPECT_EQ(t.command[0], "sh");
  EXPECT_EQ(t.command[3], "/ckpt/team/_notebooks/alice");
  EXPECT_EQ(t.command[4], "jupyter");
  EXPECT_EQ(t.args, std::vector<std::string>{"jupyter-notebook"});
  EXPECT_EQ(t.resources.gpus, 1);
  EXPECT_EQ(t.resources.cpu_millis, 1000);
  // The token never appears in the manifest: Jupyter reads it from a 0600 file.
  EXPECT_EQ(h.created_[0].yaml.find("tok\n"), std::string::npos);
  EXPECT_NE(h.created_[0].yaml.find("JUPYTER_TOKEN_FILE"), std::string::npos);
  EXPECT_NE(h.created_[0].yaml.find("/notebook/team/alice/"), std::string::npos);
}

TEST(NotebookStateMachine, IsRunningOnceItsServerAnswersAndIsPinnedToThatNode) {
  Harness h;
  h.run(h.m().on_job_status(h.job("alice-1", JobPhase::kQueued, false)));
  EXPECT_EQ(h.st().phase, NotebookPhase::kPending);
  EXPECT_EQ(h.st().node, "");
  h.run(h.m().on_job_status(h.job("alice-1", JobPhase::kRunning, false)));
  EXPECT_EQ(h.st().node, "gpu-2");
  EXPECT_EQ(h.st().phase, NotebookPhase::kPending);
  h.serves("alice-1");
  EXPECT_EQ(h.st().phase, NotebookPhase::kRunning);
  EXPECT_TRUE(h.st().ready);
  EXPECT_EQ(h.st().port, 31000);
  EXPECT_EQ(h.st().gpu_indices, std::vector<int32_t>{1});
  EXPECT_GT(h.st().started_ms, 0);
  EXPECT_NE(std::find(h.events_.begin(), h.events_.end(), "Pinned"), h.events_.end());
}

TEST(NotebookStateMachine, StopsItsServerKeepingTheWorkspaceAndStartsAgainOnTheSameNode) {
  Harness h;
  h.serves("alice-1");
  h.run(h.m().on_apply(7, apply_of(notebook_yaml("  stopped: true\n"))));
  EXPECT_EQ(h.answers_, std::vector<std::string>{"configured"});
  EXPECT_EQ(h.deleted_, std::vector<std::string>{"alice-1"});
  EXPECT_EQ(h.st().phase, NotebookPhase::kStopped);
  EXPECT_EQ(h.st().job, "");
  EXPECT_TRUE(h.st().gpu_indices.empty());  // its GPU is released with its job
  EXPECT_EQ(h.st().node, "gpu-2");
  // Asked to stop, then stopped: one event each, as starting is one and started another.
  const std::vector<std::string> stopping{"Stopping", "Stopped"};
  EXPECT_TRUE(std::search(h.events_.begin(), h.events_.end(), stopping.begin(), stopping.end()) !=
              h.events_.end());
  h.run(h.m().on_apply(8, apply_of(notebook_yaml("  stopped: false\n"))));
  ASSERT_EQ(h.created_.size(), 2u);
  EXPECT_EQ(h.created_[1].job, "alice-2");
  EXPECT_EQ(h.created_[1].node, "gpu-2");  // where its workspace is
  EXPECT_EQ(h.st().phase, NotebookPhase::kPending);
  h.serves("alice-2");
  EXPECT_EQ(h.st().phase, NotebookPhase::kRunning);
}

TEST(NotebookStateMachine, AStoppedNotebookStartsNothingUntilStarted) {
  Harness h(notebook_yaml("  stopped: true\n"));
  EXPECT_TRUE(h.created_.empty());
  EXPECT_EQ(h.st().phase, NotebookPhase::kStopped);
  h.run(h.m().on_apply(1, apply_of(notebook_yaml("  stopped: true\n"))));
  EXPECT_EQ(h.answers_, std::vector<std::string>{"unchanged"});
}

TEST(NotebookStateMachine, AServerThatEndsIsStartedAgainAfterADoublingBackOff) {
  Harness h;
  h.serves("alice-1");
  auto ended = h.job("alice-1", JobPhase::kFailed, false);
  ended.reason = "Error";
  ended.message = "replica main-0 exited with code 1";
  h.run(h.m().on_job_status(ended));
  EXPECT_EQ(h.deleted_, std::vector<std::string>{"alice-1"});
  EXPECT_EQ(h.st().restarts, 1);
  ASSERT_EQ(h.timers_.size(), 1u);
  EXPECT_EQ(h.timers_[0], std::chrono::milliseconds(1000));
  EXPECT_EQ(h.created_.size(), 1u);  // nothing before the back-off
  h.fire_timer();
  ASSERT_EQ(h.created_.size(), 2u);
  EXPECT_EQ(h.created_[1].node, "gpu-2");
  // Failing again before ever answering: the wait doubles, then a crash loop shows.
  for (int i = 2; i <= 4; ++i) {
    h.run(h.m().on_job_status(h.job("alice-" + std::to_string(i), JobPhase::kFailed, false)));
    h.fire_timer();
  }
  EXPECT_EQ(h.timers_[1], std::chrono::milliseconds(2000));
  EXPECT_EQ(h.timers_[2], std::chrono::milliseconds(4000));
  EXPECT_EQ(h.st().reason, "");  // alice-5 is starting
  h.run(h.m().on_job_status(h.job("alice-5", JobPhase::kFailed, false)));
  EXPECT_EQ(h.st().reason, protocol::reason::kCrashLoopBackOff);
  EXPECT_EQ(h.st().phase, NotebookPhase::kPending);
}

TEST(NotebookStateMachine, AJobThatCannotBeCreatedIsRetriedAfterTheBackOff) {
  Harness h;
  h.create_status_ = InvalidArgument("spec.template.resources.gpu: no node has 1 GPU");
  h.serves("alice-1");
  h.run(h.m().on_job_status(h.job("alice-1", JobPhase::kFailed, false)));
  h.fire_timer();  // alice-2 is refused
  EXPECT_EQ(h.st().job, "");
  EXPECT_NE(h.st().message.find("no node has 1 GPU"), std::string::npos) << h.st().message;
  h.create_status_ = Status::Ok();
  h.fire_timer();
  EXPECT_EQ(h.st().job, "alice-3");
}

TEST(NotebookStateMachine, ATemplateChangeRestartsTheServerWithTheNewOne) {
  Harness h;
  h.serves("alice-1");
  h.run(h.m().on_apply(1, apply_of(notebook_yaml("", "    env: [{name: A, value: b}]\n"))));
  EXPECT_EQ(h.deleted_, std::vector<std::string>{"alice-1"});
  ASSERT_EQ(h.created_.size(), 2u);
  EXPECT_NE(h.created_[1].yaml.find("value: \"b\""), std::string::npos) << h.created_[1].yaml;
  // Only culling changed: the server keeps running.
  h.serves("alice-2");
  h.run(h.m().on_apply(2, apply_of(notebook_yaml("  idleCullingMinutes: 30\n",
                                                 "    env: [{name: A, value: b}]\n"))));
  EXPECT_EQ(h.created_.size(), 2u);
  EXPECT_EQ(h.st().idle_culling_minutes, 30);
}

TEST(NotebookStateMachine, OldServersNewsIsIgnored) {
  Harness h;
  h.serves("alice-1");
  h.run(h.m().on_apply(1, apply_of(notebook_yaml("  stopped: true\n"))));
  h.run(h.m().on_apply(2, apply_of(notebook_yaml("  stopped: false\n"))));
  h.run(h.m().on_job_status(h.job("alice-1", JobPhase::kRunning, true)));
  EXPECT_EQ(h.st().job, "alice-2");
  EXPECT_FALSE(h.st().ready);
}

TEST(NotebookStateMachine, DeleteStopsTheServerThenErasesTheRecord) {
  Harness h;
  h.serves("alice-1");
  h.run(h.m().on_delete(1));
  EXPECT_EQ(h.deleted_, std::vector<std::string>{"alice-1"});
  EXPECT_EQ(h.delete_answers_, 1);
  EXPECT_TRUE(h.stopped_);
}

TEST(NotebookStateMachine, AfterARestartAStoredServerIsAdoptedOrStartedAgain) {
  Harness first;
  first.serves("alice-1");
  NotebookMachineOptions options;
  options.checkpoint_root = "/ckpt";
  {
    auto again = NotebookStateMachine::Create(first.m().record(), options);
    ASSERT_TRUE(again.ok());
    Harness h(notebook_yaml());
    h.machine_ = std::move(*again);
    h.created_.clear();
    h.run(h.machine_->restore({{"alice-1", h.job("alice-1", JobPhase::kRunning, true)}}));
    EXPECT_TRUE(h.created_.empty());
    EXPECT_EQ(h.st().phase, NotebookPhase::kRunning);
  }
  auto again = NotebookStateMachine::Create(first.m().record(), options);
  ASSERT_TRUE(again.ok());
  Harness h(notebook_yaml());
  h.machine_ = std::move(*again);
  h.created_.clear();
  h.run(h.machine_->restore({}));  // its job is gone
  ASSERT_EQ(h.created_.size(), 1u);
  EXPECT_EQ(h.created_[0].job, "alice-2");
  EXPECT_EQ(h.created_[0].node, "gpu-2");
}

protocol::NotebookActivity activity(const std::string& job, int64_t last_ms, bool busy = false) {
  protocol::NotebookActivity a;
  a.name = "alice";
  a.job = job;
  a.last_activity_ms = last_ms;
  a.busy = busy;
  a.kernels = 1;
  return a;
}

constexpr int64_t kMinute = 60 * 1000;

TEST(NotebookStateMachine, AServerIdlePastItsLimitIsCulledKeepingItsWorkspace) {
  Harness h(notebook_yaml("  idleCullingMinutes: 2\n"));
  h.serves("alice-1");
  const int64_t started = h.st().started_ms;
  h.clock_ = started + kMinute;
  h.run(h.m().on_activity(activity("alice-1", started + 10)));
  EXPECT_EQ(h.st().phase, NotebookPhase::kRunning);  // idle for a minute: not yet
  EXPECT_EQ(h.st().last_activity_ms, started + 10);
  h.clock_ = started + 10 + 2 * kMinute;
  h.run(h.m().on_activity(activity("alice-1", started + 10)));
  EXPECT_EQ(h.deleted_, std::vector<std::string>{"alice-1"});
  EXPECT_EQ(h.st().phase, NotebookPhase::kStopped);
  EXPECT_EQ(h.st().reason, "IdleCulled");
  EXPECT_EQ(h.st().node, "gpu-2");
  EXPECT_NE(std::find(h.events_.begin(), h.events_.end(), "IdleCulled"), h.events_.end());
  // The event says what the culler saw, so a user can tell why.
  EXPECT_TRUE(std::any_of(h.event_messages_.begin(), h.event_messages_.end(), [](auto& m) {
    return m.find("its server has 1 kernel, none executing") != std::string::npos;
  }));
  // Culled as a stop: the stored manifest says stopped, and starting it again
  // (what `cadre notebook start` applies) brings it back on its node.
  auto stored = spec::parse_manifest(h.st().manifest);
  ASSERT_TRUE(stored.ok()) << stored.status().to_string();
  EXPECT_TRUE(stored->notebook->stopped);
  auto started_again = spec::notebook_manifest_with_stopped(h.st().manifest, false);
  ASSERT_TRUE(started_again.ok());
  h.run(h.m().on_apply(3, apply_of(*started_again)));
  ASSERT_EQ(h.created_.size(), 2u);
  EXPECT_EQ(h.created_[1].node, "gpu-2");
}

TEST(NotebookStateMachine, AKernelExecutingIsActivityNowAndIsNeverCulled) {
  Harness h(notebook_yaml("  idleCullingMinutes: 1\n"));
  h.serves("alice-1");
  h.clock_ += 10 * kMinute;
  h.run(h.m().on_activity(activity("alice-1", 5, /*busy=*/true)));
  EXPECT_EQ(h.st().phase, NotebookPhase::kRunning);
  EXPECT_TRUE(h.deleted_.empty());
  EXPECT_GE(h.st().last_activity_ms, h.clock_ - 1);
}

TEST(NotebookStateMachine, ANewServerCountsAsActiveFromItsStart) {
  Harness h(notebook_yaml("  idleCullingMinutes: 1\n"));
  h.clock_ = 50 * kMinute;
  h.serves("alice-1");
  // Jupyter reports activity from long before (an old kernel file, a clock skew).
  h.run(h.m().on_activity(activity("alice-1", 1)));
  EXPECT_EQ(h.st().phase, NotebookPhase::kRunning);
  EXPECT_GE(h.st().last_activity_ms, 50 * kMinute);
}

TEST(NotebookStateMachine, WithoutALimitActivityIsShownAndNothingIsCulled) {
  Harness h;
  h.serves("alice-1");
  h.clock_ += 600 * kMinute;
  h.run(h.m().on_activity(activity("alice-1", 1000)));
  EXPECT_EQ(h.st().phase, NotebookPhase::kRunning);
  EXPECT_GT(h.st().last_activity_ms, 0);
}

TEST(NotebookStateMachine, ActivityOfAnotherServerOrAServerNotYetReadyIsIgnored) {
  Harness h(notebook_yaml("  idleCullingMinutes: 1\n"));
  h.clock_ += 10 * kMinute;
  h.run(h.m().on_activity(activity("alice-1", 1)));  // not ready yet
  EXPECT_EQ(h.st().phase, NotebookPhase::kPending);
  h.serves("alice-1");
  h.clock_ += 10 * kMinute;
  h.run(h.m().on_activity(activity("alice-0", 1)));  // an older server's
  EXPECT_EQ(h.st().phase, NotebookPhase::kRunning);
  EXPECT_TRUE(h.deleted_.empty());
}

TEST(NotebookStateMachine, ItsRouteCarriesTheServerAndJupytersToken) {
  Harness h;
  EXPECT_FALSE(h.m().route().ready);
  h.serves("alice-1");
  const auto route = h.m().route();
  EXPECT_EQ(route.ns, "team");
  EXPECT_TRUE(route.ready);
  EXPECT_EQ(route.address, "10.0.0.2");
  EXPECT_EQ(route.port, 31000);
  EXPECT_EQ(route.job, "alice-1");
  EXPECT_EQ(route.token, "tok");
  EXPECT_EQ(h.m().summary().manifest, "");  // the summary never carries it
}

protocol::JobStatus finished(const std::string& name, JobPhase phase) {
  protocol::JobStatus s;
  s.name = name;
  s.kind = "Job";
  s.phase = phase;
  s.reason = phase == JobPhase::kSucceeded ? "Completed" : "Error";
  return s;
}

TEST(NotebookStateMachine, DeleteWithPurgeRemovesTheWorkspaceOnItsNodeThenErasesTheRecord) {
  Harness h;
  h.serves("alice-1");
  h.run(h.m().on_delete(1, /*purge=*/true));
  EXPECT_EQ(h.deleted_, std::vector<std::string>{"alice-1"});  // the server goes first
  ASSERT_EQ(h.created_.size(), 2u);
  const auto& purge = h.created_[1];
  EXPECT_EQ(purge.job, "alice-purge-2");
  EXPECT_EQ(purge.node, "gpu-2");  // where the folder is
  auto job = spec::parse_manifest(purge.yaml);
  ASSERT_TRUE(job.ok()) << job.status().to_string() << "\n" << purge.yaml;
  EXPECT_EQ(job->job->replica.command.back(), "/ckpt/team/_notebooks/alice");
  EXPECT_FALSE(h.stopped_);  // not before the folder is gone
  h.run(h.m().on_job_status(finished("alice-purge-2", JobPhase::kSucceeded)));
  EXPECT_EQ(h.deleted_.back(), "alice-purge-2");
  EXPECT_TRUE(h.stopped_);
  EXPECT_EQ(h.delete_answers_, 1);
  EXPECT_TRUE(h.delete_errors_.empty());
}

TEST(NotebookStateMachine, APurgeThatFailsKeepsTheNotebookAndStartsItsServerAgain) {
  Harness h;
  h.serves("alice-1");
  h.run(h.m().on_delete(1, true));
  h.run(h.m().on_job_status(finished("alice-purge-2", JobPhase::kFailed)));
  ASSERT_EQ(h.delete_errors_.size(), 1u);
  EXPECT_NE(h.delete_errors_[0].find("was not removed"), std::string::npos) << h.delete_errors_[0];
  EXPECT_NE(h.delete_errors_[0].find("cadre logs job/alice-purge-2"), std::string::npos);
  EXPECT_FALSE(h.stopped_);
  EXPECT_EQ(h.created_.back().job, "alice-3");  // running again, as before the delete
  EXPECT_EQ(h.created_.back().node, "gpu-2");
}

TEST(NotebookStateMachine, APurgeItsNodeNeverRunsFailsAfterTheTimeout) {
  Harness h;
  h.serves("alice-1");
  h.run(h.m().on_delete(1, true));
  ASSERT_FALSE(h.timers_.empty());
  EXPECT_EQ(h.timers_.back(), std::chrono::milliseconds(120000));
  h.clock_ += 121000;
  h.fire_timer();
  ASSERT_EQ(h.delete_errors_.size(), 1u);
  EXPECT_NE(h.delete_errors_[0].find("did not run the purge within 120 s"), std::string::npos);
  EXPECT_EQ(h.deleted_.back(), "alice-purge-2");  // the waiting job is taken back
  EXPECT_FALSE(h.stopped_);
}

TEST(NotebookStateMachine, PurgeRefusesAUsersOwnFolderAndStopsNothing) {
  Harness h(notebook_yaml("  workspace: {path: /data/alice}\n"));
  h.serves("alice-1");
  h.run(h.m().on_delete(1, true));
  ASSERT_EQ(h.delete_errors_.size(), 1u);
  EXPECT_NE(h.delete_errors_[0].find("spec.workspace.path /data/alice"), std::string::npos);
  EXPECT_TRUE(h.deleted_.empty());
  EXPECT_EQ(h.st().phase, NotebookPhase::kRunning);
}

TEST(NotebookStateMachine, PurgingANotebookNeverPlacedNeedsNoJob) {
  Harness h(notebook_yaml("  stopped: true\n"));
  h.run(h.m().on_delete(1, true));
  EXPECT_TRUE(h.created_.empty());
  EXPECT_TRUE(h.stopped_);
}

TEST(NotebookStateMachine, ItsCredentialsAreTheOnesItsLauncherDerivesFromItsToken) {
  // Expected values from the launcher's own Python (hashlib, pyzmq) for token "tok".
  auto credentials = notebook_credentials("tok");
  ASSERT_TRUE(credentials.ok()) << credentials.status().to_string();
  EXPECT_EQ(credentials->client_public_key, "H%NgQ?N7>q>>7s>q={lmX{1n^kxSi}c+gI(/aw:d");
  EXPECT_EQ(credentials->ingress_token,
            "cadre_5305bc87653ac64ad411eb02f9c3b85335564b07e7f338ac619e59c4ce00ec19");
  EXPECT_NE(notebook_credentials("tok2")->client_public_key, credentials->client_public_key);
}

TEST(NotebookStateMachine, ItsServerGetsTheClientPortAndKeyButNoSecret) {
  NotebookMachineOptions options;
  options.checkpoint_root = "/ckpt";
  options.client_endpoint = "tcp://10.0.0.1:7071";
  options.server_public_key = "server-public-key";
  auto machine = NotebookStateMachine::Create(
      NotebookStateMachine::first_record(apply_of(notebook_yaml()), "tok", 1), options);
  ASSERT_TRUE(machine.ok());
  const std::string yaml = (*machine)->render_job("alice-1");
  auto job = spec::parse_manifest(yaml);
  ASSERT_TRUE(job.ok()) << job.status().to_string();
  std::map<std::string, std::string> env;
  for (const auto& e : job->job->replica.env) env[e.name] = e.value;
  EXPECT_EQ(env["CADRE_COORDINATOR"], "tcp://10.0.0.1:7071");
  EXPECT_EQ(env["CADRE_COORDINATOR_KEY"], "server-public-key");
  // The launcher derives the key and token with the same purposes, from the job
  // token the agent hands it; the manifest holds neither.
  EXPECT_NE(yaml.find(kNotebookClientKeyPurpose), std::string::npos);
  EXPECT_NE(yaml.find(kNotebookIngressTokenPurpose), std::string::npos);
  EXPECT_EQ(yaml.find("tok\n"), std::string::npos);
  EXPECT_EQ(yaml.find(notebook_credentials("tok")->ingress_token), std::string::npos);
}

}  // namespace
}  // namespace cadre::actors::notebook_state_machine_test
