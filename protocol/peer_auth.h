// Replica-to-replica authentication: what a job's replicas prove to each other
// with CADRE_JOB_TOKEN, the per-job secret the coordinator issues in every
// replica's environment (and to nobody else).
//
// Streams (ring all-reduce, the master rendezvous, cadre-rsh) open with a mutual
// challenge before a byte of payload is read:
//
//   client -> server  nonce_c                         (32 random bytes)
//   server -> client  nonce_s, HMAC(k, label|S|nonce_c|nonce_s)
//   client -> server  HMAC(k, label|C|nonce_c|nonce_s)
//
// k = SHA-256(token). Each side checks the other's MAC in constant time. Both
// nonces are fresh, so a recorded exchange is useless later (replay-safe), and the
// label ("ring", "rsh", ...) keeps a proof for one channel from opening another.
// Every message has a fixed size: nothing is allocated from what a peer claims.
//
// ZeroMQ channels (the parameter servers) use CURVE with key pairs derived from the
// token per role ("ps-0", "worker-3"): each server allows exactly the job's
// worker keys (protocol/zap_allowlist.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/curve_keys.h"
#include "protocol/status.h"

namespace cadre::protocol {

inline constexpr size_t kAuthNonceBytes = 32;
inline constexpr size_t kAuthMacBytes = 32;

class JobCredentials {
 public:
  // InvalidArgument when the token is shorter than 16 characters.
  static Result<JobCredentials> FromToken(const std::string& token);

  // The CURVE key pair of `role` in this job; every replica derives the same one.
  KeyPair curve_keys(const std::string& role) const;
  std::string mac(std::string_view message) const;
  bool verify(std::string_view message, std::string_view mac) const;  // constant time

 private:
  explicit JobCredentials(std::string key) : key_(std::move(key)) {}
  std::string key_;  // SHA-256 of the token
};

// A fresh random token (256 bits, hex): the coordinator's CADRE_JOB_TOKEN.
std::string new_job_token();

// The server's side of one handshake as a pure state machine: feed it the bytes
// that arrived; it says what to send and whether the peer proved itself.
class ServerHandshake {
 public:
  enum class State { kAwaitNonce, kAwaitProof, kAuthenticated, kFailed };
  ServerHandshake(const JobCredentials& credentials, std::string label);

  // How many more bytes the current state wants (0 when finished).
  size_t wanted() const;
  // Consumes exactly `bytes` (at most wanted()). Returns what to send back, if anything.
  std::string consume(std::string_view bytes);
  State state() const { return state_; }

 private:
  const JobCredentials* credentials_;
  std::string label_;
  State state_ = State::kAwaitNonce;
  std::string buffer_;
  std::string nonce_c_, nonce_s_;
};

// Blocking client side over a connected stream socket: sends the nonce, checks the
// server's proof, sends its own. PermissionDenied when the server cannot prove the
// token; DeadlineExceeded / Unavailable on a silent or closed peer.
Status authenticate_to_server(int fd, const JobCredentials& credentials, const std::string& label,
                              std::chrono::steady_clock::time_point deadline);

// Accepts connections on a listening socket and returns only those that completed
// the handshake. Unauthenticated connections wait in a bounded set, each with its
// own handshake deadline, all served by one poll loop: an idle or slow connection
// costs one slot for at most `handshake_timeout`, never the legitimate peer's
// turn, and when the set is full the oldest is dropped.
struct AcceptorOptions {
  std::string label;                                  // the channel, e.g. "ring"
  std::chrono::milliseconds handshake_timeout{5000};  // per connection
  size_t max_pending = 256;                           // unauthenticated connections held
};

class AuthenticatedAcceptor {
 public:
  // Makes `listen_fd` non-blocking; neither it nor `credentials` is owned, and both
  // must outlive the acceptor.
  AuthenticatedAcceptor(int listen_fd, const JobCredentials& credentials, AcceptorOptions options);
  ~AuthenticatedAcceptor();
  AuthenticatedAcceptor(const AuthenticatedAcceptor&) = delete;
  AuthenticatedAcceptor& operator=(const AuthenticatedAcceptor&) = delete;

  // The next authenticated connection (a blocking fd the caller owns), or
  // DeadlineExceeded. Connections that fail are closed and counted.
  Result<int> accept(std::chrono::steady_clock::time_point deadline);
  uint64_t refused() const { return refused_; }

 private:
  struct Pending {
    int fd;
    std::chrono::steady_clock::time_point deadline;
    ServerHandshake handshake;
  };
  void drop(size_t index);
  // Reads what is there, answers, and returns true when index authenticated.
  bool advance(size_t index);

  int listen_fd_;
  const JobCredentials* credentials_;
  AcceptorOptions options_;
  std::vector<Pending> pending_;
  uint64_t refused_ = 0;
};

}  // namespace cadre::protocol
