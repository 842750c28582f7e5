// The coordinator's internal actor vocabulary (CAF 0.17). Only actors/ and
// coordinator/ include this: CAF headers cost seconds per file to compile.
#pragma once

#include <caf/all.hpp>

#include <set>

#include "actors/client_keys.h"
#include "actors/cluster_policy.h"
#include "actors/coordinator_metrics.h"
#include "actors/experiment_state_machine.h"
#include "actors/job_state_machine.h"
#include "actors/notebook_state_machine.h"
#include "actors/outbox.h"
#include "actors/pipeline_run_state_machine.h"
#include "actors/recurring_run_state_machine.h"
#include "actors/scheduler.h"
#include "actors/service_state_machine.h"
#include "actors/state_store.h"
#include "protocol/messages.h"
#include "protocol/spec/job_spec.h"
#include "protocol/spec/manifest.h"

namespace cadre::actors {

// Atoms are at most 10 characters in CAF 0.17.
using apply_atom = caf::atom_constant<caf::atom("apply")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using delete_atom = caf::atom_constant<caf::atom("delete")>;
using logs_atom = caf::atom_constant<caf::atom("logs")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using started_atom = caf::atom_constant<caf::atom("started")>;
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using chunk_atom = caf::atom_constant<caf::atom("chunk")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using node_atom = caf::atom_constant<caf::atom("node")>;
using node_up_atom = caf::atom_constant<caf::atom("node_up")>;
using node_state_atom = caf::atom_constant<caf::atom("node_state")>;
using node_lost_atom = caf::atom_constant<caf::atom("node_lost")>;
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;
using placed_atom = caf::atom_constant<caf::atom("placed")>;
using never_atom = caf::atom_constant<caf::atom("never")>;
using waiting_atom = caf::atom_constant<caf::atom("waiting")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using reserve_atom = caf::atom_constant<caf::atom("reserve")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using alloc_atom = caf::atom_constant<caf::atom("alloc")>;
using put_atom = caf::atom_constant<caf::atom("put")>;
using event_atom = caf::atom_constant<caf::atom("event")>;
using events_atom = caf::atom_constant<caf::atom("events")>;
using epoch_atom = caf::atom_constant<caf::atom("epoch")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using where_atom = caf::atom_constant<caf::atom("where")>;
using gone_atom = caf::atom_constant<caf::atom("gone")>;
using timer_atom = caf::atom_constant<caf::atom("timer")>;
using parse_atom = caf::atom_constant<caf::atom("parse")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using trial_atom = caf::atom_constant<caf::atom("trial")>;
using experiment_atom = caf::atom_constant<caf::atom("experiment")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using routes_atom = caf::atom_constant<caf::atom("routes")>;
using service_atom = caf::atom_constant<caf::atom("service")>;
using replica_atom = caf::atom_constant<caf::atom("replica")>;
using ingress_atom = caf::atom_constant<caf::atom("ingress")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using pipeline_atom = caf::atom_constant<caf::atom("pipeline")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using step_atom = caf::atom_constant<caf::atom("step")>;
using outputs_atom = caf::atom_constant<caf::atom("outputs")>;
using cache_atom = caf::atom_constant<caf::atom("cache")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using recurring_atom = caf::atom_constant<caf::atom("recurring")>;
using notebook_atom = caf::atom_constant<caf::atom("notebook")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using files_atom = caf::atom_constant<caf::atom("files")>;
using cordon_atom = caf::atom_constant<caf::atom("cordon")>;
using evict_atom = caf::atom_constant<caf::atom("evict")>;
using suspend_atom = caf::atom_constant<caf::atom("suspend")>;
using preempt_atom = caf::atom_constant<caf::atom("preempt")>;
using queues_atom = caf::atom_constant<caf::atom("queues")>;
using quotas_atom = caf::atom_constant<caf::atom("quotas")>;
// Asks an actor for its gauges in the Prometheus text format (a std::string).
using scrape_atom = caf::atom_constant<caf::atom("scrape")>;

// The actors every supervisor needs, handed down at spawn.
struct ActorContext {
  caf::actor store;
  caf::actor registry;
  caf::actor scheduler;
  caf::actor manager;
  std::shared_ptr<Outbox> outbox;
  ClusterPolicy policy;
  std::shared_ptr<ClientKeys> client_keys;      // null when the coordinator runs without CURVE
  std::shared_ptr<CoordinatorMetrics> metrics;  // never null once the coordinator runs
};

}  // namespace cadre::actors

// Local-only message types: the coordinator never serializes actor messages.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::ClientRef)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::JobRecord)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::NodeCapacity)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::actors::NodeCapacity>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::Placement)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::actors::Placement>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::GangRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::NodeReport)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::Allocation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::ReplicaLocation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::JobTimer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::Status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::spec::ResourceRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::spec::Manifest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::RegisterRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::Heartbeat)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::ReplicaReport)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::ReplicaStarted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::ReplicaExited)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::MetricsReport)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::LogsChunk)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::RemoveReplicaFiles)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::ApplyRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::GetRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::DeleteRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::LogsRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::MetricsHistoryRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::MetricsHistoryReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::JobStatus)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::ExperimentStatus)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::MetricsCollection)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::ExperimentRecord)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::actors::ExperimentRecord>)
using CadreJobStatusMap = std::map<std::string, cadre::protocol::JobStatus>;
using CadreSamplesMap = std::map<std::string, std::vector<cadre::protocol::MetricSample>>;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(CadreJobStatusMap)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(CadreSamplesMap)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::JobEvent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::NodeStatus)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::protocol::NodeStatus>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::protocol::QueueStatus>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::QueueQuotas)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::protocol::JobEvent>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::protocol::MetricSample>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::actors::JobRecord>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::protocol::ReplicaReport>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::ReplicaReadiness)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::PipelineRunStatus)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::RecurringRunStatus)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::protocol::RecurringRunStatus>)
using CadreRecurringRunSpecPtr = std::shared_ptr<const cadre::spec::RecurringRunSpec>;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(CadreRecurringRunSpecPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::RetryRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::RetryReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::CordonRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::SuspendRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::SuspendReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::PipelineVersion)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::pipelines::TaskOutputFiles)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::pipelines::CachedExecution>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::TokenCreateRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::TokenRecord)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::actors::TokenRecord>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::RoutesRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::InferenceServiceStatus)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::ServiceRoute)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::ServiceRecord)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::NotebookRecord)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::NotebookStatus)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::NotebookRoute)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::protocol::NotebookActivity)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::NotebookApply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::actors::NotebookRecord>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::ServiceApply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::actors::ServiceRecord>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cadre::actors::FileRemovalRecord)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cadre::actors::FileRemovalRecord>)
