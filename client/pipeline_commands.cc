#include "client/pipeline_commands.h"

#include <yaml-cpp/yaml.h>

#include <random>
#include <thread>

#include "client/lineage.h"
#include "client/pipeline_output.h"
#include "client/resource_ref.h"
#include "client/time_format.h"
#include "pipelines/json_text.h"
#include "protocol/spec/pipeline_spec.h"
#include "protocol/spec/yaml_reader.h"
#include "protocol/string_enum.h"

namespace cadre::client {

using Clock = std::chrono::steady_clock;

namespace {

std::string random_suffix() {
  std::random_device device;
  std::uniform_int_distribution<uint32_t> digits;
  char text[16];
  std::snprintf(text, sizeof text, "%08x", digits(device));
  return text;
}

}  // namespace

Result<std::string> render_run_manifest(const RunOptions& options) {
  if (!spec::is_dns_label(options.pipeline)) {
    return InvalidArgument(spec::quote_value(options.pipeline) + " is not a pipeline name");
  }
  std::string name = options.name;
  if (name.empty()) {
    const size_t keep = spec::kMaxRunNameLength - 9;
    std::string prefix = options.pipeline.substr(0, keep);
    while (!prefix.empty() && prefix.back() == '-') prefix.pop_back();
    name = prefix + "-" + random_suffix();
  }
  if (!spec::is_dns_label(name) || name.size() > spec::kMaxRunNameLength) {
    return InvalidArgument("--name " + spec::quote_value(name) +
                           ": a run's name is a DNS label of at most " +
                           std::to_string(spec::kMaxRunNameLength) + " characters");
  }
  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << spec::kApiVersion;
  y << YAML::Key << "kind" << YAML::Value << "PipelineRun";
  y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << name;
  if (!options.ns.empty()) y << YAML::Key << "namespace" << YAML::Value << options.ns;
  y << YAML::EndMap;
  y << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "pipelineRef" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << options.pipeline;
  if (options.version) y << YAML::Key << "version" << YAML::Value << *options.version;
  y << YAML::EndMap;
  if (!options.parameters.empty()) {
    y << YAML::Key << "parameters" << YAML::Value << YAML::BeginMap;
    std::set<std::string> seen;
    for (const auto& p : options.parameters) {
      const auto eq = p.find('=');
      if (eq == std::string::npos || eq == 0) {
        return InvalidArgument("-p " + spec::quote_value(p) + ": expected NAME=VALUE");
      }
      const std::string key = p.substr(0, eq);
      if (!seen.insert(key).second) {
        return InvalidArgument("-p " + key + ": given twice");
      }
      // Quoted: the coordinator types the text by the pipeline's declaration.
      y << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << p.substr(eq + 1);
    }
    y << YAML::EndMap;
  }
  if (!options.experiment.empty()) {
    y << YAML::Key << "experiment" << YAML::Value << options.experiment;
  }
  if (options.no_cache) y << YAML::Key << "enableCaching" << YAML::Value << false;
  y << YAML::EndMap << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

Status start_run(Coordinator& coordinator, const RunOptions& options, std::ostream& out) {
  ASSIGN_OR_RETURN(std::string manifest, render_run_manifest(options));
  ASSIGN_OR_RETURN(protocol::ApplyReply reply, coordinator.apply(protocol::ApplyRequest{manifest}));
  out << "run/" << reply.name << " " << (reply.action.empty() ? "created" : reply.action) << "\n";
  return Status::Ok();
}

Result<protocol::PipelineState> parse_run_state(const std::string& state) {
  const std::string wanted = lowercase(strip_condition_prefix(state));
  for (const auto& [s, text] : protocol::EnumNames<protocol::PipelineState>::kTable) {
    if (wanted == lowercase(std::string(text)) && s != protocol::PipelineState::kSkipped) return s;
  }
  return InvalidArgument("--for '" + state +
                         "': a run waits for Succeeded, Failed, Canceled, Running or Pending");
}

Status wait_for_run(Coordinator& coordinator, const std::string& name, const std::string& state,
                    std::chrono::milliseconds timeout, std::chrono::milliseconds poll_interval) {
  ASSIGN_OR_RETURN(const protocol::PipelineState wanted, parse_run_state(state));
  const auto deadline = Clock::now() + timeout;
  const std::string what = "run/" + name;
  while (true) {
    ASSIGN_OR_RETURN(protocol::GetReply reply, coordinator.get(protocol::GetRequest{"runs", name}));
    if (reply.runs.empty()) return NotFound(what + " not found");
    const auto& run = reply.runs[0];
    if (run.state == wanted) return Status::Ok();
    const std::string now_in =
        protocol::to_string(run.state) + (run.message.empty() ? "" : ": " + run.message);
    if (protocol::is_terminal(run.state)) {
      return FailedPrecondition(what + " ended " + now_in + ", not " + protocol::to_string(wanted));
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      return DeadlineExceeded("timed out waiting for " + what + " to be " +
                              protocol::to_string(wanted) + " (it is " + now_in + ")");
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(poll_interval, deadline - now));
  }
}

Status compare_runs(Coordinator& coordinator, const std::vector<std::string>& names, bool as_json,
                    std::ostream& out) {
  if (names.size() < 2) return InvalidArgument("compare needs two runs or more");
  std::vector<protocol::PipelineRunStatus> runs;
  for (const auto& name : names) {
    ASSIGN_OR_RETURN(protocol::GetReply reply, coordinator.get(protocol::GetRequest{"runs", name}));
    if (reply.runs.empty()) return NotFound("run/" + name + " not found");
    runs.push_back(std::move(reply.runs[0]));
  }
  if (as_json) {
    out << pipelines::json_text(compare_runs_json(runs), 2) << "\n";
  } else {
    out << compare_runs_table(runs, now_unix_ms());
  }
  return Status::Ok();
}

Status print_lineage(Coordinator& coordinator, const std::string& uri, bool downstream, int depth,
                     bool as_json, std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::GetReply list, coordinator.get(protocol::GetRequest{"runs", ""}));
  std::vector<protocol::PipelineRunStatus> runs;
  for (const auto& r : list.runs) {
    auto one = coordinator.get(protocol::GetRequest{"runs", r.name});
    if (!one.ok() && one.status().code() == StatusCode::kNotFound) continue;  // deleted meanwhile
    if (!one.ok()) return one.status();
    for (auto& run : one->runs) runs.push_back(std::move(run));
  }
  LineageOptions options;
  options.downstream = downstream;
  options.depth = depth;
  if (as_json) {
    ASSIGN_OR_RETURN(nlohmann::json graph, lineage_json(runs, uri, options));
    out << pipelines::json_text(graph, 2) << "\n";
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::string text, lineage_text(runs, uri, options));
  out << text;
  return Status::Ok();
}

Result<std::string> served_model_uri(Coordinator& coordinator, const std::string& service,
                                     std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::GetReply reply,
                   coordinator.get(protocol::GetRequest{"inferenceservices", service}));
  if (reply.services.empty()) return NotFound("inferenceservice/" + service + " not found");
  const auto& s = reply.services[0];
  // The revision that has (or last had) all the traffic; while a first rollout is
  // under way, the newest.
  std::string revision = s.latest_rolledout_revision;
  if (revision.empty()) revision = s.latest_created_revision;
  for (const auto& r : s.revisions) {
    if (r.name != revision) continue;
    out << "inferenceservice/" << service << " serves revision " << revision << ", model "
        << r.storage_uri << "\n";
    return r.storage_uri;
  }
  return NotFound("inferenceservice/" + service + " has no revision " + revision);
}

Status retry_run(Coordinator& coordinator, const std::string& name, std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::RetryReply reply,
                   coordinator.retry(protocol::RetryRequest{"runs", name}));
  out << "run/" << reply.name << " retried (" << reply.tasks_reset << " tasks run again)\n";
  return Status::Ok();
}

namespace {

// The job whose logs a step has; a deploy or tuning step has none of its own.
Result<ResourceRef> job_of(const protocol::PipelineTaskStatus& t) {
  if (t.cached && t.job.empty()) {
    // Reused outputs: the log is the execution's that made them ("<run>/<task id>").
    const size_t slash = t.cached_from.find('/');
    return FailedPrecondition("task " + t.id + " reused the outputs of " + t.cached_from +
                              " and ran nothing; that execution's log: cadre logs run/" +
                              t.cached_from.substr(0, slash) + " --task " +
                              t.cached_from.substr(slash + 1));
  }
  if (t.job.empty()) return FailedPrecondition("task " + t.id + " has not started a job");
  if (t.job.rfind("inferenceservice/", 0) == 0) {
    return FailedPrecondition("task " + t.id + " deployed " + t.job +
                              "; its replicas' logs: cadre logs isvc/" + t.job.substr(17));
  }
  if (t.job.rfind("experiment/", 0) == 0) {
    return FailedPrecondition("task " + t.id + " ran " + t.job + "; its trials' logs: cadre get " +
                              "trials -l experiment=" + t.job.substr(11) +
                              ", then cadre logs job/TRIAL");
  }
  ASSIGN_OR_RETURN(ResourceType type,
                   parse_resource_type(t.workload_kind == "TrainJob" ? "trainjobs" : "jobs"));
  return ResourceRef{type, t.job};
}

}  // namespace

Result<ResourceRef> run_task_job(Coordinator& coordinator, const std::string& run,
                                 const std::string& task) {
  ASSIGN_OR_RETURN(protocol::GetReply reply, coordinator.get(protocol::GetRequest{"runs", run}));
  if (reply.runs.empty()) return NotFound("run/" + run + " not found");
  std::vector<const protocol::PipelineTaskStatus*> matches;
  std::string steps;
  for (const auto& t : reply.runs[0].tasks) {
    if (t.kind != protocol::PipelineTaskKind::kContainer) continue;
    steps += (steps.empty() ? "" : ", ") + t.id;
    if (t.id == task) return job_of(t);
    if (t.name == task) matches.push_back(&t);
  }
  if (matches.size() == 1) return job_of(*matches[0]);
  if (matches.size() > 1) {
    return InvalidArgument("--task " + task + " names " + std::to_string(matches.size()) +
                           " tasks; give its id (" + matches[0]->id + ", ...)");
  }
  return NotFound("run/" + run + " has no step " + spec::quote_value(task) +
                  (steps.empty() ? "" : " (steps: " + steps + ")"));
}

}  // namespace cadre::client
