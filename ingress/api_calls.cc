#include "ingress/api_calls.h"

#include <utility>
#include <vector>

#include "client/experiment_output.h"
#include "client/json_output.h"
#include "client/lineage.h"
#include "client/notebook_output.h"
#include "client/pipeline_output.h"
#include "client/recurring_run_output.h"
#include "client/service_output.h"
#include "protocol/spec/notebook_spec.h"

namespace cadre::ingress {
namespace {

using client::CoordinatorClient;
using protocol::ApiRequest;

// Every item of a list, in the CLI's JSON shape.
template <typename T, typename Render>
nlohmann::json each(const std::vector<T>& items, Render render) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) out.push_back(render(item));
  return out;
}

ApiCall delete_call(const ApiQuery& query) {
  ApiCall call;
  call.request.verb = "delete";
  call.request.remove.resource = query.kind;
  call.request.remove.name = query.name;
  call.request.remove.purge = query.purge;
  call.ask = [](CoordinatorClient& c, const ApiRequest& r) -> Result<nlohmann::json> {
    ASSIGN_OR_RETURN(auto reply, c.api_delete(r));
    return nlohmann::json{{"name", reply.name}, {"deleted", true}};
  };
  return call;
}

ApiCall apply_call(std::string manifest) {
  ApiCall call;
  call.request.verb = "apply";
  call.request.apply.manifest = std::move(manifest);
  call.ask = [](CoordinatorClient& c, const ApiRequest& r) -> Result<nlohmann::json> {
    ASSIGN_OR_RETURN(auto reply, c.api_apply(r));
    return nlohmann::json{{"kind", reply.kind}, {"name", reply.name}, {"action", reply.action}};
  };
  return call;
}

// As `cadre notebook stop|start`: the notebook's own manifest again, with
// spec.stopped set, applied as the caller.
ApiCall stop_or_start_call(const ApiQuery& query) {
  ApiCall call;
  call.request.verb = "get";
  call.request.get.resource = "notebooks";
  call.request.get.name = query.name;
  call.ask = [stop = query.verb == "stop"](CoordinatorClient& c,
                                           const ApiRequest& r) -> Result<nlohmann::json> {
    ASSIGN_OR_RETURN(auto reply, c.api_get(r));
    if (reply.notebooks.empty()) return NotFound("notebook '" + r.get.name + "' not found");
    ASSIGN_OR_RETURN(std::string manifest,
                     spec::notebook_manifest_with_stopped(reply.notebooks[0].manifest, stop));
    ApiRequest apply = r;
    apply.verb = "apply";
    apply.apply.manifest = std::move(manifest);
    ASSIGN_OR_RETURN(auto applied, c.api_apply(apply));
    const bool changed = applied.action != "unchanged";
    return nlohmann::json{{"name", applied.name},
                          {"action", changed ? (stop ? "stopping" : "starting")
                                             : (stop ? "already stopped" : "already started")}};
  };
  return call;
}

// As `cadre suspend|resume KIND/NAME`.
ApiCall suspend_call(const ApiQuery& query) {
  ApiCall call;
  call.request.verb = "suspend";
  call.request.suspend = protocol::SuspendRequest{query.kind, query.name, query.verb == "suspend"};
  call.ask = [](CoordinatorClient& c, const ApiRequest& r) -> Result<nlohmann::json> {
    ASSIGN_OR_RETURN(auto reply, c.api_suspend(r));
    return nlohmann::json{{"name", reply.name},
                          {"phase", protocol::to_string(reply.phase)},
                          {"changed", reply.changed}};
  };
  return call;
}

ApiCall logs_call(const ApiQuery& query) {
  ApiCall call;
  call.request.verb = "logs";
  call.request.logs.resource = query.kind;
  call.request.logs.name = query.name;
  call.request.logs.replica = query.replica;
  call.request.logs.offset = query.offset;
  call.request.logs.max_bytes = query.max_bytes;
  call.ask = [](CoordinatorClient& c, const ApiRequest& r) -> Result<nlohmann::json> {
    ASSIGN_OR_RETURN(auto reply, c.api_logs(r));
    return logs_json(reply);
  };
  return call;
}

// Walked over the caller's runs as `cadre lineage` does: the list, then each run's
// record (its steps' artifacts), on one API connection.
ApiCall lineage_call(const ApiQuery& query) {
  ApiCall call;
  call.request.verb = "get";
  call.request.get.resource = "runs";
  call.ask = [query](CoordinatorClient& c, const ApiRequest& r) -> Result<nlohmann::json> {
    ASSIGN_OR_RETURN(auto list, c.api_get(r));
    if (list.runs.size() > kApiMaxLineageRuns) {
      return FailedPrecondition("lineage walks at most " + std::to_string(kApiMaxLineageRuns) +
                                " runs; namespace '" + r.ns + "' has " +
                                std::to_string(list.runs.size()) +
                                " (cadre delete run/NAME the old ones)");
    }
    std::vector<protocol::PipelineRunStatus> runs;
    for (const auto& summary : list.runs) {
      ApiRequest one = r;
      one.get.name = summary.name;
      auto got = c.api_get(one);
      if (!got.ok() && got.status().code() == StatusCode::kNotFound) continue;  // deleted
      if (!got.ok()) return got.status();
      for (auto& run : got->runs) runs.push_back(std::move(run));
    }
    client::LineageOptions options;
    options.downstream = query.downstream;
    options.depth = query.depth;
    return client::lineage_json(runs, query.artifact, options);
  };
  return call;
}

ApiCall metrics_call(const ApiQuery& query) {
  ApiCall call;
  call.request.verb = "metrics";
  call.request.metrics.resource = query.kind;
  call.request.metrics.name = query.name;
  call.request.metrics.metric = query.metric;
  call.request.metrics.max_points = query.max_points;
  call.ask = [](CoordinatorClient& c, const ApiRequest& r) -> Result<nlohmann::json> {
    ASSIGN_OR_RETURN(auto reply, c.api_metrics(r));
    return metrics_json(reply);
  };
  return call;
}

ApiCall get_call(const ApiQuery& query) {
  ApiCall call;
  call.request.verb = "get";
  call.request.get.resource = query.kind;
  call.request.get.name = query.name;
  if (query.name.empty() && (query.kind == "jobs" || query.kind == "trainjobs")) {
    // The coordinator pages jobs itself (there may be tens of thousands); one more
    // than the page says whether another follows.
    call.request.get.limit = static_cast<int32_t>(query.limit + 1);
    call.request.get.after = query.after;
    call.request.get.prefix = query.prefix;
    call.request.get.phase = query.phase.value_or("");
    call.request.get.by_owner = query.owner.has_value();
    call.request.get.owner = query.owner.value_or("");
  }
  call.ask = [query](CoordinatorClient& c, const ApiRequest& r) -> Result<nlohmann::json> {
    ASSIGN_OR_RETURN(auto reply, c.api_get(r));
    return api_json(query, reply);
  };
  return call;
}

}  // namespace

ApiCall api_call(const ApiQuery& query, std::string body) {
  if (query.verb == "delete") return delete_call(query);
  if (query.verb == "apply") return apply_call(std::move(body));
  if (query.verb == "stop" || query.verb == "start") return stop_or_start_call(query);
  if (query.verb == "suspend" || query.verb == "resume") return suspend_call(query);
  if (query.verb == "logs") return logs_call(query);
  if (query.verb == "lineage") return lineage_call(query);
  if (query.verb == "metrics") return metrics_call(query);
  return get_call(query);
}

Result<nlohmann::json> api_json(const ApiQuery& q, const protocol::GetReply& reply) {
  nlohmann::json items;
  const bool one = !q.name.empty();
  if (q.kind == "nodes") {
    items = each(reply.nodes, [](const auto& n) { return client::node_to_json(n); });
  } else if (q.kind == "queues") {
    items = each(reply.queues, [](const auto& queue) { return client::queue_to_json(queue); });
  } else if (q.kind == "jobs" || q.kind == "trainjobs") {
    items = each(reply.jobs, [one](const auto& j) { return client::job_to_json(j, one); });
  } else if (q.kind == "experiments") {
    items = each(reply.experiments,
                 [one](const auto& e) { return client::experiment_to_json(e, one); });
  } else if (q.kind == "inferenceservices") {
    items = each(reply.services, [one](const auto& s) { return client::service_to_json(s, one); });
  } else if (q.kind == "pipelines") {
    items =
        each(reply.pipelines, [one](const auto& p) { return client::pipeline_to_json(p, one); });
  } else if (q.kind == "runs") {
    items = each(reply.runs, [one](const auto& r) { return client::run_to_json(r, one); });
  } else if (q.kind == "recurringruns") {
    items =
        each(reply.recurring_runs, [](const auto& r) { return client::recurring_run_to_json(r); });
  } else if (q.kind == "notebooks") {
    items = each(reply.notebooks, [](const auto& n) { return client::notebook_to_json(n); });
  } else {
    return InvalidArgument("no API kind '" + q.kind + "'");
  }
  if (!one) return api_page(std::move(items), q);
  for (auto& item : items) {
    if (item.value("name", "") == q.name) return std::move(item);
  }
  const std::string singular = q.kind.substr(0, q.kind.size() - 1);
  return NotFound(singular + " '" + q.name + "' not found");
}

nlohmann::json logs_json(const protocol::LogsReply& reply) {
  return {{"data", reply.data},
          {"offset", reply.offset},
          {"nextOffset", reply.next_offset},
          {"finished", reply.finished}};
}

nlohmann::json metrics_json(const protocol::MetricsHistoryReply& reply) {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& p : reply.points) {
    points.push_back({{"replica", p.replica},
                      {"name", p.name},
                      {"value", p.value},
                      {"step", p.step},
                      {"timeMs", p.time_ms}});
  }
  return {{"name", reply.name}, {"points", std::move(points)}, {"truncated", reply.truncated}};
}

}  // namespace cadre::ingress
