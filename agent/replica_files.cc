#include "agent/replica_files.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "agent/launch_spec.h"

namespace cadre::agent {

namespace fs = std::filesystem;

namespace {

// More replica names than any job has (a spec's replicas are bounded far lower).
constexpr size_t kMaxReplicaNames = 65536;

constexpr std::string_view kLogSuffix = ".log";

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Adds the uids of the request's job among the entries of `dir`; `suffix` is what
// follows the uid in an entry's name.
void collect(const fs::path& dir, std::string_view suffix,
             const protocol::RemoveReplicaFiles& request, std::set<std::string>& uids) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    name.resize(name.size() - suffix.size());
    if (is_replica_of(name, request)) uids.insert(std::move(name));
  }
}

// The size of what `path` holds, its links not followed; 0 for what is gone.
uint64_t size_of(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::symlink_status(path, ec);
  if (ec || !fs::is_directory(status)) {
    const auto size = fs::is_regular_file(status) ? fs::file_size(path, ec) : 0;
    return ec ? 0 : size;
  }
  uint64_t total = 0;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace

Status check_remove_request(const protocol::RemoveReplicaFiles& request) {
  if (!is_safe_path_component(request.uid_prefix) || request.uid_prefix.back() != '-') {
    return InvalidArgument("uid prefix '" + request.uid_prefix.substr(0, 64) +
                           "' is not a folder name ending in '-'");
  }
  if (request.replicas.size() > kMaxReplicaNames) {
    return InvalidArgument(std::to_string(request.replicas.size()) +
                           " replica names, more than the limit of " +
                           std::to_string(kMaxReplicaNames));
  }
  for (const auto& name : request.replicas) {
    if (!is_safe_path_component(name)) {
      return InvalidArgument("replica name '" + name.substr(0, 64) + "' is not a folder name");
    }
  }
  return Status::Ok();
}

bool is_replica_of(const std::string& uid, const protocol::RemoveReplicaFiles& request) {
  const std::string& prefix = request.uid_prefix;
  if (prefix.empty() || uid.size() <= prefix.size() || uid.compare(0, prefix.size(), prefix) != 0)
    return false;
  const std::string_view rest = std::string_view(uid).substr(prefix.size());
  const size_t dash = rest.rfind('-');
  if (dash == std::string_view::npos || !all_digits(rest.substr(dash + 1))) return false;
  const std::string_view name = rest.substr(0, dash);
  return std::find(request.replicas.begin(), request.replicas.end(), name) !=
         request.replicas.end();
}

std::vector<std::string> replica_files_of(const std::string& work_dir,
                                          const protocol::RemoveReplicaFiles& request) {
  std::set<std::string> uids;
  collect(fs::path(work_dir) / "replicas", "", request, uids);
  collect(fs::path(work_dir) / "logs", kLogSuffix, request, uids);
  return {uids.begin(), uids.end()};
}

Result<uint64_t> remove_replica_files(const std::string& work_dir, const std::string& uid) {
  if (!is_safe_path_component(uid)) {
    return InvalidArgument("replica uid '" + uid + "' is not a safe folder name");
  }
  uint64_t freed = 0;
  for (const fs::path& path : {fs::path(work_dir) / "replicas" / uid,
                               fs::path(work_dir) / "logs" / (uid + std::string(kLogSuffix))}) {
    freed += size_of(path);
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) return Internal("removing " + path.string() + ": " + ec.message());
  }
  return freed;
}

}  // namespace cadre::agent
