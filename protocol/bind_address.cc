#include "protocol/bind_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

namespace cadre::protocol {
namespace {

bool is_loopback_name(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

}  // namespace

Result<std::string> bind_address_for(const std::string& host) {
  if (host.empty() || host == "*" || host == "0.0.0.0") return std::string("*");
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    return Unavailable("cannot resolve this replica's own address '" + host + "'");
  }
  const in_addr address = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
  ::freeaddrinfo(res);
  if ((ntohl(address.s_addr) >> 24) == 127 && !is_loopback_name(host)) return std::string("*");
  char text[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &address, text, sizeof text);
  return std::string(text);
}

}  // namespace cadre::protocol
