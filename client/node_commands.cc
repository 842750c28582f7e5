#include "client/node_commands.h"

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <vector>

namespace cadre::client {
namespace {

using Clock = std::chrono::steady_clock;

// "trainjob/fmnist worker-1", with the job's owner when it has one.
std::string replica_text(const protocol::JobStatus& job, const protocol::ReplicaStatus& replica) {
  return (job.kind == "TrainJob" ? "trainjob/" : "job/") + job.name + " " + replica.name +
         (job.owner.empty() ? "" : " (" + job.owner + ")");
}

// What still runs on `node`: each job's replica placed there and not ended, and
// each uid its agent still reports (an instance still stopping after its job moved
// it on), named by its job when one has it.
Result<std::vector<std::string>> running_on(Coordinator& coordinator, const std::string& node) {
  ASSIGN_OR_RETURN(protocol::GetReply nodes, coordinator.get(protocol::GetRequest{"nodes", node}));
  if (nodes.nodes.empty()) return NotFound("node/" + node + " not found");
  std::vector<std::string> out;
  std::map<std::string, std::string> by_uid;
  for (const char* kind : {"jobs", "trainjobs"}) {
    ASSIGN_OR_RETURN(protocol::GetReply listed, coordinator.get(protocol::GetRequest{kind, ""}));
    for (const auto& job : listed.jobs) {
      for (const auto& replica : job.replicas) {
        by_uid[replica.uid] = replica_text(job, replica);
        if (replica.node == node && protocol::is_alive(replica.state)) {
          out.push_back(replica_text(job, replica));
        }
      }
    }
  }
  for (const auto& uid : nodes.nodes[0].replicas) {
    const auto found = by_uid.find(uid);
    const std::string text = found == by_uid.end() ? "replica " + uid : found->second;
    if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(text);
  }
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

Status cordon_node(Coordinator& coordinator, const std::string& node, bool cordon,
                   std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::CordonReply reply,
                   coordinator.cordon(protocol::CordonRequest{node, cordon, false}));
  out << "node/" << reply.node << (reply.changed ? " " : " already ")
      << (reply.cordoned ? "cordoned" : "uncordoned") << "\n";
  return Status::Ok();
}

Status drain_node(Coordinator& coordinator, const DrainOptions& options, std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::CordonReply reply,
                   coordinator.cordon(protocol::CordonRequest{options.node, true, true}));
  out << "node/" << reply.node << (reply.changed ? " cordoned\n" : " already cordoned\n");
  out.flush();
  const auto deadline = Clock::now() + options.timeout;
  std::set<std::string> told;  // what "evicting" was printed for
  while (true) {
    ASSIGN_OR_RETURN(std::vector<std::string> running, running_on(coordinator, options.node));
    if (running.empty()) {
      out << "node/" << options.node << " drained\n";
      return Status::Ok();
    }
    for (const auto& item : running) {
      if (told.insert(item).second) out << "evicting " << item << "\n";
    }
    out.flush();
    if (Clock::now() >= deadline) {
      return DeadlineExceeded("node/" + options.node +
                              " not drained in time; still running: " + joined(running));
    }
    std::this_thread::sleep_for(options.poll_interval);
  }
}

}  // namespace cadre::client
