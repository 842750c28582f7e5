// CADRE_METRICS_ADDR: where a replica pushes metric lines instead of (or besides)
// printing them. A Unix datagram socket per replica, owned by the user the replica
// runs as and closed to everyone else (mode 0600), so only the replica (and root)
// can send to it: the file permissions are its authentication, and there is no
// network listener. Each datagram holds one or more lines, parsed as the
// replica's other metric lines are:
//
//   python3 -c 'import os, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM);
//               s.sendto(b"epoch=1 loss=0.3", os.environ["CADRE_METRICS_ADDR"][7:])'
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/metric_line_parser.h"
#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::agent {

// Larger datagrams are dropped whole; at most this many are read per poll, so a
// replica that floods its socket cannot stall the agent's loop (the kernel drops
// what does not fit its queue).
inline constexpr size_t kMaxPushDatagramBytes = 64 << 10;
inline constexpr int kMaxPushDatagramsPerPoll = 256;

// The folder for the agent's push sockets: <work-dir>/push, or — since a Unix
// socket's path is limited to 107 bytes — a fresh private folder under /tmp when
// the work dir's path is too long for it. Mode 0711: replicas reach their socket
// by its name but cannot list the others.
Result<std::string> prepare_push_socket_dir(const std::string& work_dir);

class MetricsSocket {
 public:
  // Binds `path` (its folder must exist), owned by `owner` when given.
  static Result<std::unique_ptr<MetricsSocket>> Create(const std::string& path,
                                                       std::optional<std::pair<uid_t, gid_t>> owner,
                                                       MetricLineParser parser);
  ~MetricsSocket();
  MetricsSocket(const MetricsSocket&) = delete;
  MetricsSocket& operator=(const MetricsSocket&) = delete;

  // The samples of the datagrams waiting now (never blocks).
  std::vector<protocol::MetricSample> poll(int64_t now_ms);

  int fd() const { return fd_; }  // readable when a datagram waits

  // "unix://<path>", the value of CADRE_METRICS_ADDR.
  static std::string address(const std::string& path) { return "unix://" + path; }

 private:
  MetricsSocket(int fd, std::string path, MetricLineParser parser)
      : fd_(fd), path_(std::move(path)), parser_(std::move(parser)) {}
  int fd_;
  std::string path_;
  MetricLineParser parser_;
};

}  // namespace cadre::agent
