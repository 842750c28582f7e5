// The cluster's own objects as the manager answers for them: nodes (from the
// registry, with what the scheduler allocated on each) and scheduling queues (from
// the scheduler).
#include "actors/manager_state.h"

namespace cadre::actors::manager {

using protocol::MessageKind;

void get_nodes(ManagerSelf* self, const ClientRef& client, const std::string& name) {
  const auto timeout = self->state.ctx.policy.request_timeout;
  auto answer = [=](const std::vector<protocol::NodeStatus>& nodes) {
    protocol::GetReply reply;
    for (const auto& node : nodes) {
      if (name.empty() || node.name == name) reply.nodes.push_back(node);
    }
    if (!name.empty() && reply.nodes.empty()) {
      return self->state.ctx.outbox->client_error(client, NotFound("node/" + name + " not found"));
    }
    self->state.ctx.outbox->client(client, MessageKind::kGetReply, reply);
  };
  self->request(self->state.ctx.registry, timeout, get_atom::value)
      .then(
          [=](const std::vector<protocol::NodeStatus>& nodes) {
            self->request(self->state.ctx.scheduler, timeout, alloc_atom::value, nodes)
                .then(answer, answer_error(self, client, "the scheduler"));
          },
          answer_error(self, client, "the node registry"));
}

// The scheduling queues, from the scheduler.
void get_queues(ManagerSelf* self, const ClientRef& client, const std::string& name) {
  self->request(self->state.ctx.scheduler, self->state.ctx.policy.request_timeout,
                queues_atom::value, name)
      .then(
          [=](const std::vector<protocol::QueueStatus>& queues) {
            protocol::GetReply reply;
            for (const auto& queue : queues) {
              if (name.empty() || queue.name == name) reply.queues.push_back(queue);
            }
            if (!name.empty() && reply.queues.empty()) {
              return self->state.ctx.outbox->client_error(
                  client, NotFound("queue/" + name +
                                   " not found: no quota names it and no gang "
                                   "of it waits or runs"));
            }
            self->state.ctx.outbox->client(client, MessageKind::kGetReply, reply);
          },
          answer_error(self, client, "the scheduler"));
}

void remove_node(ManagerSelf* self, const ClientRef& client, const std::string& name) {
  self->request(self->state.ctx.registry, self->state.ctx.policy.request_timeout,
                delete_atom::value, name)
      .then(
          [=](const Status& deleted) {
            if (!deleted.ok()) return self->state.ctx.outbox->client_error(client, deleted);
            self->state.ctx.outbox->client(client, MessageKind::kDeleteReply,
                                           protocol::DeleteReply{name});
          },
          answer_error(self, client, "the node registry"));
}

}  // namespace cadre::actors::manager
