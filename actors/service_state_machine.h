// The supervisor of one InferenceService as a pure state machine: events in,
// effects out, no CAF (STYLE.md §12). service_actor.cc is the thin shell; the
// manager creates and deletes the replica jobs it asks for and forwards their
// status here.
//
// Revisions and traffic, as KServe defines them: every apply that changes the
// predictor makes a revision ("<name>-00002"). Without canaryTrafficPercent the new
// revision takes all the traffic once it has a ready replica, and the one that had
// it becomes previousRolledoutRevision; with canaryTrafficPercent P it takes P% once
// ready and latestRolledoutRevision keeps the rest; P = 0 sends everything back.
// Traffic only ever moves to a revision with a ready replica, so a rollout never
// leaves requests without a replica.
//
// Replicas: each is a one-replica job ("<revision>-<k>") running cadre-serve,
// probed by its agent on /v2/health/ready. The supervisor keeps each revision at
// its desired count: a failed or lost replica is replaced (after a doubling
// back-off when they keep failing), one too many is drained — taken out of the
// ingress's routes first and stopped `drain_delay` later, so requests the ingress
// already sent finish (cadre-serve also finishes what it holds on SIGTERM). A replica
// whose node is drained is replaced first and drained once its replacement is ready.
//
// Durability as for jobs (write_barrier.h): every change is persisted first, and a
// replica's job is created only once the record naming it is stored. After a
// coordinator restart a stored replica whose job exists is adopted, one whose job
// does not is replaced.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "actors/autoscaler.h"
#include "actors/cluster_policy.h"
#include "actors/state_store.h"
#include "actors/write_barrier.h"
#include "protocol/messages.h"
#include "protocol/spec/inference_service_spec.h"
#include "protocol/status.h"

namespace cadre::actors {

namespace service_effect {
struct Persist {  // write record(); answer with on_stored(seq, status)
  uint64_t seq = 0;
};
struct PublishSummary {};  // the manager gets summary() and route()
struct RecordEvent {
  protocol::JobEvent event;
};
struct CreateJob {  // create a replica's job (answer with on_job_created)
  std::string job;
  std::string yaml;
};
struct DeleteJob {  // delete a replica's job (answer with on_job_deleted)
  std::string job;
};
struct StartTimer {  // call on_timer(job, eviction) after this long ("" : the back-off timer)
  std::string job;
  std::chrono::milliseconds after{0};
  bool eviction = false;  // the evicted replica's wait for its replacement is over
};
struct AnswerApply {
  uint64_t request = 0;
  Status status;
  std::string action;  // "configured" or "unchanged"
};
struct EraseRecord {};  // delete the service from the store; answer with on_erased
struct AnswerDelete {
  std::vector<uint64_t> requests;
  Status status;
};
struct Stop {};  // the service is gone: the shell tells the manager and quits
struct Scaled {  // the autoscaler changed a revision's count (counted in the metrics)
  std::string revision;
  int32_t from = 0;
  int32_t to = 0;
};
}  // namespace service_effect

using ServiceEffect =
    std::variant<service_effect::Persist, service_effect::PublishSummary,
                 service_effect::RecordEvent, service_effect::CreateJob, service_effect::DeleteJob,
                 service_effect::StartTimer, service_effect::AnswerApply,
                 service_effect::EraseRecord, service_effect::AnswerDelete, service_effect::Stop,
                 service_effect::Scaled>;
using ServiceEffects = std::vector<ServiceEffect>;

struct ServiceMachineOptions {
  StoreRetryPolicy store_retry;
  std::function<int64_t()> now_ms;  // wall clock; default wall_ms()
  // Between taking a replica out of the routes and stopping it: the ingress polls
  // its routes every 250 ms, so this covers the poll and requests just sent.
  std::chrono::milliseconds drain_delay{2000};
  // Replacing replicas that keep failing: 1 s, 2 s, 4 s ... up to the cap.
  std::chrono::milliseconds failure_backoff{1000};
  std::chrono::milliseconds failure_backoff_max{60000};
  // How long an evicted replica (its node drained) serves on while its replacement
  // is placed and loads its model; then it drains even without one.
  std::chrono::milliseconds eviction_grace{120000};
  AutoscalePolicy autoscale;  // Knative's KPA windows (actors/autoscaler.h)
};

// A predictor as applied: the spec, its text, and where its model was found.
struct ServiceApply {
  spec::InferenceServiceSpec spec;
  std::string manifest;
  std::string model_path;  // the model file or model folder (resolved from storageUri)
};

// The revision name for a generation: "<service>-00001".
std::string revision_name(const std::string& service, int64_t generation);

class ServiceStateMachine {
 public:
  // The record of a new service: revision 1 from `apply`.
  static ServiceRecord first_record(const ServiceApply& apply, std::string token, int64_t now_ms);
  // Fails when a stored revision's manifest no longer parses (it did when applied).
  static Result<std::unique_ptr<ServiceStateMachine>> Create(ServiceRecord record,
                                                             ServiceMachineOptions options);

  // Exactly one of these starts the machine.
  ServiceEffects create();
  // After a coordinator restart: the current summaries of the jobs it owns.
  ServiceEffects restore(const std::map<std::string, protocol::JobStatus>& jobs);

  // A new apply of the same service: a new revision, or only a new canary share.
  ServiceEffects on_apply(uint64_t request, const ServiceApply& apply);
  ServiceEffects on_job_created(const std::string& job, const Status& status);
  ServiceEffects on_job_status(const protocol::JobStatus& job);
  ServiceEffects on_job_gone(const std::string& job);  // deleted by someone else
  ServiceEffects on_job_deleted(const std::string& job, const Status& status);
  ServiceEffects on_timer(const std::string& job, bool eviction = false);
  // The node of replica job `job` is drained (cadre drain): a replacement starts on
  // another node first, and the replica drains once that one is ready — surge
  // first, so a drain never takes a service's capacity away (a replica that is not
  // ready yet drains at once).
  ServiceEffects on_evict(const std::string& job);
  // What ingress `source` saw of `revision` since its last report: the average
  // requests in flight and the request rate. Feeds the revision's autoscaler.
  ServiceEffects on_load(const std::string& source, const std::string& revision, double concurrency,
                         double rps);
  // Whether an ingress polls the routes, and the URL users reach it at.
  ServiceEffects on_ingress(bool connected, const std::string& url);
  ServiceEffects on_delete(uint64_t request);
  ServiceEffects on_stored(uint64_t seq, const Status& status);
  ServiceEffects on_erased(const Status& status);

  const ServiceRecord& record() const { return rec_; }
  const std::string& name() const { return rec_.status.name; }
  protocol::InferenceServiceStatus status() const { return rec_.status; }
  protocol::InferenceServiceStatus summary() const;  // without manifests
  protocol::ServiceRoute route() const;              // what the ingress needs
  bool deleting() const { return deleting_; }

 private:
  ServiceStateMachine(ServiceRecord record, ServiceMachineOptions options,
                      std::map<std::string, spec::InferenceServiceSpec> specs);
  // Revision `generation` of `service` as `apply` makes it.
  static protocol::RevisionStatus new_revision(const ServiceApply& apply,
                                               const std::string& service, int64_t generation,
                                               int64_t now_ms);

  struct CreateIfWanted {  // the replica is still wanted: create its job
    std::string job;
  };
  struct Publish {};
  struct Answer {
    uint64_t request = 0;
    std::string action;
  };
  using Deferred = std::variant<CreateIfWanted, Publish, Answer>;

  using Replica = protocol::ServiceReplica;
  using Revision = protocol::RevisionStatus;
  int64_t now() const { return options_.now_ms(); }
  protocol::InferenceServiceStatus& st() { return rec_.status; }
  const protocol::InferenceServiceStatus& st() const { return rec_.status; }
  Replica* replica(const std::string& job);
  Revision* revision(const std::string& name);
  const Revision* revision(const std::string& name) const;
  const spec::InferenceServiceSpec& spec_of(const std::string& revision) const;
  bool live(const Replica& r) const;  // counts toward its revision's replicas
  static bool scales_to_zero(const Revision& rev);
  bool servable(const Revision& rev) const;  // traffic may go to it (now, or held at zero)

  void persist(ServiceEffects& out, std::vector<Deferred> then = {});
  void run_deferred(ServiceEffects& out, const Deferred& d);
  void event(ServiceEffects& out, protocol::EventType type, const std::string& reason,
             const std::string& message);
  void add_revision(ServiceEffects& out, const ServiceApply& apply);

  // Traffic, promotion, desired counts, replicas made and drained, conditions.
  void reconcile(ServiceEffects& out);
  void route_traffic(ServiceEffects& out);
  void promote_when_ready(ServiceEffects& out);
  std::vector<protocol::TrafficTarget> servable_traffic(
      const std::vector<std::pair<std::string, int32_t>>& wanted) const;
  int32_t desired_of(const Revision& rev) const;
  void scale(ServiceEffects& out, Revision& rev);
  void start_replica(ServiceEffects& out, Revision& rev);
  void drain(ServiceEffects& out, Replica& r, const std::string& why);
  void set_conditions(ServiceEffects& out);
  void set_condition(ServiceEffects& out, protocol::ServiceConditionType type, bool ok,
                     const std::string& reason, const std::string& message);
  // `counts`: the program failed, not its node: repeated ones back off.
  void fail(ServiceEffects& out, Replica& r, const std::string& message, bool counts = true);
  void drop_replica(const std::string& job);  // its job is gone
  void drop_unused_revisions();
  void maybe_erase(ServiceEffects& out);

  ServiceRecord rec_;
  ServiceMachineOptions options_;
  std::map<std::string, spec::InferenceServiceSpec> specs_;  // by revision name
  std::map<std::string, int32_t> wanted_;  // the share each revision should have (KServe's rules)
  std::string last_failure_;               // "<job>: why", until a replica becomes ready
  std::map<std::string, RevisionAutoscaler> autoscalers_;  // by revision
  // What each revision's autoscaler asks for (kept as RevisionStatus.desired_replicas,
  // so a restarted coordinator does not scale a loaded revision back in).
  std::map<std::string, int32_t> autoscaled_;
  bool ingress_connected_ = false;
  bool deleting_ = false;
  bool erasing_ = false;
  bool backing_off_ = false;             // the failure back-off timer is running
  std::set<std::string> creating_;       // CreateJob sent, on_job_created pending
  std::set<std::string> deleting_jobs_;  // DeleteJob sent, on_job_deleted pending
  std::vector<uint64_t> delete_requests_;
  WriteBarrier<Deferred> writes_;
};

}  // namespace cadre::actors
