// One page of a jobs or trainjobs list (GetRequest::limit > 0), chosen where the
// jobs are so that a list of 10,000 jobs costs a page, not the whole list, on the
// wire and at the ingress (docs/api.md). Pure; the manager calls it on its summary.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::actors {

// The request's paging fields are within their bounds (names at most 253 bytes,
// a phase at most 32, limit 0..kMaxGetPage); InvalidArgument names the field.
Status check_page_request(const protocol::GetRequest& request);

// Jobs of `request.resource` ("jobs": kind Job, "trainjobs": TrainJob) from
// `summary` (by name), sorted by name: those after `request.after` whose names
// start with `request.prefix`, in `request.phase` when it is set, made by
// `request.owner` when `by_owner`, in namespace `scope` when it is set; at most
// `request.limit`.
std::vector<protocol::JobStatus> job_page(const std::map<std::string, protocol::JobStatus>& summary,
                                          const protocol::GetRequest& request,
                                          const std::string& scope);

}  // namespace cadre::actors
