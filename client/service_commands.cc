#include "client/service_commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <thread>

#include "client/resource_ref.h"
#include "protocol/string_enum.h"

namespace cadre::client {

using Clock = std::chrono::steady_clock;

Result<protocol::ServiceConditionType> parse_service_condition(const std::string& condition) {
  const std::string wanted = lowercase(strip_condition_prefix(condition));
  for (const auto& [type, text] : protocol::EnumNames<protocol::ServiceConditionType>::kTable) {
    if (wanted == lowercase(std::string(text))) return type;
  }
  return InvalidArgument("--for '" + condition +
                         "': an inferenceservice waits for Ready, PredictorReady or IngressReady");
}

Status wait_for_service(Coordinator& coordinator, const std::string& name,
                        const std::string& condition, std::chrono::milliseconds timeout,
                        std::chrono::milliseconds poll_interval) {
  ASSIGN_OR_RETURN(const protocol::ServiceConditionType wanted, parse_service_condition(condition));
  const auto deadline = Clock::now() + timeout;
  const std::string what = "inferenceservice/" + name;
  while (true) {
    auto reply = coordinator.get(protocol::GetRequest{"inferenceservices", name});
    if (!reply.ok()) return reply.status();
    if (reply->services.empty()) return NotFound(what + " not found");
    std::string why = "no status yet";
    for (const auto& c : reply->services[0].conditions) {
      if (c.type != wanted) continue;
      if (c.status == protocol::ConditionStatus::kTrue) return Status::Ok();
      why = c.reason + (c.message.empty() ? "" : ": " + c.message);
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      return DeadlineExceeded("timed out waiting for " + what + " to be " +
                              protocol::to_string(wanted) + " (" + why + ")");
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(poll_interval, deadline - now));
  }
}

Result<std::string> service_replica_job(Coordinator& coordinator, const std::string& service,
                                        const std::string& replica) {
  ASSIGN_OR_RETURN(protocol::GetReply reply,
                   coordinator.get(protocol::GetRequest{"inferenceservices", service}));
  if (reply.services.empty()) return NotFound("inferenceservice/" + service + " not found");
  const auto& replicas = reply.services[0].replicas;
  if (!replica.empty()) {
    for (const auto& r : replicas) {
      if (r.job == replica) return r.job;
    }
    std::string known;
    for (const auto& r : replicas) known += (known.empty() ? "" : ", ") + r.job;
    return NotFound("inferenceservice/" + service + " has no replica '" + replica +
                    "' (it has: " + (known.empty() ? "none" : known) + ")");
  }
  for (const auto& r : replicas) {
    if (r.state == protocol::ServiceReplicaState::kReady) return r.job;
  }
  if (replicas.empty()) return NotFound("inferenceservice/" + service + " has no replicas");
  return replicas.back().job;
}

Status create_token(Coordinator& coordinator, const std::string& ns, const std::string& description,
                    const std::string& save_to, std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::TokenCreateReply reply,
                   coordinator.create_token(protocol::TokenCreateRequest{ns, description, false}));
  if (save_to.empty()) {
    out << reply.token << "\n";
    return Status::Ok();
  }
  const int fd = ::open(save_to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("cannot write " + save_to);
  const std::string text = reply.token + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written) return Internal("cannot write " + save_to);
  out << "token " << reply.info.id << " for namespace " << reply.info.ns << " written to "
      << save_to << "\n";
  return Status::Ok();
}

}  // namespace cadre::client
