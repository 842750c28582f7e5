// Follows one replica's output.log and turns the metric lines printed into it
// into samples; and reads byte ranges of a log for ReadLogs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/metric_line_parser.h"
#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::agent {

// Largest byte range one ReadLogs answer carries, whatever the request asks.
inline constexpr int64_t kMaxLogChunkBytes = 4ll << 20;

struct TailOptions {
  bool metrics = true;  // false: the file is not a metrics source; poll reads nothing
  // Read the file only while it is a regular file owned by this user: a replica's
  // own metrics file, never what a symlink or hard link it planted points at.
  std::optional<uid_t> owner;
};

class LogTailer {
 public:
  // Tails `path` from `start_offset` (the file's size at launch, so text left by
  // an earlier process under the same folder is not parsed again).
  LogTailer(std::string path, int64_t start_offset, MetricLineParser parser = {},
            TailOptions options = {});

  // Reads the bytes appended since the last call and returns the samples of every
  // complete line among them. A partial last line waits for its newline.
  std::vector<protocol::MetricSample> poll(int64_t now_ms);

  // Like poll, then also parses the partial last line: the process has exited,
  // so no newline will come.
  std::vector<protocol::MetricSample> finish(int64_t now_ms);

  int64_t offset() const { return offset_; }

 private:
  void consume(const std::string& bytes, int64_t now_ms, std::vector<protocol::MetricSample>* out);

  std::string path_;
  int64_t offset_;
  TailOptions options_;
  std::string partial_;      // bytes after the last newline seen
  bool discarding_ = false;  // inside an overlong line, skipping to its newline
  MetricLineParser parser_;
};

struct LogRange {
  int64_t offset = 0;  // offset of data[0]
  std::string data;
  int64_t size = 0;  // file size when read
};

// Reads up to `max_bytes` (clamped to [0, kMaxLogChunkBytes]) from `offset`; a
// negative offset counts back from the end. An offset past the end gives no data.
// NotFound when the file does not exist.
Result<LogRange> read_log_range(const std::string& path, int64_t offset, int64_t max_bytes);

}  // namespace cadre::agent
