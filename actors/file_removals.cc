#include "actors/file_removals.h"

namespace cadre::actors {

FileRemovalRecord FileRemovals::record_of(const Pending& pending) {
  return FileRemovalRecord{pending.files, {pending.unsure.begin(), pending.unsure.end()}};
}

void FileRemovals::restore(std::vector<FileRemovalRecord> stored) {
  pending_.clear();
  for (auto& record : stored) {
    if (record.unsure.empty()) continue;
    pending_.push_back(
        Pending{std::move(record.files), {record.unsure.begin(), record.unsure.end()}});
  }
  while (pending_.size() > capacity_) pending_.pop_front();
}

FileRemovals::Writes FileRemovals::add(const protocol::RemoveReplicaFiles& files,
                                       const std::vector<std::string>& nodes) {
  Writes writes;
  if (nodes.empty() || capacity_ == 0) return writes;
  // One entry per uid prefix: a removal for a prefix already pending replaces it.
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->files.uid_prefix == files.uid_prefix) {
      pending_.erase(it);
      break;
    }
  }
  if (pending_.size() >= capacity_) {
    writes.erase.push_back(pending_.front().files.uid_prefix);
    writes.forgot_oldest = true;
    pending_.pop_front();
  }
  pending_.push_back(Pending{files, {nodes.begin(), nodes.end()}});
  writes.put.push_back(record_of(pending_.back()));
  return writes;
}

FileRemovals::Writes FileRemovals::settle(const std::string& node, const std::string* only_prefix) {
  Writes writes;
  for (auto it = pending_.begin(); it != pending_.end();) {
    const bool concerned = only_prefix == nullptr || it->files.uid_prefix == *only_prefix;
    if (!concerned || it->unsure.erase(node) == 0) {
      ++it;
      continue;
    }
    if (it->unsure.empty()) {
      writes.erase.push_back(it->files.uid_prefix);
      it = pending_.erase(it);
    } else {
      writes.put.push_back(record_of(*it));
      ++it;
    }
  }
  return writes;
}

FileRemovals::Writes FileRemovals::answered(const std::string& node,
                                            const std::string& uid_prefix) {
  return settle(node, &uid_prefix);
}

FileRemovals::Writes FileRemovals::node_deleted(const std::string& node) {
  return settle(node, nullptr);
}

std::vector<protocol::RemoveReplicaFiles> FileRemovals::owed_to(const std::string& node) const {
  std::vector<protocol::RemoveReplicaFiles> out;
  for (const auto& pending : pending_) {
    if (pending.unsure.count(node) > 0) out.push_back(pending.files);
  }
  return out;
}

}  // namespace cadre::actors
