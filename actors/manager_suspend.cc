// cadre suspend / resume, and a job applied again with only its suspend field
// changed: the manager finds the job's supervisor, which stops or queues its gang
// and answers once the change is stored (JobStateMachine::on_suspend).
#include "actors/manager_state.h"

namespace cadre::actors::manager {

void suspend_job(ManagerSelf* self, const ClientRef& client,
                 const protocol::SuspendRequest& request) {
  auto& st = self->state;
  const char* verb = request.suspend ? "suspended" : "resumed";
  if (request.resource != "jobs" && request.resource != "trainjobs") {
    const std::string hint =
        request.resource == "notebooks" ? " (a notebook stops with cadre notebook stop)" : "";
    return st.ctx.outbox->client_error(
        client, InvalidArgument("only jobs and trainjobs can be " + std::string(verb) + ", not " +
                                request.resource + hint));
  }
  auto job = find_job(self, client, request.resource, request.name);
  if (!job) return;
  const std::string what = job_ref(request.resource, request.name);
  // A trial's, step's, service replica's or notebook server's job runs and stops as
  // its owner decides; a suspension it does not know of would stall it.
  if (const std::string& owner = st.summary.at(request.name).owner; !owner.empty()) {
    return st.ctx.outbox->client_error(
        client, FailedPrecondition(what + " belongs to " + owner +
                                   ", which starts and stops it; it cannot be " + verb));
  }
  self->request(*job, st.ctx.policy.request_timeout, suspend_atom::value, request.suspend)
      .then(
          [=](const Status& status, const protocol::SuspendReply& reply) {
            if (!status.ok()) return self->state.ctx.outbox->client_error(client, status);
            self->state.ctx.outbox->client(client, protocol::MessageKind::kSuspendReply, reply);
          },
          answer_error(self, client, "the supervisor of " + what));
}

Status immutable(const protocol::JobStatus& job) {
  const bool is_job = job.kind == "Job";
  const std::string what = std::string(is_job ? "job/" : "trainjob/") + job.name;
  // A workload's own job is not the user's to suspend either.
  if (!job.owner.empty()) {
    return AlreadyExists(what + " already exists with a different spec; it belongs to " +
                         job.owner + " and is immutable");
  }
  return AlreadyExists(what + " already exists with a different spec; jobs are immutable but for " +
                       (is_job ? "spec.suspend" : "spec.runPolicy.suspend") +
                       " (or cadre suspend/resume): delete it first");
}

void apply_suspend(ManagerSelf* self, const caf::actor& job, const protocol::JobStatus& before,
                   const std::string& after, bool suspend, JobOrigin origin) {
  const auto timeout = self->state.ctx.policy.request_timeout;
  const std::string what = job_ref(before.kind == "Job" ? "jobs" : "trainjobs", before.name);
  auto no_answer = [origin, what](const std::string& who) {
    return [origin, what, who](const caf::error& error) {
      origin.done(Unavailable(who + " did not answer about " + what + ": " + caf::to_string(error)),
                  "");
    };
  };
  // Comparing reads both manifests: on the parser, off the manager's path.
  self->request(self->state.parser, timeout, parse_atom::value, suspend_atom::value,
                before.manifest, after)
      .then(
          [=](bool only_suspend) {
            if (!only_suspend) return origin.done(immutable(before), "");
            self->request(job, timeout, suspend_atom::value, suspend, after)
                .then(
                    [=](const Status& status, const protocol::SuspendReply& reply) {
                      if (!status.ok()) return origin.done(status, "");
                      origin.done(Status::Ok(), reply.changed ? "configured" : "unchanged");
                    },
                    no_answer("the supervisor"));
          },
          no_answer("the manifest parser"));
}

}  // namespace cadre::actors::manager
