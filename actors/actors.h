// Factories for the coordinator's actors. Each is described where it is defined.
#pragma once

#include <memory>
#include <vector>

#include "actors/atoms.h"
#include "actors/inbound.h"

namespace cadre::actors {

// Owns SQLite; runs detached (it blocks on fsync).
// Store writes are timed into `metrics` when given.
caf::actor spawn_store(caf::actor_system& system, std::shared_ptr<StateStore> store,
                       std::shared_ptr<CoordinatorMetrics> metrics = nullptr);

// Owns node state: registration, epochs, heartbeats, NotReady/Lost. Send it
// (put_atom, manager) once the manager exists. `known`: the nodes the store
// remembers; each is NotReady until its agent registers again, and Lost if it
// has not within lost_after, as if it had gone silent at the restart.
// `removals`: deleted jobs' file removals stored before a restart, sent again to
// each node that has not answered when it registers. `cordoned`: the known nodes
// cordoned before the restart (cadre cordon), which stay so.
caf::actor spawn_registry(caf::actor_system& system, ActorContext ctx,
                          std::vector<protocol::RegisterRequest> known = {},
                          std::vector<FileRemovalRecord> removals = {},
                          std::vector<std::string> cordoned = {});

// Owns placement: capacities, allocations and the queue of unplaced replicas.
// `quotas`: each queue's (ClusterPolicy::queue_quotas); (quotas_atom, QueueQuotas)
// replaces them while it runs.
caf::actor spawn_scheduler(caf::actor_system& system,
                           std::shared_ptr<CoordinatorMetrics> metrics = nullptr,
                           std::map<std::string, QueueQuota> quotas = {});

// What a restarted coordinator rebuilds its supervisors from.
struct RestoredState {
  std::vector<JobRecord> jobs;
  std::vector<ExperimentRecord> experiments;
  std::vector<ServiceRecord> services;
  std::vector<TokenRecord> tokens;
  std::vector<PipelineRecord> pipelines;
  std::vector<protocol::PipelineRunStatus> runs;
  std::vector<protocol::RecurringRunStatus> recurring_runs;
  std::vector<NotebookRecord> notebooks;
};

// The API: creates job and experiment supervisors, answers clients, routes agent
// reports to jobs and trial jobs' status and metrics to their experiments.
caf::actor spawn_manager(caf::actor_system& system, ActorContext ctx, RestoredState restored);

// What the gateway calls with each decoded message: one message to the actor that
// handles it (agent registration and heartbeats to the registry, the rest to the manager).
std::unique_ptr<Inbound> make_actor_inbound(const ActorContext& actors);

// One per Job or TrainJob: its gang's state machine from Queued to Succeeded/Failed.
caf::actor spawn_job(caf::actor_system& system, ActorContext ctx, JobRecord record,
                     spec::TrainJobSpec spec, bool restored);

// One per InferenceService; started by a start_atom (new) or an adopt_atom
// carrying its replica jobs' summaries (restored).
caf::actor spawn_service(caf::actor_system& system, ActorContext ctx,
                         std::shared_ptr<ServiceStateMachine> machine);

// One per pipeline run; started by a start_atom (new) or an adopt_atom carrying
// its step jobs' summaries (restored).
caf::actor spawn_pipeline_run(caf::actor_system& system, ActorContext ctx,
                              std::shared_ptr<PipelineRunStateMachine> machine);
// One per RecurringRun; started by a start_atom (new or restored).
caf::actor spawn_recurring_run(caf::actor_system& system, ActorContext ctx,
                               std::shared_ptr<RecurringRunStateMachine> machine);
// One per Notebook; started by a start_atom (new) or an adopt_atom carrying its
// server jobs' summaries (restored).
caf::actor spawn_notebook(caf::actor_system& system, ActorContext ctx,
                          std::shared_ptr<NotebookStateMachine> machine);
// One per Experiment; started by a start_atom (new) or an adopt_atom carrying its
// trial jobs' summaries and stored samples (restored).
caf::actor spawn_experiment(caf::actor_system& system, ActorContext ctx,
                            std::shared_ptr<ExperimentStateMachine> machine);

}  // namespace cadre::actors
