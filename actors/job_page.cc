#include "actors/job_page.h"

#include "protocol/string_enum.h"

namespace cadre::actors {

Status check_page_request(const protocol::GetRequest& request) {
  if (request.limit < 0 || request.limit > protocol::kMaxGetPage) {
    return InvalidArgument("limit " + std::to_string(request.limit) + " must be 0.." +
                           std::to_string(protocol::kMaxGetPage));
  }
  if (request.after.size() > 253) return InvalidArgument("after: longer than 253 bytes");
  if (request.prefix.size() > 253) return InvalidArgument("prefix: longer than 253 bytes");
  if (request.phase.size() > 32) return InvalidArgument("phase: longer than 32 bytes");
  if (request.owner.size() > 300) return InvalidArgument("owner: longer than 300 bytes");
  return Status::Ok();
}

std::vector<protocol::JobStatus> job_page(const std::map<std::string, protocol::JobStatus>& summary,
                                          const protocol::GetRequest& request,
                                          const std::string& scope) {
  const std::string kind = request.resource == "trainjobs" ? "TrainJob" : "Job";
  std::vector<protocol::JobStatus> page;
  // Names are the map's order: start at the later of the prefix and the mark, and
  // stop at the first name past the prefix.
  auto it = request.after >= request.prefix ? summary.upper_bound(request.after)
                                            : summary.lower_bound(request.prefix);
  for (; it != summary.end() && page.size() < static_cast<size_t>(request.limit); ++it) {
    const auto& [name, job] = *it;
    if (name.compare(0, request.prefix.size(), request.prefix) != 0) break;
    if (job.kind != kind) continue;
    if (!scope.empty() && job.ns != scope) continue;
    if (!request.phase.empty() && protocol::to_string(job.phase) != request.phase) continue;
    if (request.by_owner && job.owner != request.owner) continue;
    page.push_back(job);
  }
  return page;
}

}  // namespace cadre::actors
