#include "client/service_output.h"

#include <sstream>

#include "client/json_output.h"
#include "client/table_output.h"
#include "client/time_format.h"

namespace cadre::client {
namespace {

using protocol::InferenceServiceStatus;

std::string traffic_text(const InferenceServiceStatus& s) {
  std::string out;
  for (const auto& t : s.traffic) {
    out += (out.empty() ? "" : ", ") + t.revision_name + " " + std::to_string(t.percent) + "%";
  }
  return out;
}

std::string replicas_text(const InferenceServiceStatus& s) {
  int32_t ready = 0, desired = 0;
  for (const auto& rev : s.revisions) {
    ready += rev.ready_replicas;
    desired += rev.desired_replicas;
  }
  return std::to_string(ready) + "/" + std::to_string(desired);
}

// Indents a rendered table under a heading.
void section(std::string& out, const std::string& heading, const std::vector<std::string>& headers,
             const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) {
    out += describe_label(heading) + "<none>\n";
    return;
  }
  out += heading + "\n";
  std::istringstream table(render_table(headers, rows));
  for (std::string line; std::getline(table, line);) out += "  " + line + "\n";
}

}  // namespace

std::string services_table(const std::vector<InferenceServiceStatus>& services, int64_t now_ms,
                           bool wide) {
  std::vector<std::string> headers = {"NAME", "URL", "READY", "REPLICAS", "TRAFFIC", "AGE"};
  if (wide) {
    headers.push_back("LATEST");
    headers.push_back("PREVIOUS");
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : services) {
    std::vector<std::string> row = {
        s.name,           s.url,           s.ready ? "True" : "False",
        replicas_text(s), traffic_text(s), age_since(s.created_ms, now_ms)};
    if (wide) {
      row.push_back(s.latest_created_revision);
      row.push_back(s.previous_rolledout_revision);
    }
    rows.push_back(std::move(row));
  }
  return render_table(headers, rows);
}

std::string describe_service(const InferenceServiceStatus& s, int64_t now_ms) {
  std::string out;
  auto field = [&](const std::string& name, const std::string& value) {
    out += describe_label(name) + (value.empty() ? "-" : value) + "\n";
  };
  field("Name:", s.name);
  field("Namespace:", s.ns);
  field("URL:", s.url);
  field("Ready:", s.ready ? "True" : "False");
  field("Created:", rfc3339(s.created_ms) + " (" + age_since(s.created_ms, now_ms) + " ago)");
  field("Auth:", s.auth ? "token" : "none");
  field("Canary:", s.canary_traffic_percent ? std::to_string(*s.canary_traffic_percent) + "%" : "");
  field("Latest:", s.latest_created_revision);
  field("Rolled out:", s.latest_rolledout_revision);
  field("Previous:", s.previous_rolledout_revision);
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : s.conditions) {
    rows.push_back(
        {protocol::to_string(c.type), protocol::to_string(c.status), c.reason, c.message});
  }
  section(out, "Conditions:", {"TYPE", "STATUS", "REASON", "MESSAGE"}, rows);
  rows.clear();
  for (const auto& t : s.traffic) {
    rows.push_back(
        {t.revision_name, std::to_string(t.percent) + "%", t.latest_revision ? "true" : ""});
  }
  section(out, "Traffic:", {"REVISION", "PERCENT", "LATEST"}, rows);
  rows.clear();
  for (const auto& rev : s.revisions) {
    rows.push_back({rev.name, rev.model_format, rev.storage_uri,
                    std::to_string(rev.ready_replicas) + "/" + std::to_string(rev.desired_replicas),
                    age_since(rev.created_ms, now_ms)});
  }
  section(out, "Revisions:", {"NAME", "FORMAT", "STORAGE", "READY", "AGE"}, rows);
  rows.clear();
  for (const auto& r : s.replicas) {
    rows.push_back({r.job, r.revision, protocol::to_string(r.state), r.node,
                    r.port ? std::to_string(r.port) : "", r.message});
  }
  section(out, "Replicas:", {"NAME", "REVISION", "STATE", "NODE", "PORT", "MESSAGE"}, rows);
  rows.clear();
  for (const auto& e : s.events) {
    rows.push_back(
        {age_since(e.time_ms, now_ms), protocol::to_string(e.type), e.reason, e.message});
  }
  section(out, "Events:", {"AGE", "TYPE", "REASON", "MESSAGE"}, rows);
  return out;
}

nlohmann::json service_to_json(const InferenceServiceStatus& s, bool detail) {
  nlohmann::json traffic = nlohmann::json::array();
  for (const auto& t : s.traffic) {
    traffic.push_back({{"revisionName", t.revision_name},
                       {"percent", t.percent},
                       {"latestRevision", t.latest_revision}});
  }
  nlohmann::json replicas = nlohmann::json::array();
  for (const auto& r : s.replicas) {
    replicas.push_back({{"name", r.job},
                        {"revision", r.revision},
                        {"state", protocol::to_string(r.state)},
                        {"node", r.node},
                        {"address", r.address},
                        {"port", r.port},
                        {"message", r.message},
                        {"readyAt", time_or_null(r.ready_ms)}});
  }
  nlohmann::json revisions = nlohmann::json::array();
  for (const auto& rev : s.revisions) {
    revisions.push_back({{"name", rev.name},
                         {"modelFormat", rev.model_format},
                         {"storageUri", rev.storage_uri},
                         {"desiredReplicas", rev.desired_replicas},
                         {"readyReplicas", rev.ready_replicas},
                         {"createdAt", time_or_null(rev.created_ms)}});
  }
  nlohmann::json conditions = nlohmann::json::array();
  for (const auto& c : s.conditions) {
    conditions.push_back({{"type", protocol::to_string(c.type)},
                          {"status", protocol::to_string(c.status)},
                          {"reason", c.reason},
                          {"message", c.message},
                          {"lastTransitionTime", time_or_null(c.last_transition_ms)}});
  }
  nlohmann::json out = {
      {"name", s.name},
      {"namespace", s.ns},
      {"url", s.url},
      {"ready", s.ready},
      {"traffic", traffic},
      {"replicas", replicas},
      {"revisions", revisions},
      {"latestCreatedRevision", s.latest_created_revision},
      {"latestReadyRevision", s.latest_ready_revision},
      {"latestRolledoutRevision", s.latest_rolledout_revision},
      {"previousRolledoutRevision", s.previous_rolledout_revision},
      {"canaryTrafficPercent",
       s.canary_traffic_percent ? nlohmann::json(*s.canary_traffic_percent) : nullptr},
      {"conditions", conditions},
      {"createdAt", time_or_null(s.created_ms)},
  };
  if (detail) {
    nlohmann::json events = nlohmann::json::array();
    for (const auto& e : s.events) {
      events.push_back({{"time", time_or_null(e.time_ms)},
                        {"type", protocol::to_string(e.type)},
                        {"reason", e.reason},
                        {"message", e.message}});
    }
    out["events"] = events;
  }
  return out;
}

nlohmann::json services_to_json(const std::vector<InferenceServiceStatus>& services) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& s : services) items.push_back(service_to_json(s, false));
  return items;
}

std::string tokens_table(const std::vector<protocol::TokenInfo>& tokens, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : tokens) {
    rows.push_back({t.id, t.ns, t.description, age_since(t.created_ms, now_ms)});
  }
  return render_table({"ID", "NAMESPACE", "DESCRIPTION", "AGE"}, rows);
}

}  // namespace cadre::client
