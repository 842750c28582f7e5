#include "protocol/spec/job_spec.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "protocol/spec/quantity.h"
#include "protocol/spec/spec_parsers.h"

namespace cadre::spec {

Result<ObjectMeta> parse_metadata(YamlReader& top) {
  ASSIGN_OR_RETURN(auto reader, top.map("metadata"));
  if (!reader) return field_error("metadata", "required");
  RETURN_IF_ERROR(reader->only({"name", "namespace", "labels"}));
  ObjectMeta meta;
  ASSIGN_OR_RETURN(auto name, reader->string("name"));
  if (!name) return field_error("metadata.name", "required");
  if (!is_dns_label(*name)) {
    return field_error("metadata.name",
                       quote_value(*name) +
                           " must be a DNS label: at most 63 lowercase letters, digits "
                           "or '-', starting and ending with a letter or digit");
  }
  meta.name = *name;
  ASSIGN_OR_RETURN(auto ns, reader->string("namespace"));
  if (ns) {
    if (!is_dns_label(*ns)) {
      return field_error("metadata.namespace", quote_value(*ns) + " must be a DNS label");
    }
    meta.ns = *ns;
  }
  ASSIGN_OR_RETURN(auto labels, reader->string_map("labels"));
  if (labels) meta.labels = *labels;
  RETURN_IF_ERROR(reader->reject_unknown());
  return meta;
}

Result<ResourceRequest> parse_resources(YamlReader& reader) {
  RETURN_IF_ERROR(reader.only({"cpu", "memory", "gpu"}));
  ResourceRequest out;
  ASSIGN_OR_RETURN(auto cpu, reader.scalar("cpu"));
  if (cpu) {
    auto millis = parse_cpu_millis(*cpu);
    if (!millis.ok()) return field_error(reader.child_path("cpu"), millis.status().message());
    out.cpu_millis = *millis;
  }
  ASSIGN_OR_RETURN(auto memory, reader.scalar("memory"));
  if (memory) {
    auto bytes = parse_memory_bytes(*memory);
    if (!bytes.ok()) return field_error(reader.child_path("memory"), bytes.status().message());
    out.memory_bytes = *bytes;
  }
  ASSIGN_OR_RETURN(auto gpu, reader.integer("gpu", 0, 1024));
  if (gpu) out.gpus = static_cast<int32_t>(*gpu);
  RETURN_IF_ERROR(reader.reject_unknown());
  return out;
}

namespace {

// A variable name a shell and execve accept: letters, digits and '_', not starting
// with a digit (POSIX portable names). '=' would split the entry, NUL would cut it.
Status check_env_var(const std::string& path, const std::string& name, const std::string& value) {
  const bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                     });
  if (!valid) {
    return field_error(path, quote_value(name) +
                                 " is not a variable name (letters, digits and '_', not "
                                 "starting with a digit)");
  }
  if (value.find('\0') != std::string::npos) {
    return field_error(path, "the value of " + quote_value(name) + " contains a NUL byte");
  }
  return Status::Ok();
}

// env as Kubernetes writes it ([{name, value}]) or as a plain map.
Result<std::vector<EnvVar>> parse_env(YamlReader& reader) {
  std::vector<EnvVar> out;
  const std::string path = reader.child_path("env");
  YAML::Node env = reader.node("env");
  if (!env.IsDefined() || env.IsNull()) return out;
  if (env.IsMap()) {
    ASSIGN_OR_RETURN(auto map, reader.string_map("env"));
    if (map) {
      for (auto& [name, value] : *map) {
        RETURN_IF_ERROR(check_env_var(path + "." + name.substr(0, 64), name, value));
        out.push_back({name, value});
      }
    }
    return out;
  }
  if (!env.IsSequence()) return field_error(path, "must be a list of {name, value} or a map");
  for (size_t i = 0; i < env.size(); ++i) {
    ASSIGN_OR_RETURN(YamlReader item,
                     YamlReader::Map(env[i], path + "[" + std::to_string(i) + "]"));
    ASSIGN_OR_RETURN(auto name, item.string("name"));
    if (!name || name->empty()) return field_error(item.child_path("name"), "required");
    ASSIGN_OR_RETURN(auto value, item.string("value"));
    RETURN_IF_ERROR(item.reject_unknown());
    RETURN_IF_ERROR(check_env_var(item.child_path("name"), *name, value.value_or("")));
    out.push_back({*name, value.value_or("")});
  }
  return out;
}

}  // namespace

Result<ReplicaTemplate> parse_replica_template(YamlReader& reader) {
  return parse_replica_template(reader, true);
}

// A label as Kubernetes writes one: a key of at most 253 characters (an optional
// "prefix/" and a name), a value of at most 63, letters, digits, '-', '_' and '.'.
Result<std::map<std::string, std::string>> parse_node_selector(YamlReader& reader) {
  ASSIGN_OR_RETURN(auto selector, reader.string_map("nodeSelector"));
  if (!selector) return std::map<std::string, std::string>{};
  constexpr size_t kMaxPairs = 16;
  if (selector->size() > kMaxPairs) {
    return field_error(
        reader.child_path("nodeSelector"),
        std::to_string(selector->size()) + " labels; at most " + std::to_string(kMaxPairs));
  }
  const auto label_text = [](const std::string& text, size_t max, bool slash) {
    return text.size() <= max && std::all_of(text.begin(), text.end(), [&](char c) {
             return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                    c == '.' || (slash && c == '/');
           });
  };
  for (const auto& [key, value] : *selector) {
    const std::string path = reader.child_path("nodeSelector") + "." + key;
    if (key.empty() || !label_text(key, 253, true)) {
      return field_error(path, "not a label key (at most 253 letters, digits, '-', '_', '.', '/')");
    }
    if (!label_text(value, 63, false)) {
      return field_error(path, quote_value(value) +
                                   " is not a label value (at most 63 letters, digits, '-', '_', "
                                   "'.')");
    }
  }
  return *selector;
}

Result<ReplicaTemplate> parse_replica_template(YamlReader& reader, bool command_required) {
  RETURN_IF_ERROR(reader.only({"command", "args", "env", "workingDir", "resources",
                               "terminationGracePeriodSeconds", "nodeSelector"}));
  ReplicaTemplate out;
  ASSIGN_OR_RETURN(auto command, reader.string_list("command"));
  if (command && command->empty()) return field_error(reader.child_path("command"), "empty");
  if (!command && command_required) return field_error(reader.child_path("command"), "required");
  if (command) out.command = *command;
  ASSIGN_OR_RETURN(auto args, reader.string_list("args"));
  if (args) out.args = *args;
  ASSIGN_OR_RETURN(out.env, parse_env(reader));
  ASSIGN_OR_RETURN(auto dir, reader.string("workingDir"));
  if (dir) {
    // A relative workingDir is a folder inside the replica's own; ".." may not leave it.
    const auto normal = std::filesystem::path(*dir).lexically_normal();
    if (normal.is_relative() && !normal.empty() && *normal.begin() == "..") {
      return field_error(reader.child_path("workingDir"),
                         quote_value(*dir) +
                             " leaves the replica's folder (a relative workingDir "
                             "stays inside it; use an absolute path for another)");
    }
    out.working_dir = *dir;
  }
  ASSIGN_OR_RETURN(auto resources, reader.map("resources"));
  if (resources) {
    ASSIGN_OR_RETURN(out.resources, parse_resources(*resources));
  }
  ASSIGN_OR_RETURN(out.termination_grace_seconds,
                   reader.integer("terminationGracePeriodSeconds", 0, 3600));
  ASSIGN_OR_RETURN(out.node_selector, parse_node_selector(reader));
  RETURN_IF_ERROR(reader.reject_unknown());
  return out;
}

Result<JobSpec> parse_job(YamlReader& top, ObjectMeta metadata) {
  JobSpec job;
  job.metadata = std::move(metadata);
  ASSIGN_OR_RETURN(auto spec, top.map("spec"));
  if (!spec) return field_error("spec", "required");
  RETURN_IF_ERROR(spec->only({"template", "activeDeadlineSeconds", "suspend", "schedulingPolicy"}));
  ASSIGN_OR_RETURN(auto tmpl, spec->map("template"));
  if (!tmpl) return field_error("spec.template", "required");
  ASSIGN_OR_RETURN(job.replica, parse_replica_template(*tmpl));
  ASSIGN_OR_RETURN(job.active_deadline_seconds,
                   spec->integer("activeDeadlineSeconds", 1, kMaxSeconds));
  ASSIGN_OR_RETURN(auto suspend, spec->boolean("suspend"));
  job.suspend = suspend.value_or(false);
  ASSIGN_OR_RETURN(job.scheduling, parse_scheduling_policy(*spec, 1));
  RETURN_IF_ERROR(spec->reject_unknown());
  return job;
}

}  // namespace cadre::spec
