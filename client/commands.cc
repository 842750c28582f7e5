#include "client/commands.h"

#include <algorithm>
#include <filesystem>

#include "client/experiment_output.h"
#include "client/json_output.h"
#include "client/listing.h"
#include "client/manifest.h"
#include "client/notebook_output.h"
#include "client/pipeline_output.h"
#include "client/recurring_run_output.h"
#include "client/service_output.h"
#include "client/table_output.h"
#include "client/time_format.h"
#include "pipelines/json_text.h"
#include "protocol/curve_keys.h"
#include "protocol/spec/yaml_reader.h"

namespace cadre::client {
namespace {

bool runs_replicas(const ResourceRef& ref) {
  return std::find(kJobResources.begin(), kJobResources.end(), ref.type.resource) !=
         kJobResources.end();
}

}  // namespace

Result<std::string> experiment_selector(const std::string& selector) {
  if (selector.empty()) return std::string();
  const std::string key = "experiment=";
  if (selector.compare(0, key.size(), key) != 0 || selector.size() == key.size()) {
    return InvalidArgument("-l " + selector + ": expected experiment=NAME");
  }
  return selector.substr(key.size());
}

Result<OutputFormat> parse_output_format(const std::string& value) {
  if (value.empty()) return OutputFormat::kTable;
  if (value == "wide") return OutputFormat::kWide;
  if (value == "json") return OutputFormat::kJson;
  return InvalidArgument("-o " + value + ": expected json or wide");
}

Status apply_manifests(Coordinator& coordinator, const std::string& file, std::ostream& out) {
  ASSIGN_OR_RETURN(std::string text, read_manifest_source(file));
  const std::vector<std::string> documents = split_documents(text);
  if (documents.empty()) return InvalidArgument(file + ": no YAML documents to apply");
  for (size_t i = 0; i < documents.size(); ++i) {
    auto reply = coordinator.apply(protocol::ApplyRequest{documents[i]});
    if (!reply.ok()) {
      if (documents.size() == 1) return reply.status();
      return reply.status().annotate(file + " document " + std::to_string(i + 1));
    }
    out << lowercase(reply->kind) << "/" << reply->name << " "
        << (reply->action.empty() ? "created" : reply->action) << "\n";
  }
  return Status::Ok();
}

Status get_resources(Coordinator& coordinator, const ResourceRef& ref, OutputFormat format,
                     std::ostream& out, const std::string& selector) {
  ASSIGN_OR_RETURN(const std::string experiment, experiment_selector(selector));
  if (ref.type.resource != "trials" && !experiment.empty()) {
    return InvalidArgument("-l experiment=NAME selects trials only");
  }
  ASSIGN_OR_RETURN(const protocol::GetReply reply, fetch_listing(coordinator, ref, experiment));
  if (format == OutputFormat::kJson) {
    out << listing_json_text(ref, reply);
    return Status::Ok();
  }
  const std::string table = listing_table(ref, reply, now_unix_ms(), format == OutputFormat::kWide);
  out << (table.empty() ? empty_listing_text(ref) : table);
  return Status::Ok();
}

Status describe_resource(Coordinator& coordinator, const ResourceRef& ref, std::ostream& out) {
  const auto& r = ref.type.resource;
  if (!runs_replicas(ref) && r != "nodes" && r != "queues" && r != "experiments" &&
      r != "inferenceservices" && r != "pipelines" && r != "runs" && r != "recurringruns" &&
      r != "notebooks") {
    return InvalidArgument(
        "describe supports nodes, queues, jobs, trainjobs, experiments, inferenceservices, "
        "pipelines, runs, recurringruns and notebooks");
  }
  if (ref.name.empty()) {
    return InvalidArgument("describe needs a name: describe " + ref.type.singular + " NAME");
  }
  ASSIGN_OR_RETURN(const protocol::GetReply reply, fetch_listing(coordinator, ref));
  const int64_t now = now_unix_ms();
  if (r == "nodes") {
    // The node lists its replicas by uid; the jobs say whose each one is.
    std::vector<protocol::JobStatus> jobs;
    for (const char* kind : {"jobs", "trainjobs"}) {
      ASSIGN_OR_RETURN(protocol::GetReply listed, coordinator.get(protocol::GetRequest{kind, ""}));
      jobs.insert(jobs.end(), listed.jobs.begin(), listed.jobs.end());
    }
    out << describe_node(reply.nodes[0], jobs, now);
  } else if (r == "queues") {
    out << describe_queue(reply.queues[0]);
  } else if (r == "inferenceservices") {
    out << describe_service(reply.services[0], now);
  } else if (r == "pipelines") {
    out << describe_pipeline(reply.pipelines[0], now);
  } else if (r == "runs") {
    out << describe_run(reply.runs[0], now);
  } else if (r == "recurringruns") {
    out << describe_recurring_run(reply.recurring_runs[0], now);
  } else if (r == "notebooks") {
    out << describe_notebook(reply.notebooks[0], now);
  } else if (r == "experiments") {
    out << describe_experiment(reply.experiments[0], now);
  } else {
    out << describe_job(reply.jobs[0], now);
  }
  return Status::Ok();
}

Status delete_resource(Coordinator& coordinator, const ResourceRef& ref, std::ostream& out,
                       bool purge) {
  const auto& r = ref.type.resource;
  if (purge && r != "notebooks") {
    return InvalidArgument("--purge removes a notebook's workspace; " + ref.type.singular + "/" +
                           ref.name + " has none");
  }
  if (!runs_replicas(ref) && r != "nodes" && r != "experiments" && r != "inferenceservices" &&
      r != "tokens" && r != "pipelines" && r != "runs" && r != "recurringruns" &&
      r != "notebooks") {
    return InvalidArgument(
        "only jobs, trainjobs, experiments, inferenceservices, pipelines, runs, recurringruns, "
        "notebooks, tokens and nodes can be deleted");
  }
  if (ref.name.empty()) {
    return InvalidArgument("delete needs a name: delete " + ref.type.singular + "/NAME");
  }
  ASSIGN_OR_RETURN(protocol::DeleteReply reply,
                   coordinator.remove(protocol::DeleteRequest{ref.type.resource, ref.name, purge}));
  out << ref.type.singular << "/" << (reply.name.empty() ? ref.name : reply.name) << " deleted"
      << (purge ? ", its workspace removed" : "") << "\n";
  return Status::Ok();
}

Status delete_manifests(Coordinator& coordinator, const std::string& file, std::ostream& out) {
  ASSIGN_OR_RETURN(std::string text, read_manifest_source(file));
  const std::vector<std::string> documents = split_documents(text);
  if (documents.empty()) return InvalidArgument(file + ": no YAML documents");
  for (size_t i = 0; i < documents.size(); ++i) {
    ASSIGN_OR_RETURN(ManifestIdentity identity, manifest_identity(documents[i], i));
    ASSIGN_OR_RETURN(ResourceType type, parse_resource_type(identity.kind));
    RETURN_IF_ERROR(delete_resource(coordinator, ResourceRef{type, identity.name}, out));
  }
  return Status::Ok();
}

Status generate_keys(const std::string& prefix, bool force, const std::string& node,
                     std::ostream& out) {
  if (!node.empty() && !spec::is_dns_label(node)) {
    return InvalidArgument("--node: " + spec::quote_value(node) +
                           " is not a node name (a DNS label: lower-case letters, digits, '-')");
  }
  std::error_code ec;
  if (!force && (std::filesystem::exists(prefix + ".key", ec) ||
                 std::filesystem::exists(prefix + ".pub", ec))) {
    return AlreadyExists(prefix + ".key or " + prefix +
                         ".pub exists; pass --force to replace the key pair");
  }
  ASSIGN_OR_RETURN(protocol::KeyPair pair, protocol::generate_keypair());
  RETURN_IF_ERROR(protocol::write_keypair(prefix, pair, node));
  out << pair.public_key << "\n";
  return Status::Ok();
}

}  // namespace cadre::client
