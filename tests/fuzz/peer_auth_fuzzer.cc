// libFuzzer target for the replica-to-replica handshake (protocol/peer_auth.h): any
// bytes, in any chunking, fed to the server side must never authenticate, never
// take more than the state wants, and never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/peer_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto credentials =
      *cadre::protocol::JobCredentials::FromToken("fuzz-job-token-0123456789abcdef");
  using cadre::protocol::ServerHandshake;
  ServerHandshake server(credentials, "ring");
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The first byte picks the chunk size, as a network would split the stream.
  const size_t chunk = size == 0 ? 1 : 1 + data[0] % 48;
  while (!bytes.empty() && server.wanted() > 0) {
    const size_t wanted = server.wanted();
    const size_t take = std::min({chunk, wanted, bytes.size()});
    (void)server.consume(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (server.wanted() > wanted && server.state() == ServerHandshake::State::kAwaitNonce) {
      __builtin_trap();  // the nonce state never wants more after consuming
    }
  }
  if (server.state() == ServerHandshake::State::kAuthenticated) __builtin_trap();
  return 0;
}
