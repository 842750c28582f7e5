#include "agent/port_check.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace cadre::agent {

Status check_port_free(int32_t port) {
  const std::string what = "port " + std::to_string(port);
  if (port < 1 || port > 65535) return InvalidArgument(what + " is not a TCP port");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Internal(what + ": socket: " + std::strerror(errno));
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const int error = errno;
  ::close(fd);
  if (rc == 0) return Status::Ok();
  if (error == EADDRINUSE) return AlreadyExists(what + " is in use: " + std::strerror(error));
  return Internal(what + ": bind: " + std::strerror(error));
}

}  // namespace cadre::agent
