#include "protocol/curve_keys.h"

#include <sodium.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "protocol/framing.h"

namespace cadre::protocol {
namespace {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read key file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Finds "field = value" in a key file.
std::string field(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    if (trim(line.substr(0, eq)) == name) return trim(line.substr(eq + 1));
  }
  return "";
}

}  // namespace

bool is_z85_key(const std::string& key) {
  if (key.size() != 40) return false;
  uint8_t decoded[32];
  return zmq_z85_decode(decoded, key.c_str()) != nullptr;
}

Result<KeyPair> generate_keypair() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Internal(std::string("zmq_curve_keypair failed: ") + zmq_strerror(zmq_errno()) +
                    " (libzmq built without CURVE?)");
  }
  return KeyPair{pub, sec};
}

Status write_keypair(const std::string& prefix, const KeyPair& pair, const std::string& node) {
  const std::string binding = node.empty() ? "" : "node = " + node + "\n";
  std::error_code ec;
  const auto parent = std::filesystem::path(prefix).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Internal("cannot create " + parent.string() + ": " + ec.message());
  const std::string key_file = prefix + ".key";
  {
    // Create with 0600 before any secret is written.
    std::ofstream(key_file, std::ios::trunc).close();
    ::chmod(key_file.c_str(), 0600);
    std::ofstream out(key_file, std::ios::trunc);
    out << "# Cadre CURVE key pair; keep secret\npublic = " << pair.public_key
        << "\nsecret = " << pair.secret_key << "\n"
        << binding;
    if (!out) return Internal("cannot write " + key_file);
  }
  std::ofstream pub(prefix + ".pub", std::ios::trunc);
  if (node.empty()) {
    pub << pair.public_key << "\n";
  } else {
    pub << "public = " << pair.public_key << "\n" << binding;
  }
  if (!pub) return Internal("cannot write " + prefix + ".pub");
  return Status::Ok();
}

Result<KeyPair> read_keypair(const std::string& key_file) {
  ASSIGN_OR_RETURN(std::string text, read_file(key_file));
  KeyPair pair{field(text, "public"), field(text, "secret")};
  if (!is_z85_key(pair.public_key) || !is_z85_key(pair.secret_key)) {
    return InvalidArgument("key file " + key_file +
                           " must hold 'public = <40 Z85 chars>' and 'secret = <40 Z85 chars>'");
  }
  return pair;
}

Result<std::string> read_public_key(const std::string& file) {
  ASSIGN_OR_RETURN(std::string text, read_file(file));
  std::string key = field(text, "public");
  if (key.empty()) key = trim(text);
  if (!is_z85_key(key)) {
    return InvalidArgument("public key file " + file + " does not hold a 40-character Z85 key");
  }
  return key;
}

Result<AuthorizedKey> read_authorized_key(const std::string& file) {
  ASSIGN_OR_RETURN(std::string key, read_public_key(file));
  ASSIGN_OR_RETURN(std::string text, read_file(file));
  return AuthorizedKey{key, field(text, "node"), field(text, "namespace")};
}

Result<KeyPair> derive_keypair(const std::string& purpose, const std::string& seed) {
  std::string input = purpose;
  input.push_back('\0');
  input += seed;
  unsigned char secret[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(secret, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  char secret_z85[41];
  char public_z85[41];
  if (zmq_z85_encode(secret_z85, secret, sizeof secret) == nullptr ||
      zmq_curve_public(public_z85, secret_z85) != 0) {
    return Internal(std::string("deriving a CURVE key pair failed: ") + zmq_strerror(zmq_errno()));
  }
  sodium_memzero(secret, sizeof secret);
  return KeyPair{public_z85, secret_z85};
}

Status make_curve_server(zmq::socket_t& socket, const KeyPair& server, const std::string& domain) {
  return ZMQ_STATUS({
    socket.set(zmq::sockopt::curve_server, 1);
    socket.set(zmq::sockopt::curve_secretkey, server.secret_key);
    socket.set(zmq::sockopt::zap_domain, domain);
  });
}

Status make_curve_client(zmq::socket_t& socket, const KeyPair& client,
                         const std::string& server_public_key) {
  return ZMQ_STATUS({
    socket.set(zmq::sockopt::curve_serverkey, server_public_key);
    socket.set(zmq::sockopt::curve_publickey, client.public_key);
    socket.set(zmq::sockopt::curve_secretkey, client.secret_key);
  });
}

}  // namespace cadre::protocol
