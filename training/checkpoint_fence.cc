#include "training/checkpoint_fence.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace cadre::training {
namespace {

// Holds flock(LOCK_EX) on <dir>/.fence.lock for its lifetime.
class FolderLock {
 public:
  static Result<FolderLock> Take(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Unavailable("checkpoint folder " + dir + ": " + ec.message());
    const std::string path = dir + "/.fence.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return Unavailable("open(" + path + "): " + std::strerror(errno));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int error = errno;
        ::close(fd);
        return Unavailable("flock(" + path + "): " + std::strerror(error));
      }
    }
    return FolderLock(fd);
  }
  FolderLock(FolderLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ~FolderLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  int fd_;
};

int64_t claimed(const std::string& dir) {
  std::ifstream in(dir + "/FENCE");
  int64_t generation = 0;
  in >> generation;
  return in ? generation : 0;
}

Status newer_claim(const std::string& dir, int64_t mine, int64_t theirs) {
  return FailedPrecondition("checkpoint folder " + dir + " belongs to generation " +
                            std::to_string(theirs) + "; this replica is generation " +
                            std::to_string(mine) +
                            ", an older incarnation that was replaced (CADRE_GENERATION)");
}

}  // namespace

Result<CheckpointFence> CheckpointFence::Claim(const std::string& dir, int64_t generation) {
  if (generation <= 0 || dir.empty()) return CheckpointFence(dir, 0);
  ASSIGN_OR_RETURN(FolderLock lock, FolderLock::Take(dir));
  const int64_t current = claimed(dir);
  if (current > generation) return newer_claim(dir, generation, current);
  if (current < generation) {
    const std::string tmp = dir + "/FENCE.tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << generation << "\n";
      if (!out) return Unavailable("cannot write " + tmp);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, dir + "/FENCE", ec);
    if (ec) return Unavailable("cannot write " + dir + "/FENCE: " + ec.message());
  }
  return CheckpointFence(dir, generation);
}

Status CheckpointFence::guarded(const std::function<Status()>& write) const {
  if (generation_ <= 0) return write();
  ASSIGN_OR_RETURN(FolderLock lock, FolderLock::Take(dir_));
  const int64_t current = claimed(dir_);
  if (current > generation_) return newer_claim(dir_, generation_, current);
  return write();
}

}  // namespace cadre::training
