// Factories for the coordinator's actors. Each is described where it is defined.
#pragma once

#include <memory>
#include <vector>

#include "actors/atoms.h"
#include "actors/inbound.h"

namespace cadre::actors {

// Owns SQLite; runs detached (it blocks on fsync).
caf::actor spawn_store(caf::actor_system& system, std::shared_ptr<StateStore> store);

// Owns node state: registration, epochs, heartbeats, NotReady/Lost. Send it
// (put_atom, manager) once the manager exists.
caf::actor spawn_registry(caf::actor_system& system, ActorContext ctx);

// Owns placement: capacities, allocations and the queue of unplaced replicas.
caf::actor spawn_scheduler(caf::actor_system& system);

// The API: creates job supervisors, answers clients, routes agent reports to jobs.
caf::actor spawn_manager(caf::actor_system& system, ActorContext ctx,
                         std::vector<JobRecord> restored);

// What the gateway calls with each decoded message: one message to the actor that
// handles it (agent registration and heartbeats to the registry, the rest to the manager).
std::unique_ptr<Inbound> make_actor_inbound(const ActorContext& actors);

// One per Job or TrainJob: its gang's state machine from Queued to Succeeded/Failed.
caf::actor spawn_job(caf::actor_system& system, ActorContext ctx, JobRecord record,
                     spec::TrainJobSpec spec, bool restored);

}  // namespace cadre::actors
