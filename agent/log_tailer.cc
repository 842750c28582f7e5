#include "agent/log_tailer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace cadre::agent {
namespace {

// A line longer than this is not a metric line; holding it whole would let one
// replica's newline-free output grow the agent's memory without bound.
constexpr size_t kMaxLineBytes = 64 << 10;
// Bytes read per poll, so one chatty replica cannot stall the agent's loop.
constexpr int64_t kMaxReadPerPoll = 4 << 20;

// Owns one file descriptor for the duration of a read.
class FileReader {
 public:
  // O_NOFOLLOW: a replica can write its own folder, where its log lives; a symlink
  // it puts in place of the log must not make the agent read (and relay) another file.
  // O_NONBLOCK and the regular-file check: a FIFO in its place must not block the agent.
  explicit FileReader(const std::string& path, std::optional<uid_t> owner = std::nullopt)
      : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) {
    struct stat st {};
    if (fd_ < 0) return;
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode) || (owner && st.st_uid != *owner)) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FileReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  bool ok() const { return fd_ >= 0; }
  int64_t size() const {
    struct stat st {};
    return ::fstat(fd_, &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
  }
  std::string read_at(int64_t offset, int64_t length) const {
    std::string data(static_cast<size_t>(length), '\0');
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n =
          ::pread(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    data.resize(done);
    return data;
  }

 private:
  int fd_;
};

}  // namespace

LogTailer::LogTailer(std::string path, int64_t start_offset, MetricLineParser parser,
                     TailOptions options)
    : path_(std::move(path)),
      offset_(start_offset),
      options_(options),
      parser_(std::move(parser)) {}

std::vector<protocol::MetricSample> LogTailer::poll(int64_t now_ms) {
  std::vector<protocol::MetricSample> samples;
  if (!options_.metrics) return samples;
  FileReader file(path_, options_.owner);
  if (!file.ok()) return samples;
  const int64_t size = file.size();
  if (size < offset_) offset_ = size;  // truncated by someone: follow from its new end
  if (size == offset_) return samples;
  const std::string bytes = file.read_at(offset_, std::min(size - offset_, kMaxReadPerPoll));
  offset_ += static_cast<int64_t>(bytes.size());
  consume(bytes, now_ms, &samples);
  return samples;
}

std::vector<protocol::MetricSample> LogTailer::finish(int64_t now_ms) {
  std::vector<protocol::MetricSample> samples;
  // Drain everything the process wrote, not just one poll's worth.
  while (true) {
    const int64_t before = offset_;
    auto more = poll(now_ms);
    samples.insert(samples.end(), more.begin(), more.end());
    if (offset_ == before) break;
  }
  if (options_.metrics && !discarding_ && !partial_.empty()) {
    auto last = parser_.parse(partial_, now_ms);
    samples.insert(samples.end(), last.begin(), last.end());
  }
  partial_.clear();
  discarding_ = false;
  return samples;
}

void LogTailer::consume(const std::string& bytes, int64_t now_ms,
                        std::vector<protocol::MetricSample>* out) {
  size_t start = 0;
  while (start < bytes.size()) {
    const size_t newline = bytes.find('\n', start);
    const size_t end = newline == std::string::npos ? bytes.size() : newline;
    if (!discarding_) partial_.append(bytes, start, end - start);
    if (partial_.size() > kMaxLineBytes) {
      partial_.clear();
      discarding_ = true;
    }
    if (newline == std::string::npos) break;
    if (!discarding_) {
      auto samples = parser_.parse(partial_, now_ms);
      out->insert(out->end(), samples.begin(), samples.end());
    }
    partial_.clear();
    discarding_ = false;
    start = newline + 1;
  }
}

Result<LogRange> read_log_range(const std::string& path, int64_t offset, int64_t max_bytes) {
  FileReader file(path);
  if (!file.ok()) return NotFound("cannot open log " + path + ": " + std::strerror(errno));
  LogRange range;
  range.size = file.size();
  const int64_t start =
      offset < 0 ? std::max<int64_t>(0, range.size + offset) : std::min(offset, range.size);
  const int64_t length =
      std::min(std::clamp<int64_t>(max_bytes, 0, kMaxLogChunkBytes), range.size - start);
  range.offset = start;
  range.data = file.read_at(start, length);
  return range;
}

}  // namespace cadre::agent
