#include "protocol/spec/manifest_limits.h"

#include <set>
#include <string>

namespace cadre::spec {
namespace {

class Walk {
 public:
  explicit Walk(const ManifestLimits& limits) : limits_(limits) {}

  Status visit(const YAML::Node& node, const std::string& path, size_t depth) {
    if (++nodes_ > limits_.max_nodes) {
      return refuse(path, "more than " + std::to_string(limits_.max_nodes) +
                              " YAML nodes (aliases count each time they are used)");
    }
    if (depth > limits_.max_depth) {
      return refuse(path, "nested deeper than " + std::to_string(limits_.max_depth));
    }
    switch (node.Type()) {
      case YAML::NodeType::Scalar:
        bytes_ += node.Scalar().size();
        if (bytes_ > limits_.max_expanded_bytes) {
          return refuse(path, "more than " + std::to_string(limits_.max_expanded_bytes) +
                                  " bytes of text (aliases count each time they are used)");
        }
        return Status::Ok();
      case YAML::NodeType::Sequence:
        for (size_t i = 0; i < node.size(); ++i) {
          RETURN_IF_ERROR(visit(node[i], path + "[" + std::to_string(i) + "]", depth + 1));
        }
        return Status::Ok();
      case YAML::NodeType::Map:
        return visit_map(node, path, depth);
      default:
        return Status::Ok();
    }
  }

 private:
  Status visit_map(const YAML::Node& node, const std::string& path, size_t depth) {
    std::set<std::string> keys;
    for (const auto& entry : node) {
      // No kind has a list or a map as a key (YAML's "? [a, b]: x"), and the
      // readers take keys as text: refused here, once, for all of them.
      if (!entry.first.IsScalar()) return refuse(path, "a key must be text, not a list or a map");
      const std::string& key = entry.first.Scalar();
      const std::string child = path.empty() ? key : path + "." + key;
      if (!keys.insert(key).second) return refuse(child, "duplicate key");
      RETURN_IF_ERROR(visit(entry.second, child, depth + 1));
    }
    return Status::Ok();
  }

  // Paths are built from the document's keys: shorten one that a huge key made long.
  static Status refuse(const std::string& path, const std::string& why) {
    const std::string where = path.empty()        ? "manifest"
                              : path.size() > 200 ? path.substr(0, 200) + "..."
                                                  : path;
    return InvalidArgument(where + ": " + why);
  }

  const ManifestLimits& limits_;
  size_t nodes_ = 0;
  size_t bytes_ = 0;
};

}  // namespace

Status check_document(const YAML::Node& root, const ManifestLimits& limits) {
  return Walk(limits).visit(root, "", 0);
}

}  // namespace cadre::spec
