// The manager's side of RecurringRuns: admitting and updating them, answering get
// and delete, restoring them after a restart, and the two things their
// supervisors ask for: how many of their runs have not finished, and a new run.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "actors/manager_state.h"
#include "protocol/spec/manifest.h"
#include "protocol/spec/pipeline_spec.h"
#include "protocol/spec/yaml_reader.h"
#include "protocol/wall_clock.h"

namespace cadre::actors::manager {
namespace {

using protocol::MessageKind;
using Self = ManagerSelf;

std::string recurring_run_ref(const std::string& name) { return "recurringrun/" + name; }

RecurringRunMachineOptions machine_options() { return RecurringRunMachineOptions{}; }

void spawn(Self* self, std::shared_ptr<RecurringRunStateMachine> machine) {
  auto& st = self->state;
  const std::string name = machine->name();
  st.recurring_summary[name] = machine->summary();
  auto actor = spawn_recurring_run(self->system(), st.ctx, std::move(machine));
  st.recurring_runs[name] = actor;
  self->send(actor, start_atom::value);
}

}  // namespace

void apply_recurring_run(Self* self, const ClientRef& client, const protocol::ApplyRequest& request,
                         const std::shared_ptr<const spec::Manifest>& manifest) {
  auto& st = self->state;
  const std::string name = manifest->metadata.name;
  const auto& spec = manifest->recurring_run;
  auto reply = [=](const std::string& action) {
    self->state.ctx.outbox->client(client, MessageKind::kApplyReply,
                                   protocol::ApplyReply{"RecurringRun", name, action});
  };
  // A schedule of a pipeline that is not there would only ever fail.
  if (!st.pipelines.count(spec->run.pipeline)) {
    return st.ctx.outbox->client_error(
        client, NotFound("spec.pipelineRef.name: pipeline/" + spec->run.pipeline + " not found"));
  }
  if (st.creating_recurring_runs.count(name)) {
    return st.ctx.outbox->client_error(
        client, AlreadyExists(recurring_run_ref(name) + " is being created"));
  }
  if (auto existing = st.recurring_runs.find(name); existing != st.recurring_runs.end()) {
    self->request(existing->second, st.ctx.policy.request_timeout, get_atom::value)
        .then(
            [=](const protocol::RecurringRunStatus& status) {
              if (status.manifest == request.manifest) return reply("unchanged");
              self->request(self->state.recurring_runs[name],
                            self->state.ctx.policy.request_timeout, apply_atom::value, spec,
                            request.manifest)
                  .then([=](const Status& updated) {
                    if (!updated.ok()) return self->state.ctx.outbox->client_error(client, updated);
                    reply("updated");
                  });
            },
            answer_error(self, client, "the supervisor of " + recurring_run_ref(name)));
    return;
  }
  auto record = RecurringRunStateMachine::first_record(*spec, name, manifest->metadata.ns,
                                                       request.manifest, wall_ms());
  auto machine = RecurringRunStateMachine::Create(record, spec, machine_options());
  if (!machine.ok()) return st.ctx.outbox->client_error(client, machine.status());
  std::shared_ptr<RecurringRunStateMachine> owned(std::move(*machine));
  st.creating_recurring_runs.insert(name);
  // Acknowledge only what is durable: the reply waits for the store.
  self->request(st.ctx.store, st.ctx.policy.request_timeout, put_atom::value, record)
      .then(
          [=](const Status& stored) {
            self->state.creating_recurring_runs.erase(name);
            if (!stored.ok()) {
              return self->state.ctx.outbox->client_error(
                  client,
                  Unavailable(recurring_run_ref(name) + " not created: " + stored.message()));
            }
            spawn(self, owned);
            reply("created");
          },
          [=](const caf::error& error) {
            self->state.creating_recurring_runs.erase(name);
            self->state.ctx.outbox->client_error(
                client,
                Unavailable(recurring_run_ref(name) +
                            " not created: the store did not answer: " + caf::to_string(error)));
          });
}

void get_recurring_runs(Self* self, const ClientRef& client, const std::string& name) {
  auto& st = self->state;
  if (name.empty()) {
    protocol::GetReply reply;
    for (const auto& [n, status] : st.recurring_summary) reply.recurring_runs.push_back(status);
    std::sort(reply.recurring_runs.begin(), reply.recurring_runs.end(),
              [](const auto& a, const auto& b) {
                return std::tie(a.created_ms, a.name) < std::tie(b.created_ms, b.name);
              });
    return st.ctx.outbox->client(client, MessageKind::kGetReply, reply);
  }
  auto it = st.recurring_runs.find(name);
  if (it == st.recurring_runs.end()) {
    return st.ctx.outbox->client_error(client, NotFound(recurring_run_ref(name) + " not found"));
  }
  const auto timeout = st.ctx.policy.request_timeout;
  self->request(it->second, timeout, get_atom::value)
      .then(
          [=](protocol::RecurringRunStatus status) {
            self->request(self->state.ctx.store, timeout, events_atom::value,
                          recurring_run_events_key(name))
                .then(
                    [=](const std::vector<protocol::JobEvent>& events) mutable {
                      status.events = events;
                      protocol::GetReply reply;
                      reply.recurring_runs.push_back(std::move(status));
                      self->state.ctx.outbox->client(client, MessageKind::kGetReply, reply);
                    },
                    answer_error(self, client,
                                 "the store (events of " + recurring_run_ref(name) + ")"));
          },
          answer_error(self, client, "the supervisor of " + recurring_run_ref(name)));
}

void delete_recurring_run(Self* self, const ClientRef& client, const std::string& name) {
  auto& st = self->state;
  auto it = st.recurring_runs.find(name);
  if (it == st.recurring_runs.end()) {
    return st.ctx.outbox->client_error(client, NotFound(recurring_run_ref(name) + " not found"));
  }
  self->request(it->second, 2 * st.ctx.policy.request_timeout, delete_atom::value)
      .then(
          [=](const Status& deleted) {
            if (!deleted.ok()) return self->state.ctx.outbox->client_error(client, deleted);
            self->state.ctx.outbox->client(client, MessageKind::kDeleteReply,
                                           protocol::DeleteReply{name});
          },
          answer_error(self, client, "the supervisor of " + recurring_run_ref(name)));
}

void restore_recurring_runs(Self* self, std::vector<protocol::RecurringRunStatus> records) {
  for (auto& record : records) {
    const std::string name = record.name;
    auto manifest = spec::parse_manifest(record.manifest, spec::ManifestLimits::none());
    if (!manifest.ok() || !manifest->recurring_run) {
      spdlog::error("recurringrun={} cannot be restored: {}", name,
                    manifest.ok() ? "not a RecurringRun" : manifest.status().to_string());
      continue;
    }
    auto machine =
        RecurringRunStateMachine::Create(record, manifest->recurring_run, machine_options());
    if (!machine.ok()) {
      spdlog::error("recurringrun={} cannot be restored: {}", name, machine.status().to_string());
      continue;
    }
    spawn(self, std::shared_ptr<RecurringRunStateMachine>(std::move(*machine)));
  }
}

caf::message_handler recurring_run_requests(Self* self) {
  return {
      // How many runs a recurring run started have not finished.
      [=](get_atom, recurring_atom, const std::string& name) {
        int32_t unfinished = 0;
        for (const auto& [run, status] : self->state.run_summary) {
          unfinished += status.recurring_run == name && !protocol::is_terminal(status.state);
        }
        return unfinished;
      },
      // A recurring run starts a run: as a client's PipelineRun, with its origin.
      [=](apply_atom, recurring_atom, const std::string& yaml, const std::string& recurring,
          int64_t scheduled_ms) {
        auto promise = self->make_response_promise();
        auto parsed = spec::parse_manifest(yaml);
        if (!parsed.ok() || !parsed->pipeline_run) {
          promise.deliver(parsed.ok() ? InvalidArgument("not a PipelineRun") : parsed.status());
          return;
        }
        auto manifest = std::make_shared<const spec::Manifest>(std::move(*parsed));
        const std::string run = manifest->metadata.name;
        apply_run_then(self, manifest, yaml, RunOrigin{recurring, scheduled_ms},
                       [promise, run](const Status& status, const std::string& action) mutable {
                         // Started before (the same due time, before a restart): not again.
                         if (status.ok() && action == "unchanged") {
                           promise.deliver(AlreadyExists("run/" + run + " was started before"));
                           return;
                         }
                         promise.deliver(status);
                       });
      },
      [=](status_atom, const protocol::RecurringRunStatus& status) {
        if (self->state.recurring_runs.count(status.name)) {
          self->state.recurring_summary[status.name] = status;
        }
      },
      [=](gone_atom, recurring_atom, const std::string& name) {
        self->state.recurring_runs.erase(name);
        self->state.recurring_summary.erase(name);
      },
  };
}

}  // namespace cadre::actors::manager
