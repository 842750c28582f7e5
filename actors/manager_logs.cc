// The manager's reads of what replicas wrote: a log read is relayed to the agent
// of the replica's node and answered when its chunk comes back (or when the node
// does not answer in time); metric points come from the store.
#include <algorithm>

#include "actors/manager_state.h"

namespace cadre::actors::manager {

using protocol::MessageKind;
using Self = ManagerSelf;

void logs(Self* self, const ClientRef& client, const protocol::LogsRequest& request) {
  auto job = find_job(self, client, request.resource, request.name);
  if (!job) return;
  const std::string what = job_ref(request.resource, request.name);
  self->request(*job, self->state.ctx.policy.request_timeout, where_atom::value, request.replica)
      .then(
          [=](const ReplicaLocation& location) {
            auto& st = self->state;
            if (!location.exists && !request.replica.empty()) {
              st.ctx.outbox->client_error(
                  client, NotFound("replica " + request.replica + " of " +
                                   job_ref(request.resource, request.name) +
                                   " not found (names are like worker-0, ps-1, chief-0)"));
              return;
            }
            if (!location.found) {
              // Not placed yet: nothing to read, but more will come.
              protocol::LogsReply reply;
              reply.offset = reply.next_offset = std::max<int64_t>(0, request.offset);
              reply.finished = location.finished;
              st.ctx.outbox->client(client, MessageKind::kLogsReply, reply);
              return;
            }
            const uint64_t id = st.next_log_read++;
            st.log_reads[id] = PendingLogRead{client, location};
            st.ctx.outbox->agent(
                location.node, location.epoch, MessageKind::kReadLogs,
                protocol::ReadLogs{location.uid, request.offset, request.max_bytes}, id);
            self->delayed_send(self, st.ctx.policy.log_read_timeout, timeout_atom::value, id);
          },
          answer_error(self, client, "the supervisor of " + what));
}

void logs_chunk(Self* self, uint64_t id, const protocol::LogsChunk& chunk) {
  auto it = self->state.log_reads.find(id);
  if (it == self->state.log_reads.end()) return;  // answered late: the client got a timeout
  const PendingLogRead read = it->second;
  self->state.log_reads.erase(it);
  if (!chunk.found && read.location.finished) {
    self->state.ctx.outbox->client_error(
        read.client, NotFound("log of replica " + read.location.uid + " not found on node " +
                              read.location.node));
    return;
  }
  // A replica placed but not yet started has no log file yet: its log is empty
  // so far, and a follower keeps waiting instead of failing.
  protocol::LogsReply reply;
  reply.data = chunk.data;
  reply.offset = chunk.found ? chunk.offset : std::max<int64_t>(0, chunk.offset);
  reply.next_offset = chunk.offset + static_cast<int64_t>(chunk.data.size());
  reply.finished = read.location.finished && reply.next_offset >= chunk.size;
  self->state.ctx.outbox->client(read.client, MessageKind::kLogsReply, reply);
}

void log_read_timed_out(Self* self, uint64_t id) {
  auto it = self->state.log_reads.find(id);
  if (it == self->state.log_reads.end()) return;
  self->state.ctx.outbox->client_error(
      it->second.client,
      Unavailable("node " + it->second.location.node + " did not answer the log read in time"));
  self->state.log_reads.erase(it);
}

// A job's stored metric points; the job must exist (a deleted job's are gone).
void metrics_history(Self* self, const ClientRef& client,
                     const protocol::MetricsHistoryRequest& request) {
  if (request.max_points < 1 || request.max_points > protocol::kMaxMetricPoints) {
    return self->state.ctx.outbox->client_error(
        client,
        InvalidArgument("max_points: must be 1.." + std::to_string(protocol::kMaxMetricPoints) +
                        ", got " + std::to_string(request.max_points)));
  }
  if (!find_job(self, client, request.resource, request.name)) return;
  self->request(self->state.ctx.store, self->state.ctx.policy.request_timeout, history_atom::value,
                request.name, request.metric, request.max_points)
      .then(
          [=](const protocol::MetricsHistoryReply& reply) {
            self->state.ctx.outbox->client(client, MessageKind::kMetricsHistoryReply, reply);
          },
          answer_error(self, client,
                       "the store (metrics of " + job_ref(request.resource, request.name) + ")"));
}

}  // namespace cadre::actors::manager
