#include "protocol/peer_auth.h"

#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <zmq.h>

namespace cadre::protocol {
namespace {

using Clock = std::chrono::steady_clock;

void ensure_sodium() {
  // Thread-safe and idempotent; fails only without an entropy source.
  if (sodium_init() < 0) std::abort();
}

std::string random_bytes(size_t n) {
  ensure_sodium();
  std::string bytes(n, '\0');
  randombytes_buf(bytes.data(), n);
  return bytes;
}

std::string proof_message(const std::string& label, char side, const std::string& nonce_c,
                          const std::string& nonce_s) {
  return "cadre-peer-auth/1|" + label + "|" + side + "|" + nonce_c + nonce_s;
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(left.count(), 1 << 30)));
}

Status wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready > 0) return Status::Ok();
    if (ready == 0) return DeadlineExceeded("peer authentication timed out");
    if (errno != EINTR) return Unavailable(std::string("poll: ") + std::strerror(errno));
  }
}

Status write_exact(int fd, const std::string& bytes, Clock::time_point deadline) {
  size_t done = 0;
  while (done < bytes.size()) {
    RETURN_IF_ERROR(wait_for(fd, POLLOUT, deadline));
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return Unavailable(std::string("send: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<std::string> read_exact(int fd, size_t size, Clock::time_point deadline) {
  std::string bytes(size, '\0');
  size_t done = 0;
  while (done < size) {
    RETURN_IF_ERROR(wait_for(fd, POLLIN, deadline));
    const ssize_t n = ::recv(fd, bytes.data() + done, size - done, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n == 0) return Unavailable("the peer closed the connection during authentication");
    if (n < 0) return Unavailable(std::string("recv: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return bytes;
}

}  // namespace

Result<JobCredentials> JobCredentials::FromToken(const std::string& token) {
  if (token.size() < 16) {
    return InvalidArgument("CADRE_JOB_TOKEN: must be at least 16 characters (got " +
                           std::to_string(token.size()) + ")");
  }
  ensure_sodium();
  std::string key(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(key.data()),
                     reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return JobCredentials(std::move(key));
}

std::string JobCredentials::mac(std::string_view message) const {
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256(reinterpret_cast<unsigned char*>(out.data()),
                         reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                         reinterpret_cast<const unsigned char*>(key_.data()));
  return out;
}

bool JobCredentials::verify(std::string_view message, std::string_view mac) const {
  if (mac.size() != crypto_auth_hmacsha256_BYTES) return false;
  return crypto_auth_hmacsha256_verify(reinterpret_cast<const unsigned char*>(mac.data()),
                                       reinterpret_cast<const unsigned char*>(message.data()),
                                       message.size(),
                                       reinterpret_cast<const unsigned char*>(key_.data())) == 0;
}

KeyPair JobCredentials::curve_keys(const std::string& role) const {
  // Curve25519 accepts any 32 bytes as a secret key (it is clamped when used).
  const std::string secret = mac("cadre-curve-key/1|" + role);
  unsigned char pub[crypto_scalarmult_BYTES];
  crypto_scalarmult_base(pub, reinterpret_cast<const unsigned char*>(secret.data()));
  char secret_z85[41], public_z85[41];
  zmq_z85_encode(secret_z85, reinterpret_cast<const uint8_t*>(secret.data()), 32);
  zmq_z85_encode(public_z85, pub, 32);
  return KeyPair{public_z85, secret_z85};
}

std::string new_job_token() {
  const std::string bytes = random_bytes(32);
  static const char* hex = "0123456789abcdef";
  std::string text;
  for (unsigned char c : bytes) {
    text += hex[c >> 4];
    text += hex[c & 15];
  }
  return text;
}

ServerHandshake::ServerHandshake(const JobCredentials& credentials, std::string label)
    : credentials_(&credentials), label_(std::move(label)) {}

size_t ServerHandshake::wanted() const {
  switch (state_) {
    case State::kAwaitNonce:
      return kAuthNonceBytes - buffer_.size();
    case State::kAwaitProof:
      return kAuthMacBytes - buffer_.size();
    default:
      return 0;
  }
}

std::string ServerHandshake::consume(std::string_view bytes) {
  buffer_.append(bytes.substr(0, wanted()));
  if (wanted() != 0) return "";
  if (state_ == State::kAwaitNonce) {
    nonce_c_ = std::move(buffer_);
    buffer_.clear();
    nonce_s_ = random_bytes(kAuthNonceBytes);
    state_ = State::kAwaitProof;
    return nonce_s_ + credentials_->mac(proof_message(label_, 'S', nonce_c_, nonce_s_));
  }
  if (state_ == State::kAwaitProof) {
    const bool ok = credentials_->verify(proof_message(label_, 'C', nonce_c_, nonce_s_), buffer_);
    state_ = ok ? State::kAuthenticated : State::kFailed;
  }
  return "";
}

Status authenticate_to_server(int fd, const JobCredentials& credentials, const std::string& label,
                              Clock::time_point deadline) {
  const std::string nonce_c = random_bytes(kAuthNonceBytes);
  RETURN_IF_ERROR(write_exact(fd, nonce_c, deadline));
  ASSIGN_OR_RETURN(std::string answer, read_exact(fd, kAuthNonceBytes + kAuthMacBytes, deadline));
  const std::string nonce_s = answer.substr(0, kAuthNonceBytes);
  if (!credentials.verify(proof_message(label, 'S', nonce_c, nonce_s),
                          std::string_view(answer).substr(kAuthNonceBytes))) {
    return PermissionDenied("the peer could not prove this job's token (CADRE_JOB_TOKEN)");
  }
  return write_exact(fd, credentials.mac(proof_message(label, 'C', nonce_c, nonce_s)), deadline);
}

AuthenticatedAcceptor::AuthenticatedAcceptor(int listen_fd, const JobCredentials& credentials,
                                             AcceptorOptions options)
    : listen_fd_(listen_fd), credentials_(&credentials), options_(std::move(options)) {
  options_.max_pending = std::max<size_t>(1, options_.max_pending);
  // accept() drains the backlog until EAGAIN.
  const int flags = ::fcntl(listen_fd_, F_GETFL);
  if (flags >= 0) ::fcntl(listen_fd_, F_SETFL, flags | O_NONBLOCK);
}

AuthenticatedAcceptor::~AuthenticatedAcceptor() {
  for (const Pending& p : pending_) ::close(p.fd);
}

void AuthenticatedAcceptor::drop(size_t index) {
  ::close(pending_[index].fd);
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(index));
  ++refused_;
}

bool AuthenticatedAcceptor::advance(size_t index) {
  Pending& p = pending_[index];
  char buffer[kAuthNonceBytes];
  const size_t want = p.handshake.wanted();
  const ssize_t n = ::recv(p.fd, buffer, std::min(want, sizeof buffer), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
  if (n <= 0) {
    drop(index);
    return false;
  }
  const std::string reply = p.handshake.consume(std::string_view(buffer, static_cast<size_t>(n)));
  // The answer is 64 bytes into an empty socket buffer: it cannot block for long.
  if (!reply.empty() && !write_exact(p.fd, reply, p.deadline).ok()) {
    drop(index);
    return false;
  }
  if (p.handshake.state() == ServerHandshake::State::kFailed) {
    drop(index);
    return false;
  }
  return p.handshake.state() == ServerHandshake::State::kAuthenticated;
}

Result<int> AuthenticatedAcceptor::accept(Clock::time_point deadline) {
  while (true) {
    const auto now = Clock::now();
    for (size_t i = pending_.size(); i-- > 0;) {
      if (now >= pending_[i].deadline) drop(i);
    }
    if (now >= deadline) {
      return DeadlineExceeded("no peer authenticated before the timeout (" +
                              std::to_string(refused_) + " connection(s) refused)");
    }
    std::vector<pollfd> fds;
    fds.push_back({listen_fd_, POLLIN, 0});
    auto wake = deadline;
    for (const Pending& p : pending_) {
      fds.push_back({p.fd, POLLIN, 0});
      wake = std::min(wake, p.deadline);
    }
    const int ready = ::poll(fds.data(), fds.size(), std::max(1, remaining_ms(wake)));
    if (ready < 0 && errno != EINTR)
      return Unavailable(std::string("poll: ") + std::strerror(errno));
    if (ready <= 0) continue;
    // Pending connections first (fds[1..] match pending_ as polled), from the back
    // so that dropping one does not shift those still to visit.
    for (size_t i = fds.size() - 1; i >= 1; --i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const size_t index = i - 1;
      if (advance(index)) {
        const int fd = pending_[index].fd;
        pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(index));
        const int flags = ::fcntl(fd, F_GETFL);
        if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        return fd;
      }
    }
    if (fds[0].revents & POLLIN) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        if (pending_.size() >= options_.max_pending) drop(0);  // the oldest goes
        pending_.push_back({fd, Clock::now() + options_.handshake_timeout,
                            ServerHandshake(*credentials_, options_.label)});
      }
    }
  }
}

}  // namespace cadre::protocol
