// CURVE key pairs: generation, files, and socket set-up for both ends.
//
// Files: NAME.key holds "public = <z85>\nsecret = <z85>\n" (mode 0600);
// NAME.pub holds the public key alone, or "public = <z85>\nnode = <name>\n" for an
// agent key bound to one node name. The coordinator's allowlists are folders of
// .pub files, one folder per role (see coordinator/zap_handler.h).
#pragma once

#include <string>

#include <zmq.hpp>

#include "protocol/status.h"

namespace cadre::protocol {

struct KeyPair {
  std::string public_key;  // 40 Z85 characters
  std::string secret_key;  // 40 Z85 characters
};

bool is_z85_key(const std::string& key);
Result<KeyPair> generate_keypair();
// A key pair derived from a secret: its secret key is SHA-256(purpose, NUL, seed)
// (any 32 bytes are a Curve25519 secret). Whoever knows the seed can derive it, so
// the seed must be as secret as the key. Notebooks' launcher derives the same pair
// from their job token (actors/notebook_state_machine.cc).
Result<KeyPair> derive_keypair(const std::string& purpose, const std::string& seed);
// Writes PREFIX.key (0600) and PREFIX.pub, creating parent folders. A non-empty
// `node` binds the key to that node name (written to both files).
Status write_keypair(const std::string& prefix, const KeyPair& pair, const std::string& node = "");
Result<KeyPair> read_keypair(const std::string& key_file);
// Reads a .pub file (or the public half of a .key file).
Result<std::string> read_public_key(const std::string& file);

// An allowlist entry: the key, and the node name it is bound to ("" if none).
struct AuthorizedKey {
  std::string public_key;
  std::string node;  // "node = gpu-1": an agent key bound to one node name
  std::string ns;    // "namespace = team-a": a client key scoped to one namespace
};
Result<AuthorizedKey> read_authorized_key(const std::string& file);

// Server side: this socket authenticates peers through ZAP in `domain`.
Status make_curve_server(zmq::socket_t& socket, const KeyPair& server, const std::string& domain);
// Client side: this socket proves `client` and expects `server_public_key`.
Status make_curve_client(zmq::socket_t& socket, const KeyPair& client,
                         const std::string& server_public_key);

}  // namespace cadre::protocol
