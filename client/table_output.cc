#include "client/table_output.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "client/time_format.h"
#include "protocol/spec/quantity.h"

namespace cadre::client {

std::string format_number(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

std::string instance_label(const std::string& job, const std::string& uid) {
  if (uid.size() <= job.size() + 1 || uid.compare(0, job.size() + 1, job + "-") != 0) return uid;
  std::vector<std::string> parts;
  std::string rest = uid.substr(job.size() + 1);
  for (size_t start = 0;;) {
    const size_t dash = rest.find('-', start);
    parts.push_back(rest.substr(start, dash - start));
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  if (parts.size() == 4) parts.erase(parts.begin());
  if (parts.size() != 3) return uid;
  return parts[0] + "-" + parts[1] + " #" + parts[2];
}

std::string describe_label(const std::string& name) {
  constexpr size_t kWidth = 12;
  return name + std::string(name.size() < kWidth ? kWidth - name.size() : 1, ' ');
}

namespace {

std::string cell(const std::string& text) { return text.empty() ? "-" : text; }

std::string join_labels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [key, value] : labels) out += (out.empty() ? "" : ",") + key + "=" + value;
  return out;
}

// "Completed 2m ago" style line for describe: the RFC 3339 time and its age.
std::string time_and_age(int64_t unix_ms, int64_t now_ms) {
  if (unix_ms <= 0) return "-";
  return rfc3339(unix_ms) + " (" + age_since(unix_ms, now_ms) + " ago)";
}

std::string indent(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) out += prefix + line + "\n";
  return out;
}

std::string run_duration(const protocol::JobStatus& job, int64_t now_ms) {
  if (job.started_ms <= 0) return "";
  return format_age((job.finished_ms > 0 ? job.finished_ms : now_ms) - job.started_ms);
}

std::string exit_text(const std::optional<int32_t>& exit_code) {
  return exit_code ? std::to_string(*exit_code) : "";
}

// "host:port" peers reach a replica at; the host alone when its node has no ports.
std::string endpoint(const protocol::ReplicaStatus& replica) {
  if (replica.address.empty() || replica.port <= 0) return replica.address;
  return replica.address + ":" + std::to_string(replica.port);
}

std::string join_gpus(const std::vector<int32_t>& gpus) {
  std::string out;
  for (const int32_t gpu : gpus) out += (out.empty() ? "" : ",") + std::to_string(gpu);
  return out;
}

// Each replica type with its number of replicas, in the order the types first
// appear in rank order; then any type only the per-type counts name (counted from
// them), so a status whose replica list is not filled in yet still shows its types.
std::vector<std::pair<std::string, int32_t>> replica_types(const protocol::JobStatus& job) {
  std::vector<std::pair<std::string, int32_t>> types;
  for (const auto& replica : job.replicas) {
    auto known = std::find_if(types.begin(), types.end(),
                              [&](const auto& type) { return type.first == replica.type; });
    if (known == types.end()) {
      types.emplace_back(replica.type, 1);
    } else {
      ++known->second;
    }
  }
  for (const auto& [type, counts] : job.replica_statuses) {
    const bool listed = std::any_of(types.begin(), types.end(),
                                    [&](const auto& known) { return known.first == type; });
    if (!listed) types.emplace_back(type, counts.active + counts.succeeded + counts.failed);
  }
  return types;
}

// Each header field of describe: a TrainJob's state is its gang's, so it shows
// priority, queue and restarts; a Job's is its one replica's exit code and node.
std::vector<std::pair<std::string, std::string>> header_fields(const protocol::JobStatus& job,
                                                               int64_t now_ms) {
  std::vector<std::pair<std::string, std::string>> fields = {{"Name:", job.name},
                                                             {"Kind:", job.kind}};
  if (job.kind == "TrainJob") {
    fields.insert(fields.end(), {{"State:", protocol::to_string(job.phase)},
                                 {"Reason:", job.reason},
                                 {"Message:", job.message},
                                 {"Priority:", std::to_string(job.priority)},
                                 {"Queue:", job.queue},
                                 {"Restarts:", std::to_string(job.restarts)}});
  } else {
    fields.insert(fields.end(), {{"Phase:", protocol::to_string(job.phase)},
                                 {"Reason:", job.reason},
                                 {"Message:", job.message},
                                 {"Exit Code:", exit_text(job.exit_code)},
                                 {"Node:", job.node},
                                 {"Replica:", job.replica}});
  }
  // A trial's job says whose it is; the user's own jobs have no owner line.
  if (!job.owner.empty()) fields.push_back({"Owner:", job.owner});
  fields.insert(fields.end(), {{"Created:", time_and_age(job.created_ms, now_ms)},
                               {"Started:", time_and_age(job.started_ms, now_ms)},
                               {"Finished:", time_and_age(job.finished_ms, now_ms)}});
  return fields;
}

std::string conditions_table(const std::vector<protocol::JobCondition>& conditions,
                             int64_t now_ms) {
  if (conditions.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  for (const auto& condition : conditions) {
    rows.push_back({protocol::to_string(condition.type), protocol::to_string(condition.status),
                    condition.reason, age_since(condition.last_transition_ms, now_ms),
                    condition.message});
  }
  return render_table({"TYPE", "STATUS", "REASON", "AGE", "MESSAGE"}, rows);
}

std::string replicas_table(const std::vector<protocol::ReplicaStatus>& replicas) {
  if (replicas.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  for (const auto& replica : replicas) {
    rows.push_back({replica.name, protocol::to_string(replica.state), replica.node,
                    endpoint(replica), join_gpus(replica.gpu_indices),
                    std::to_string(replica.restarts), exit_text(replica.exit_code),
                    replica.reason});
  }
  return render_table({"NAME", "STATE", "NODE", "ENDPOINT", "GPUS", "RESTARTS", "EXIT", "REASON"},
                      rows);
}

std::string replica_counts_table(const protocol::JobStatus& job) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [type, total] : replica_types(job)) {
    const auto found = job.replica_statuses.find(type);
    const protocol::ReplicaCounts counts =
        found == job.replica_statuses.end() ? protocol::ReplicaCounts{} : found->second;
    rows.push_back({type, std::to_string(total), std::to_string(counts.active),
                    std::to_string(counts.succeeded), std::to_string(counts.failed)});
  }
  if (rows.empty()) return "";
  return render_table({"TYPE", "REPLICAS", "ACTIVE", "SUCCEEDED", "FAILED"}, rows);
}

}  // namespace

// Columns on a terminal: UTF-8 code points (a sparkline's blocks are 3 bytes each
// but one column), not bytes.
size_t display_width(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(headers.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(cell(row[i])));
    }
  };
  measure(headers);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string text = i < row.size() ? cell(row[i]) : "-";
      line += text;
      if (i + 1 < widths.size()) line += std::string(widths[i] - display_width(text) + 3, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  };
  emit(headers);
  for (const auto& row : rows) emit(row);
  return out;
}

std::string node_state_text(const protocol::NodeStatus& node) {
  const std::string state = protocol::to_string(node.state);
  return node.cordoned ? state + ",SchedulingDisabled" : state;
}

std::string nodes_table(const std::vector<protocol::NodeStatus>& nodes, int64_t now_ms, bool wide) {
  std::vector<std::string> headers = {"NAME", "STATE", "CPU", "MEMORY", "GPUS", "HEARTBEAT"};
  if (wide) headers.insert(headers.end(), {"ADDRESS", "EPOCH", "LABELS"});
  std::vector<std::vector<std::string>> rows;
  for (const auto& node : nodes) {
    std::vector<std::string> row = {
        node.name,
        node_state_text(node),
        format_cores(node.allocated_cpu_millis) + "/" + format_cores(node.cpu_millis),
        spec::format_memory_rounded(node.allocated_memory_bytes) + "/" +
            spec::format_memory_rounded(node.memory_bytes),
        std::to_string(node.allocated_gpus) + "/" + std::to_string(node.gpus),
        node.last_heartbeat_ms > 0 ? age_since(node.last_heartbeat_ms, now_ms) + " ago" : "-",
    };
    if (wide) {
      row.insert(row.end(), {node.address, std::to_string(node.epoch), join_labels(node.labels)});
    }
    rows.push_back(std::move(row));
  }
  return render_table(headers, rows);
}

std::string queues_table(const std::vector<protocol::QueueStatus>& queues, bool wide) {
  std::vector<std::string> headers = {"NAME", "COHORT",  "CPU",     "MEMORY",
                                      "GPUS", "PENDING", "ADMITTED"};
  if (wide) headers.insert(headers.end(), {"BORROWING-LIMIT", "RECLAIM"});
  // "used/quota", "used/-" where the quota leaves it unlimited.
  auto of = [](const std::string& used, const auto& quota, auto format) {
    return used + "/" + (quota ? format(*quota) : std::string("-"));
  };
  auto gpus = [](int32_t n) { return std::to_string(n); };
  std::vector<std::vector<std::string>> rows;
  for (const auto& queue : queues) {
    std::vector<std::string> row = {
        queue.name,
        queue.cohort.empty() ? "-" : queue.cohort,
        of(format_cores(queue.used_cpu_millis), queue.quota.cpu_millis, format_cores),
        of(spec::format_memory_rounded(queue.used_memory_bytes), queue.quota.memory_bytes,
           spec::format_memory_rounded),
        of(gpus(queue.used_gpus), queue.quota.gpus, gpus),
        std::to_string(queue.pending),
        std::to_string(queue.admitted),
    };
    if (wide) {
      std::string limit;
      const auto& b = queue.borrowing_limit;
      if (b.cpu_millis) limit += "cpu=" + format_cores(*b.cpu_millis);
      if (b.memory_bytes) {
        limit += (limit.empty() ? "" : ",") + ("memory=" + spec::format_memory(*b.memory_bytes));
      }
      if (b.gpus) limit += (limit.empty() ? "" : ",") + ("gpu=" + gpus(*b.gpus));
      row.insert(row.end(),
                 {limit.empty() ? "-" : limit, queue.reclaim.empty() ? "-" : queue.reclaim});
    }
    rows.push_back(std::move(row));
  }
  return render_table(headers, rows);
}

std::string format_metrics(const std::map<std::string, double>& metrics) {
  std::string out;
  for (const auto& [name, value] : metrics) {
    out += (out.empty() ? "" : " ") + name + "=" + format_number(value);
  }
  return out;
}

std::string jobs_table(const std::vector<protocol::JobStatus>& jobs, int64_t now_ms, bool wide) {
  std::vector<std::string> headers = {"NAME", "KIND", "PHASE", "REASON", "EXIT", "NODE", "AGE"};
  if (wide) headers.insert(headers.end(), {"REPLICA", "DURATION", "METRICS", "MESSAGE"});
  std::vector<std::vector<std::string>> rows;
  for (const auto& job : jobs) {
    std::vector<std::string> row = {
        job.name,
        job.kind,
        protocol::to_string(job.phase),
        job.reason,
        exit_text(job.exit_code),
        job.node,
        age_since(job.created_ms, now_ms),
    };
    if (wide) {
      row.insert(row.end(), {job.replica, run_duration(job, now_ms), format_metrics(job.metrics),
                             job.message});
    }
    rows.push_back(std::move(row));
  }
  return render_table(headers, rows);
}

std::string replica_summary(const protocol::JobStatus& job) {
  std::string out;
  for (const auto& [type, total] : replica_types(job)) {
    const auto counts = job.replica_statuses.find(type);
    const int32_t active = counts == job.replica_statuses.end() ? 0 : counts->second.active;
    out += (out.empty() ? "" : " ") + type + " " + std::to_string(active) + "/" +
           std::to_string(total);
  }
  return out;
}

std::string trainjobs_table(const std::vector<protocol::JobStatus>& jobs, int64_t now_ms,
                            bool wide) {
  std::vector<std::string> headers = {"NAME", "STATE", "REPLICAS", "RESTARTS", "AGE"};
  if (wide) {
    headers.insert(headers.end(),
                   {"REASON", "PRIORITY", "QUEUE", "DURATION", "METRICS", "MESSAGE"});
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& job : jobs) {
    std::vector<std::string> row = {job.name, protocol::to_string(job.phase), replica_summary(job),
                                    std::to_string(job.restarts),
                                    age_since(job.created_ms, now_ms)};
    if (wide) {
      row.insert(row.end(), {job.reason, std::to_string(job.priority), job.queue,
                             run_duration(job, now_ms), format_metrics(job.metrics), job.message});
    }
    rows.push_back(std::move(row));
  }
  return render_table(headers, rows);
}

std::string describe_job(const protocol::JobStatus& job, int64_t now_ms) {
  const bool train_job = job.kind == "TrainJob";
  std::string out;
  for (const auto& [name, value] : header_fields(job, now_ms)) {
    out += describe_label(name) + cell(value) + "\n";
  }
  const auto section = [&](const std::string& name, const std::string& body) {
    out += body.empty() ? describe_label(name) + "<none>\n" : name + "\n" + indent(body, "  ");
  };
  // A Job's page shows these only when the coordinator sent them, so a Job from an
  // older coordinator reads as before; a TrainJob's page always has them.
  if (train_job || !job.conditions.empty()) {
    section("Conditions:", conditions_table(job.conditions, now_ms));
  }
  if (train_job || !job.replicas.empty()) section("Replicas:", replicas_table(job.replicas));
  if (train_job || !job.replica_statuses.empty()) {
    section("Replica Statuses:", replica_counts_table(job));
  }
  std::vector<std::vector<std::string>> metric_rows;
  for (const auto& [name, value] : job.metrics) metric_rows.push_back({name, format_number(value)});
  section("Metrics:", metric_rows.empty() ? "" : render_table({"NAME", "VALUE"}, metric_rows));
  section("Manifest:", job.manifest);
  std::vector<std::vector<std::string>> event_rows;
  for (const auto& event : job.events) {
    event_rows.push_back({age_since(event.time_ms, now_ms), protocol::to_string(event.type),
                          event.reason, event.message});
  }
  section("Events:",
          event_rows.empty() ? "" : render_table({"AGE", "TYPE", "REASON", "MESSAGE"}, event_rows));
  return out;
}

namespace {

// "25%" of what the node offers; "-" when it offers none.
std::string share(int64_t used, int64_t offered) {
  if (offered <= 0) return "-";
  return std::to_string(used * 100 / offered) + "%";
}

std::string node_resources_table(const protocol::NodeStatus& node) {
  return render_table(
      {"RESOURCE", "ALLOCATED", "ALLOCATABLE", "SHARE"},
      {{"cpu", format_cores(node.allocated_cpu_millis), format_cores(node.cpu_millis),
        share(node.allocated_cpu_millis, node.cpu_millis)},
       {"memory", spec::format_memory_rounded(node.allocated_memory_bytes),
        spec::format_memory_rounded(node.memory_bytes),
        share(node.allocated_memory_bytes, node.memory_bytes)},
       {"gpu", std::to_string(node.allocated_gpus), std::to_string(node.gpus),
        share(node.allocated_gpus, node.gpus)}});
}

// The replicas the jobs place on the node and alive, then any uid its agent
// reports alive that no job places there (one still stopping, or a stray).
std::string node_replicas_table(const protocol::NodeStatus& node,
                                const std::vector<protocol::JobStatus>& jobs, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  std::set<std::string> listed;
  std::map<std::string, std::pair<const protocol::JobStatus*, const protocol::ReplicaStatus*>>
      by_uid;
  const auto row = [&](const protocol::JobStatus& job, const protocol::ReplicaStatus& replica) {
    rows.push_back({(job.kind == "TrainJob" ? "trainjob/" : "job/") + job.name, replica.name,
                    protocol::to_string(replica.state), join_gpus(replica.gpu_indices), job.owner,
                    age_since(replica.started_ms, now_ms)});
    listed.insert(replica.uid);
  };
  for (const auto& job : jobs) {
    for (const auto& replica : job.replicas) {
      by_uid[replica.uid] = {&job, &replica};
      if (replica.node == node.name && protocol::is_alive(replica.state)) row(job, replica);
    }
  }
  for (const auto& uid : node.replicas) {
    if (listed.count(uid) > 0) continue;
    const auto found = by_uid.find(uid);
    if (found != by_uid.end()) {
      row(*found->second.first, *found->second.second);
    } else {
      rows.push_back({"-", uid, "-", "-", "-", "-"});
      listed.insert(uid);
    }
  }
  if (rows.empty()) return "";
  return render_table({"JOB", "REPLICA", "STATE", "GPUS", "OWNER", "AGE"}, rows);
}

}  // namespace

std::string describe_node(const protocol::NodeStatus& node,
                          const std::vector<protocol::JobStatus>& jobs, int64_t now_ms) {
  std::string gpu_models;
  for (const auto& model : node.gpu_models) gpu_models += (gpu_models.empty() ? "" : ", ") + model;
  std::string out;
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"Name:", node.name},
           {"State:", node_state_text(node) +
                          (node.cordoned ? " (cordoned: nothing new is placed here)" : "")},
           {"Address:", node.address},
           {"Epoch:", std::to_string(node.epoch)},
           {"Heartbeat:", time_and_age(node.last_heartbeat_ms, now_ms)},
           {"Labels:", join_labels(node.labels)},
           {"GPUs:",
            std::to_string(node.gpus) + (gpu_models.empty() ? "" : " (" + gpu_models + ")")},
       }) {
    out += describe_label(name) + cell(value) + "\n";
  }
  out += "Allocated resources:\n" + indent(node_resources_table(node), "  ");
  const std::string replicas = node_replicas_table(node, jobs, now_ms);
  out += replicas.empty() ? describe_label("Replicas:") + "<none>\n"
                          : "Replicas:\n" + indent(replicas, "  ");
  return out;
}

std::string describe_queue(const protocol::QueueStatus& queue) {
  std::string out;
  const std::string cohort =
      queue.cohort.empty() ? "" : queue.cohort + " (reclaim " + queue.reclaim + ")";
  out += describe_label("Name:") + queue.name + "\n";
  out += describe_label("Cohort:") + cell(cohort) + "\n";
  if (queue.borrowing) {
    out += describe_label("Borrowing:") + "yes: holds more than its quota, lent by cohort " +
           queue.cohort + "\n";
  }
  const auto amount = [](const auto& value, auto format) {
    return value ? format(*value) : std::string("-");
  };
  const auto gpus = [](int32_t n) { return std::to_string(n); };
  const auto& q = queue.quota;
  const auto& b = queue.borrowing_limit;
  out += "Resources:\n" +
         indent(render_table(
                    {"RESOURCE", "USED", "QUOTA", "BORROWING-LIMIT"},
                    {{"cpu", format_cores(queue.used_cpu_millis),
                      amount(q.cpu_millis, format_cores), amount(b.cpu_millis, format_cores)},
                     {"memory", spec::format_memory_rounded(queue.used_memory_bytes),
                      amount(q.memory_bytes, spec::format_memory_rounded),
                      amount(b.memory_bytes, spec::format_memory_rounded)},
                     {"gpu", gpus(queue.used_gpus), amount(q.gpus, gpus), amount(b.gpus, gpus)}}),
                "  ");
  // A list of job names, with how many the reply left out past its bound.
  const auto jobs = [&](const std::string& title, const std::vector<std::string>& names,
                        int32_t count) {
    if (count == 0) return describe_label(title + ":") + "<none>\n";
    std::string section = title + " (" + std::to_string(count) + "):\n";
    for (const auto& name : names) section += "  " + name + "\n";
    if (static_cast<int32_t>(names.size()) < count) {
      section +=
          "  ... and " + std::to_string(count - static_cast<int32_t>(names.size())) + " more\n";
    }
    return section;
  };
  out += jobs("Admitted", queue.admitted_jobs, queue.admitted);
  out += jobs("Pending, in the order they are tried", queue.pending_jobs, queue.pending);
  return out;
}

std::string events_section(const std::vector<protocol::JobEvent>& events, int64_t now_ms) {
  if (events.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : events) {
    rows.push_back(
        {protocol::to_string(e.type), e.reason, age_since(e.time_ms, now_ms), e.message});
  }
  return "Events:\n" + render_table({"TYPE", "REASON", "AGE", "MESSAGE"}, rows);
}

}  // namespace cadre::client
