#include "pipelines/spec_placeholders.h"

namespace cadre::pipelines {
namespace {

constexpr size_t kMaxDepth = 64;  // deeper than any kind's spec; a bound for hostile input

std::string child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

Status too_deep(const std::string& path) {
  return InvalidArgument(path + ": nested deeper than " + std::to_string(kMaxDepth));
}

Status scan(const YAML::Node& node, const std::string& path, size_t depth,
            std::vector<std::pair<std::string, PlaceholderRef>>& out) {
  if (depth > kMaxDepth) return too_deep(path);
  if (node.IsScalar()) {
    auto refs = scan_placeholders(node.Scalar());
    if (!refs.ok()) return InvalidArgument(path + ": " + refs.status().message());
    for (auto& r : *refs) out.emplace_back(path, std::move(r));
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      RETURN_IF_ERROR(scan(node[i], path + "[" + std::to_string(i) + "]", depth + 1, out));
    }
  } else if (node.IsMap()) {
    for (const auto& kv : node) {
      RETURN_IF_ERROR(scan(kv.second, child(path, kv.first.Scalar()), depth + 1, out));
    }
  }
  return Status::Ok();
}

Result<YAML::Node> substitute(const YAML::Node& node, const ExecutorContext& context,
                              const std::string& path, size_t depth) {
  if (depth > kMaxDepth) return too_deep(path);
  if (node.IsScalar()) {
    auto values = resolve_args({node.Scalar()}, context);
    if (!values.ok()) return InvalidArgument(path + ": " + values.status().message());
    if (values->size() != 1) {
      return InvalidArgument(path + ": IfPresent may only add or drop items of a list");
    }
    return YAML::Node(values->front());
  }
  if (node.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string at = path + "[" + std::to_string(i) + "]";
      if (node[i].IsScalar()) {
        // An argument-like item: Concat joins, IfPresent may expand or vanish.
        auto values = resolve_args({node[i].Scalar()}, context);
        if (!values.ok()) return InvalidArgument(at + ": " + values.status().message());
        for (auto& v : *values) out.push_back(v);
        continue;
      }
      ASSIGN_OR_RETURN(auto item, substitute(node[i], context, at, depth + 1));
      out.push_back(item);
    }
    return out;
  }
  if (node.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      ASSIGN_OR_RETURN(out[key], substitute(kv.second, context, child(path, key), depth + 1));
    }
    return out;
  }
  return YAML::Node(YAML::NodeType::Null);
}

}  // namespace

Result<std::vector<std::pair<std::string, PlaceholderRef>>> scan_spec_placeholders(
    const YAML::Node& spec, const std::string& path) {
  std::vector<std::pair<std::string, PlaceholderRef>> out;
  RETURN_IF_ERROR(scan(spec, path, 0, out));
  return out;
}

Result<YAML::Node> substitute_spec_placeholders(const YAML::Node& spec,
                                                const ExecutorContext& context,
                                                const std::string& path) {
  return substitute(spec, context, path, 0);
}

}  // namespace cadre::pipelines
