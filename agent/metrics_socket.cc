#include "agent/metrics_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace cadre::agent {

Result<std::string> prepare_push_socket_dir(const std::string& work_dir) {
  // Socket names are "<counter>.sock", at most 20 digits.
  constexpr size_t kLongestName = 1 + 20 + 5;
  std::string dir = work_dir + "/push";
  if (dir.size() + kLongestName < sizeof(sockaddr_un{}.sun_path)) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return FailedPrecondition("cannot create " + dir + ": " + ec.message());
  } else {
    std::string pattern = "/tmp/cadre-push-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      return FailedPrecondition(std::string("mkdtemp(/tmp/cadre-push-XXXXXX): ") +
                                std::strerror(errno));
    }
    dir = pattern;
  }
  if (::chmod(dir.c_str(), 0711) != 0) {
    return FailedPrecondition("chmod(" + dir + "): " + std::strerror(errno));
  }
  return dir;
}

Result<std::unique_ptr<MetricsSocket>> MetricsSocket::Create(
    const std::string& path, std::optional<std::pair<uid_t, gid_t>> owner,
    MetricLineParser parser) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgument("metrics socket path " + path + " is longer than " +
                           std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable(std::string("socket(AF_UNIX): ") + std::strerror(errno));
  auto fail = [&](const char* call) {
    const std::string why = std::string(call) + "(" + path + "): " + std::strerror(errno);
    ::close(fd);
    ::unlink(path.c_str());
    return Unavailable(why);
  };
  ::unlink(path.c_str());  // left by an earlier instance's folder
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) return fail("bind");
  if (::chmod(path.c_str(), 0600) != 0) return fail("chmod");
  if (owner && ::lchown(path.c_str(), owner->first, owner->second) != 0) return fail("lchown");
  return std::unique_ptr<MetricsSocket>(new MetricsSocket(fd, path, std::move(parser)));
}

MetricsSocket::~MetricsSocket() {
  ::close(fd_);
  ::unlink(path_.c_str());
}

std::vector<protocol::MetricSample> MetricsSocket::poll(int64_t now_ms) {
  std::vector<protocol::MetricSample> samples;
  std::string buffer(kMaxPushDatagramBytes, '\0');
  for (int i = 0; i < kMaxPushDatagramsPerPoll; ++i) {
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;                                      // EAGAIN: nothing more waiting
    if (static_cast<size_t>(n) > buffer.size()) continue;  // truncated: dropped whole
    std::string_view data(buffer.data(), static_cast<size_t>(n));
    while (!data.empty()) {
      const size_t newline = data.find('\n');
      auto more = parser_.parse(data.substr(0, newline), now_ms);
      samples.insert(samples.end(), more.begin(), more.end());
      if (newline == std::string_view::npos) break;
      data.remove_prefix(newline + 1);
    }
  }
  return samples;
}

}  // namespace cadre::agent
