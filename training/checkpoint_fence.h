// Storage-level fencing of a checkpoint folder: however a node's fencing failed (a
// frozen agent and lease watchdog, a partition), two incarnations of one rank
// must not both write its checkpoints. Every replica instance Cadre launches has
// a generation (CADRE_GENERATION, strictly increasing within a job), and
//
//   - a writer claims the folder at start: <dir>/FENCE holds the highest generation
//     that has claimed it, and a claim by an older generation is refused;
//   - every checkpoint write happens under the folder's lock and only while FENCE
//     still names no newer generation, so a zombie's write after its successor's
//     claim is refused (FailedPrecondition) and cadre-train exits instead of training on.
//
// A zombie can waste CPU but cannot corrupt the state its successor resumes from.
// The lock is flock(2) on <dir>/.fence.lock, which NFSv4 also honours.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "protocol/status.h"

namespace cadre::training {

class CheckpointFence {
 public:
  // Generation 0: no fencing (a program started by hand, outside Cadre).
  static Result<CheckpointFence> Claim(const std::string& dir, int64_t generation);

  // Runs `write` holding the folder's lock if no newer generation has claimed it;
  // FailedPrecondition naming both generations otherwise.
  Status guarded(const std::function<Status()>& write) const;
  int64_t generation() const { return generation_; }

 private:
  CheckpointFence(std::string dir, int64_t generation)
      : dir_(std::move(dir)), generation_(generation) {}
  std::string dir_;
  int64_t generation_ = 0;
};

}  // namespace cadre::training
