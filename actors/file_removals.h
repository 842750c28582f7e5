// The registry's record of deleted jobs' replica-file removals that nodes have not
// answered yet (no CAF): a node that was down, or whose agent died as one was
// sent, is owed it when it registers, after a coordinator restart too, since each
// change comes out as a write for the store.
#pragma once

#include <cstddef>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "actors/state_store.h"
#include "protocol/messages.h"

namespace cadre::actors {

class FileRemovals {
 public:
  // Removals awaiting answers. Past this the oldest is forgotten, and a node that
  // never answered keeps those files (a node gone for good holds them all until
  // `cadre delete node/NAME`; docs/agent.md says how to remove files by hand).
  static constexpr size_t kDefaultCapacity = 4096;

  // What the store must do so that a restart finds the same removals.
  struct Writes {
    std::vector<FileRemovalRecord> put;  // insert or replace, by uid prefix
    std::vector<std::string> erase;      // uid prefixes answered by every node, or forgotten
    bool forgot_oldest = false;          // the capacity was reached
  };

  explicit FileRemovals(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // What the store held before a restart, oldest first.
  void restore(std::vector<FileRemovalRecord> stored);

  // A job was deleted: every node in `nodes` (all the registry knows, reachable or
  // not) must answer. Nothing is kept when there is no node.
  Writes add(const protocol::RemoveReplicaFiles& files, const std::vector<std::string>& nodes);

  // `node` removed what the job with `uid_prefix` left there.
  Writes answered(const std::string& node, const std::string& uid_prefix);

  // `node` was deleted: it will never answer.
  Writes node_deleted(const std::string& node);

  // Every removal `node` has not answered, oldest first.
  std::vector<protocol::RemoveReplicaFiles> owed_to(const std::string& node) const;

  size_t size() const { return pending_.size(); }

 private:
  struct Pending {
    protocol::RemoveReplicaFiles files;
    std::set<std::string> unsure;
  };
  static FileRemovalRecord record_of(const Pending& pending);
  // After `node` answered or went away: a write for each removal it was in.
  Writes settle(const std::string& node, const std::string* only_prefix);

  size_t capacity_;
  std::deque<Pending> pending_;  // oldest first
};

}  // namespace cadre::actors
