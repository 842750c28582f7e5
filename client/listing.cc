#include "client/listing.h"

#include <algorithm>

#include "client/experiment_output.h"
#include "client/json_output.h"
#include "client/notebook_output.h"
#include "client/pipeline_output.h"
#include "client/recurring_run_output.h"
#include "client/service_output.h"
#include "client/table_output.h"
#include "client/time_format.h"
#include "pipelines/json_text.h"

namespace cadre::client {
namespace {

// The experiment a trial belongs to: its name without the trailing "-<id>".
Result<std::string> experiment_of_trial(const std::string& trial) {
  const auto dash = trial.rfind('-');
  const bool numbered = dash != std::string::npos && dash > 0 && dash + 1 < trial.size() &&
                        trial.find_first_not_of("0123456789", dash + 1) == std::string::npos;
  if (!numbered) {
    return InvalidArgument("'" + trial +
                           "' is not a trial name (trials are <experiment>-<id>); an "
                           "experiment's trials: cadre get trials -l experiment=" +
                           trial);
  }
  return trial.substr(0, dash);
}

// Trials live in their experiments: one experiment's (by label or by a trial's
// name), or every experiment's.
Result<protocol::GetReply> fetch_trials(Coordinator& coordinator, const ResourceRef& ref,
                                        const std::string& experiment) {
  std::vector<std::string> names;
  if (!experiment.empty()) {
    names.push_back(experiment);
  } else if (!ref.name.empty()) {
    ASSIGN_OR_RETURN(std::string owner, experiment_of_trial(ref.name));
    names.push_back(owner);
  } else {
    ASSIGN_OR_RETURN(protocol::GetReply all,
                     coordinator.get(protocol::GetRequest{"experiments", ""}));
    for (const auto& e : all.experiments) names.push_back(e.name);
  }
  protocol::GetReply out;
  for (const auto& name : names) {
    ASSIGN_OR_RETURN(protocol::GetReply reply,
                     coordinator.get(protocol::GetRequest{"experiments", name}));
    for (auto& e : reply.experiments) {
      if (!ref.name.empty()) {
        auto& trials = e.trials;
        trials.erase(std::remove_if(trials.begin(), trials.end(),
                                    [&](const auto& t) { return t.name != ref.name; }),
                     trials.end());
      }
      out.experiments.push_back(std::move(e));
    }
  }
  return out;
}

size_t listed_count(const std::string& resource, const protocol::GetReply& reply) {
  if (resource == "trials") {
    size_t count = 0;
    for (const auto& e : reply.experiments) count += e.trials.size();
    return count;
  }
  if (resource == "nodes") return reply.nodes.size();
  if (resource == "queues") return reply.queues.size();
  if (resource == "experiments") return reply.experiments.size();
  if (resource == "inferenceservices") return reply.services.size();
  if (resource == "tokens") return reply.tokens.size();
  if (resource == "pipelines") return reply.pipelines.size();
  if (resource == "runs") return reply.runs.size();
  if (resource == "recurringruns") return reply.recurring_runs.size();
  if (resource == "notebooks") return reply.notebooks.size();
  return reply.jobs.size();
}

nlohmann::json tokens_to_json(const std::vector<protocol::TokenInfo>& tokens) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& t : tokens) {
    items.push_back({{"id", t.id},
                     {"namespace", t.ns},
                     {"description", t.description},
                     {"createdAt", rfc3339(t.created_ms)}});
  }
  return items;
}

// The list, or its one item when the listing was asked for by name.
template <typename Items, typename One, typename Many>
nlohmann::json list_or_one(const ResourceRef& ref, const Items& items, One one, Many many) {
  return ref.name.empty() ? many(items) : one(items.at(0));
}

}  // namespace

Result<protocol::GetReply> fetch_listing(Coordinator& coordinator, const ResourceRef& ref,
                                         const std::string& experiment) {
  const std::string& resource = ref.type.resource;
  protocol::GetReply reply;
  if (resource == "trials") {
    ASSIGN_OR_RETURN(reply, fetch_trials(coordinator, ref, experiment));
  } else {
    // Tokens are listed whole: a token is named by its id, which `get` does not take.
    const std::string name = resource == "tokens" ? "" : ref.name;
    ASSIGN_OR_RETURN(reply, coordinator.get(protocol::GetRequest{resource, name}));
  }
  if (!ref.name.empty() && resource != "tokens" && listed_count(resource, reply) == 0) {
    return NotFound(ref.display() + " not found");
  }
  return reply;
}

nlohmann::json listing_json(const ResourceRef& ref, const protocol::GetReply& reply) {
  const std::string& r = ref.type.resource;
  const bool named = !ref.name.empty();
  nlohmann::json items = nlohmann::json::array();
  if (r == "trials") {
    for (const auto& e : reply.experiments)
      for (const auto& t : e.trials) items.push_back(trial_to_json(e.name, t));
  } else if (r == "tokens") {
    return tokens_to_json(reply.tokens);
  } else if (r == "experiments") {
    return list_or_one(
        ref, reply.experiments, [](const auto& e) { return experiment_to_json(e, true); },
        experiments_to_json);
  } else if (r == "inferenceservices") {
    return list_or_one(
        ref, reply.services, [](const auto& s) { return service_to_json(s, true); },
        services_to_json);
  } else if (r == "pipelines") {
    for (const auto& p : reply.pipelines) items.push_back(pipeline_to_json(p, named));
  } else if (r == "runs") {
    return list_or_one(
        ref, reply.runs, [](const auto& run) { return run_to_json(run, true); }, runs_to_json);
  } else if (r == "recurringruns") {
    for (const auto& rr : reply.recurring_runs) items.push_back(recurring_run_to_json(rr));
  } else if (r == "notebooks") {
    for (const auto& n : reply.notebooks) items.push_back(notebook_to_json(n));
  } else if (r == "nodes") {
    return list_or_one(ref, reply.nodes, node_to_json, nodes_to_json);
  } else if (r == "queues") {
    return list_or_one(ref, reply.queues, queue_to_json, queues_to_json);
  } else {
    return list_or_one(
        ref, reply.jobs, [](const auto& j) { return job_to_json(j, false); }, jobs_to_json);
  }
  return named ? items.at(0) : items;
}

std::vector<nlohmann::json> listing_items(const ResourceRef& ref, const protocol::GetReply& reply) {
  if (listed_count(ref.type.resource, reply) == 0) return {};
  nlohmann::json listed = listing_json(ref, reply);
  if (!listed.is_array()) return {std::move(listed)};
  return {listed.begin(), listed.end()};
}

std::string listing_json_text(const ResourceRef& ref, const protocol::GetReply& reply) {
  return pipelines::json_text(listing_json(ref, reply), 2) + "\n";
}

std::string listing_table(const ResourceRef& ref, const protocol::GetReply& reply, int64_t now_ms,
                          bool wide) {
  const std::string& r = ref.type.resource;
  if (listed_count(r, reply) == 0) return "";
  if (r == "trials") return trials_table(reply.experiments, wide);
  if (r == "experiments") return experiments_table(reply.experiments, now_ms, wide);
  if (r == "inferenceservices") return services_table(reply.services, now_ms, wide);
  if (r == "tokens") return tokens_table(reply.tokens, now_ms);
  if (r == "pipelines") return pipelines_table(reply.pipelines, now_ms);
  if (r == "runs") return runs_table(reply.runs, now_ms, wide);
  if (r == "recurringruns") return recurring_runs_table(reply.recurring_runs, now_ms);
  if (r == "notebooks") return notebooks_table(reply.notebooks, now_ms);
  if (r == "nodes") return nodes_table(reply.nodes, now_ms, wide);
  if (r == "queues") return queues_table(reply.queues, wide);
  if (r == "trainjobs") return trainjobs_table(reply.jobs, now_ms, wide);
  return jobs_table(reply.jobs, now_ms, wide);
}

std::string empty_listing_text(const ResourceRef& ref) {
  const std::string& r = ref.type.resource;
  return "No " + (r == "recurringruns" ? std::string("recurring runs") : r) + " found.\n";
}

}  // namespace cadre::client
