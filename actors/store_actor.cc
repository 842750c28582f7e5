#include <spdlog/spdlog.h>

#include "actors/actors.h"

namespace cadre::actors {

// Runs detached: every write is a synchronous SQLite transaction (synchronous=FULL),
// so callers that must not acknowledge before the write wait for the reply.
namespace {

caf::behavior store_actor(caf::event_based_actor* self, std::shared_ptr<StateStore> store) {
  return {
      [=](put_atom, const JobRecord& record) -> std::string {
        Status s = store->put_job(record);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s.ok() ? "" : s.message();
      },
      [=](delete_atom, const std::string& job) -> std::string {
        Status s = store->delete_job(job);
        if (!s.ok()) spdlog::error("store: {}", s.to_string());
        return s.ok() ? "" : s.message();
      },
      [=](event_atom, const std::string& job, const protocol::JobEvent& event) {
        Status s = store->append_event(job, event);
        if (!s.ok()) spdlog::warn("store: job={} event not stored: {}", job, s.to_string());
      },
      [=](events_atom, const std::string& job) -> std::vector<protocol::JobEvent> {
        auto events = store->events(job, 200);
        return events.ok() ? *events : std::vector<protocol::JobEvent>{};
      },
      [=](metrics_atom, const std::string& job, const std::string& uid,
          const std::vector<protocol::MetricSample>& samples) {
        Status s = store->append_metrics(job, uid, samples);
        if (!s.ok()) spdlog::warn("store: job={} metrics not stored: {}", job, s.to_string());
      },
      [=](epoch_atom) -> uint64_t {
        auto epoch = store->next_epoch();
        if (!epoch.ok()) {
          // Without a durable epoch fencing is unsafe; refuse to go on.
          spdlog::critical("store: cannot advance epoch: {}", epoch.status().to_string());
          std::abort();
        }
        return *epoch;
      },
  };
}

}  // namespace

caf::actor spawn_store(caf::actor_system& system, std::shared_ptr<StateStore> store) {
  return system.spawn<caf::detached>(store_actor, std::move(store));
}

}  // namespace cadre::actors
