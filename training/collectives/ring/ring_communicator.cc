#include "training/collectives/ring/ring_communicator.h"

#include <arpa/inet.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <future>
#include <random>
#include <thread>

#include "protocol/ps_messages.h"
#include "training/collectives/rendezvous.h"
#include "training/collectives/ring/shm_channel.h"
#include "training/collectives/ring/tcp_channel.h"

namespace cadre::training::ring {
namespace {

constexpr size_t kMaxHandshakeFrame = 4096;

// The address other hosts can reach us at, as seen on the route to host:port.
std::string routable_address(const std::string& host, int port) {
  net::Socket s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &to.sin_addr) == 1 &&
      ::connect(s.fd(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0) {
    sockaddr_in me{};
    socklen_t len = sizeof(me);
    char buf[INET_ADDRSTRLEN];
    if (::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&me), &len) == 0 &&
        ::inet_ntop(AF_INET, &me.sin_addr, buf, sizeof(buf)))
      return buf;
  }
  char name[256] = {0};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

std::string shm_name(int rank) {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  return "/cadre-ring-" + std::to_string(::getpid()) + "-" + std::to_string(rank) + "-" +
         std::to_string(counter++) + "-" + std::to_string(rd());
}

Status send_message(const net::Socket& s, const std::string& b, net::Clock::time_point d) {
  return net::write_frame(s, b, d);
}

template <typename T>
Result<T> read_message(const net::Socket& s, net::Clock::time_point d, const char* what) {
  ASSIGN_OR_RETURN(auto frame, net::read_frame(s, kMaxHandshakeFrame, d));
  return protocol::decode_training<T>(std::string_view(frame.data(), frame.size()), what);
}

// Balanced partition of count elements into n segments: the first count % n
// segments get one extra element.
size_t segment_begin(size_t count, int n, int i) {
  const size_t base = count / n, extra = count % n;
  return base * i + std::min<size_t>(i, extra);
}

}  // namespace

Result<std::unique_ptr<RingCommunicator>> RingCommunicator::Create(
    const CommunicatorOptions& options) {
  const auto& rv = options.rendezvous;
  if (options.ring_transport != "auto" && options.ring_transport != "tcp")
    return InvalidArgument("ring-transport: must be auto or tcp, got '" + options.ring_transport +
                           "'");
  auto comm = std::unique_ptr<RingCommunicator>(new RingCommunicator());
  comm->rank_ = rv.rank;
  comm->world_ = rv.world_size;
  comm->options_ = options;
  if (rv.world_size <= 1) return comm;
  if (!rv.token.empty()) {
    ASSIGN_OR_RETURN(auto credentials, protocol::JobCredentials::FromToken(rv.token));
    comm->credentials_.emplace(std::move(credentials));
  }
  const auto deadline = net::Clock::now() + rv.timeout;

  net::Socket listener;
  if (!rv.peers.empty()) {
    comm->peers_ = rv.peers;
    ASSIGN_OR_RETURN(auto me, net::parse_host_port(rv.peers[rv.rank]));
    ASSIGN_OR_RETURN(listener, net::listen_on(me.first, me.second));
  } else {
    ASSIGN_OR_RETURN(listener, net::listen_on(0));
    ASSIGN_OR_RETURN(int port, net::local_port(listener));
    const std::string me =
        routable_address(rv.master_addr, rv.master_port) + ":" + std::to_string(port);
    ASSIGN_OR_RETURN(comm->peers_, exchange_peers_via_master(rv, me));
  }
  ASSIGN_OR_RETURN(bool next_on_this_host, comm->connect(listener, deadline));
  RETURN_IF_ERROR(comm->open_channels(next_on_this_host, deadline));
  RETURN_IF_ERROR(comm->choose_wait_policy());
  return comm;
}

Status RingCommunicator::choose_wait_policy() {
  // Spinning on shared memory is the fastest wait while every rank has a core
  // of its own. Once ranks outnumber the cores they may run on, a spinning rank
  // burns the time slice that the rank it waits for needs (4 ranks on 2 cores:
  // 33 -> 9 us per 4 KiB all-reduce), so they yield at once instead; OpenMPI
  // decides its mpi_yield_when_idle the same way. Each rank contributes its
  // host (an FNV-1a hash of the host identity: equal in every build, unlike
  // std::hash) and its CPU affinity; the cores of a host are the union of its
  // ranks' masks (mpirun binds 2 ranks to one core each, which still means 2).
  struct HostCpus {
    uint64_t host = 1469598103934665603ull;
    cpu_set_t cpus;
  } mine;
  for (unsigned char c : net::host_identity()) mine.host = (mine.host ^ c) * 1099511628211ull;
  CPU_ZERO(&mine.cpus);
  if (::sched_getaffinity(0, sizeof(mine.cpus), &mine.cpus) != 0) {
    const unsigned n = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n && i < CPU_SETSIZE; ++i) CPU_SET(i, &mine.cpus);
  }
  std::vector<HostCpus> all(world_);
  RETURN_IF_ERROR(allgather(&mine, sizeof(mine), all.data()));
  int local_ranks = 0;
  cpu_set_t cores;
  CPU_ZERO(&cores);
  for (const HostCpus& r : all) {
    if (r.host != mine.host) continue;
    ++local_ranks;
    CPU_OR(&cores, &cores, &r.cpus);
  }
  spin_rounds_ = local_ranks > CPU_COUNT(&cores) ? 0 : kSpinRounds;
  return Status::Ok();
}

Status RingCommunicator::about_peer(const Status& s, int peer) const {
  return s.annotate("ring rank " + std::to_string(rank_) + ": peer rank " + std::to_string(peer) +
                    " at " + peers_[peer]);
}

Result<bool> RingCommunicator::connect(const net::Socket& listener,
                                       net::Clock::time_point deadline) {
  const int next = (rank_ + 1) % world_, prev = (rank_ + world_ - 1) % world_;
  ASSIGN_OR_RETURN(auto next_addr, net::parse_host_port(peers_[next]));
  // Handshake order cannot deadlock: every rank connects and says hello before
  // it waits for anyone (the kernel accepts into the backlog for us).
  protocol::RingHello hello;
  hello.rank = rank_;
  hello.world_size = world_;
  hello.host_id = net::host_identity();
  auto out = net::connect_until(next_addr.first, next_addr.second, deadline);
  if (!out.ok()) return about_peer(out.status(), next);
  out_ = std::move(out).value();
  if (credentials_) {
    // Both halves at once: rank r proves itself to r+1 while r-1 proves itself to
    // r; one after the other, every rank would wait on its next and none accept.
    auto proven = std::async(std::launch::async, [&] {
      return protocol::authenticate_to_server(out_.fd(), *credentials_, "ring", deadline);
    });
    protocol::AuthenticatedAcceptor acceptor(listener.fd(), *credentials_,
                                             protocol::AcceptorOptions{"ring"});
    auto in = net::adopt(acceptor.accept(deadline));
    RETURN_IF_ERROR(about_peer(proven.get(), next));
    if (!in.ok()) return about_peer(in.status(), prev);
    in_ = std::move(in).value();
    RETURN_IF_ERROR(about_peer(send_message(out_, protocol::encode(hello), deadline), next));
  } else {
    RETURN_IF_ERROR(about_peer(send_message(out_, protocol::encode(hello), deadline), next));
    auto in = net::accept_until(listener, deadline);
    if (!in.ok()) return about_peer(in.status(), prev);
    in_ = std::move(in).value();
  }
  auto prev_hello = read_message<protocol::RingHello>(in_, deadline, "ring hello");
  if (!prev_hello.ok()) return about_peer(prev_hello.status(), prev);
  if (prev_hello->rank != prev || prev_hello->world_size != world_)
    return FailedPrecondition("ring rank " + std::to_string(rank_) + ": expected rank " +
                              std::to_string(prev) + " of " + std::to_string(world_) +
                              " to connect, got rank " + std::to_string(prev_hello->rank) + " of " +
                              std::to_string(prev_hello->world_size));
  RETURN_IF_ERROR(about_peer(send_message(in_, protocol::encode(hello), deadline), prev));
  auto next_hello = read_message<protocol::RingHello>(out_, deadline, "ring hello");
  if (!next_hello.ok()) return about_peer(next_hello.status(), next);
  if (next_hello->rank != next || next_hello->world_size != world_)
    return FailedPrecondition("ring rank " + std::to_string(rank_) + ": rank " +
                              std::to_string(next) + " answered as rank " +
                              std::to_string(next_hello->rank));
  return next_hello->host_id == hello.host_id;
}

Status RingCommunicator::open_channels(bool next_on_this_host, net::Clock::time_point deadline) {
  const int next = (rank_ + 1) % world_, prev = (rank_ + world_ - 1) % world_;
  // Shared-memory offer for the link to next. The offer frame is always sent
  // (empty name: TCP) so both sides agree even if their settings differ.
  std::unique_ptr<ShmSegment> out_segment;
  protocol::RingHello offer;
  offer.rank = rank_;
  offer.world_size = world_;
  if (options_.ring_transport == "auto" && next_on_this_host) {
    auto seg = ShmSegment::Create(shm_name(rank_), 4 * options_.ring_slice_bytes);
    if (seg.ok()) {
      out_segment = std::move(seg).value();
      offer.shm_name = out_segment->name();
    }
  }
  RETURN_IF_ERROR(about_peer(send_message(out_, protocol::encode(offer), deadline), next));
  auto prev_offer = read_message<protocol::RingHello>(in_, deadline, "ring shm offer");
  if (!prev_offer.ok()) return about_peer(prev_offer.status(), prev);
  std::unique_ptr<ShmSegment> in_segment;
  if (!prev_offer->shm_name.empty()) {
    protocol::RingShmAck ack;
    auto seg = ShmSegment::Open(prev_offer->shm_name);
    ack.mapped = seg.ok();
    if (seg.ok())
      in_segment = std::move(seg).value();
    else
      ack.error = seg.status().to_string();
    RETURN_IF_ERROR(about_peer(send_message(in_, protocol::encode(ack), deadline), prev));
  }
  if (out_segment) {
    auto next_ack = read_message<protocol::RingShmAck>(out_, deadline, "ring shm ack");
    if (!next_ack.ok()) return about_peer(next_ack.status(), next);
    out_segment->unlink();  // both sides have it mapped; nothing leaks if we die now
    if (!next_ack->mapped) out_segment.reset();
  }

  RETURN_IF_ERROR(net::tune_for_bulk(out_));
  RETURN_IF_ERROR(net::tune_for_bulk(in_));
  next_shm_ = out_segment != nullptr;
  if (out_segment)
    send_ = std::make_unique<ShmSendChannel>(std::move(out_segment), &out_);
  else
    send_ = std::make_unique<TcpSendChannel>(&out_);
  if (in_segment)
    recv_ = std::make_unique<ShmRecvChannel>(std::move(in_segment), &in_);
  else
    recv_ = std::make_unique<TcpRecvChannel>(&in_);
  return Status::Ok();
}

Status RingCommunicator::wait_for_progress(bool sending, bool receiving, int64_t idle) {
  // Shared-memory links make progress by polling memory: spin briefly (a peer
  // usually answers within microseconds), then yield the core, and every so
  // often peek at the control sockets so a dead peer is noticed. TCP links
  // block in poll() until a socket is ready.
  const bool memory = (sending && send_->spins()) || (receiving && recv_->spins());
  if (memory && idle < spin_rounds_) {
    __builtin_ia32_pause();
    return Status::Ok();
  }
  if (memory && idle % 64 != 0) {
    ::sched_yield();
    return Status::Ok();
  }
  pollfd fds[2];
  int n = 0;
  bool spin = false;
  if (sending) fds[n++] = send_->wait_fd(), spin |= send_->spins();
  if (receiving) fds[n++] = recv_->wait_fd(), spin |= recv_->spins();
  if (spin) {
    ::sched_yield();
    // Control sockets carry no data after the handshake: readable = closed.
    for (int i = 0; i < n; ++i) fds[i].events = POLLIN;
  }
  const int rc = ::poll(fds, n, spin ? 0 : 50);
  if (rc <= 0) return Status::Ok();
  if (spin) {
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      char byte;
      // A peer may write its last bytes into shared memory and exit at once:
      // report the closure only after one more attempt found nothing to do.
      if (::recv(fds[i].fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0)
        closed_peer_ = fds[i].fd == out_.fd() ? "next" : "previous";
    }
  }
  return Status::Ok();
}

Status RingCommunicator::run(const std::vector<Step>& steps, const char* what) {
  const size_t slice = options_.ring_slice_bytes;
  const int count = static_cast<int>(steps.size());
  int s_step = 0, r_step = 0;
  size_t s_off = 0, r_off = 0;
  auto recv_done = [&](int step) -> size_t {
    return step < r_step ? steps[step].recv_bytes : step == r_step ? r_off : 0;
  };
  auto last_progress = net::Clock::now();
  int64_t idle = 0;  // consecutive rounds without progress
  while (true) {
    while (s_step < count && s_off == steps[s_step].send_bytes) ++s_step, s_off = 0;
    while (r_step < count && r_off == steps[r_step].recv_bytes) ++r_step, r_off = 0;
    if (s_step == count && r_step == count) return Status::Ok();
    bool progress = false, want_send = false;
    if (s_step < count) {
      const Step& st = steps[s_step];
      size_t limit = st.send_bytes;
      if (st.send_gate >= 0) limit = std::min(limit, recv_done(st.send_gate));
      if (limit > s_off) {
        want_send = true;
        ASSIGN_OR_RETURN(size_t n,
                         send_->try_send(st.send + s_off, std::min(limit - s_off, slice)));
        s_off += n;
        progress |= n > 0;
      }
    }
    if (r_step < count) {
      const Step& st = steps[r_step];
      ASSIGN_OR_RETURN(size_t n,
                       recv_->try_recv(st.recv + r_off, st.recv_bytes - r_off, st.accumulate));
      r_off += n;
      progress |= n > 0;
    }
    if (progress) {
      idle = 0;
      continue;
    }
    if (!closed_peer_.empty())
      return Unavailable(std::string(what) + ": the " + closed_peer_ +
                         " rank closed its connection mid-collective");
    // The idle time starts at the first round without progress; the clock is
    // read only every 256 rounds, not on the fast path.
    if (idle == 0) last_progress = net::Clock::now();
    if (idle % 256 == 255 && net::Clock::now() - last_progress > options_.rendezvous.timeout)
      return DeadlineExceeded(
          std::string(what) + ": no progress for " +
          std::to_string(options_.rendezvous.timeout.count()) + " ms (waiting to " +
          (want_send ? "send to rank " + std::to_string((rank_ + 1) % world_) : "") +
          (want_send && r_step < count ? " and " : "") +
          (r_step < count ? "receive from rank " + std::to_string((rank_ + world_ - 1) % world_)
                          : "") +
          ")");
    RETURN_IF_ERROR(wait_for_progress(want_send, r_step < count, idle++));
  }
}

Status RingCommunicator::allreduce(float* data, size_t count, ReduceOp op) {
  if (!broken_.ok()) return broken_;
  if (world_ > 1 && count > 0) {
    // Two ranks gain nothing from gathering: their ring is two half-size
    // exchanges, and measured the same as one whole-buffer exchange at 4 KiB.
    const bool small = world_ > 2 && count * sizeof(float) <= options_.ring_small_bytes;
    Status s = small ? allreduce_gathered(data, count) : allreduce_ring(data, count);
    if (!s.ok()) return broken_ = s.annotate("rank " + std::to_string(rank_));
  }
  if (op == ReduceOp::kAverage && world_ > 1) {
    const float inv = 1.0f / static_cast<float>(world_);
#pragma omp simd
    for (size_t i = 0; i < count; ++i) data[i] *= inv;
  }
  return Status::Ok();
}

Status RingCommunicator::allreduce_ring(float* data, size_t count) {
  const int n = world_;
  std::vector<Step> steps(2 * (n - 1));
  // Global step g sends segment (rank - g) and receives segment (rank - g - 1),
  // both mod n. Reduce-scatter, g < n-1: after step g this rank holds the sum
  // of g+2 ranks' values of the segment it received, and after the last step
  // the complete sum of segment rank+1. All-gather, g >= n-1: the complete
  // segments travel once more around the ring and are copied, not added.
  for (int g = 0; g < 2 * (n - 1); ++g) {
    const int s = ((rank_ - g) % n + n) % n, r = ((rank_ - g - 1) % n + n) % n;
    Step& st = steps[g];
    const size_t sb = segment_begin(count, n, s), se = segment_begin(count, n, s + 1);
    const size_t rb = segment_begin(count, n, r), re = segment_begin(count, n, r + 1);
    st.send = reinterpret_cast<const char*>(data + sb);
    st.send_bytes = (se - sb) * sizeof(float);
    st.recv = reinterpret_cast<char*>(data + rb);
    st.recv_bytes = (re - rb) * sizeof(float);
    st.accumulate = g < n - 1;
    // What step g sends is exactly what step g-1 received (and reduced).
    st.send_gate = g - 1;
  }
  return run(steps, "ring allreduce");
}

Status RingCommunicator::allreduce_gathered(float* data, size_t count) {
  // Latency path: below ring_small_bytes the 2(n-1) dependent hand-offs of the
  // ring, not bandwidth, set the time. Gathering whole buffers takes n-1
  // on the same links, at (n-1)x the bytes per link.
  // Every rank then adds the same n blocks in rank order, ((b0 + b1) + b2)...,
  // so all ranks compute the same float sums: results are bitwise identical.
  const int n = world_;
  const size_t bytes = count * sizeof(float);
  gathered_.resize(static_cast<size_t>(n) * count);
  char* all = reinterpret_cast<char*>(gathered_.data());
  std::memcpy(all + rank_ * bytes, data, bytes);
  RETURN_IF_ERROR(run(allgather_steps(all, bytes), "ring allreduce"));
  const float* blocks = gathered_.data();
  std::memcpy(data, blocks, bytes);
  for (int r = 1; r < n; ++r) {
    const float* b = blocks + static_cast<size_t>(r) * count;
#pragma omp simd
    for (size_t i = 0; i < count; ++i) data[i] += b[i];
  }
  return Status::Ok();
}

Status RingCommunicator::broadcast(void* data, size_t bytes, int root) {
  if (!broken_.ok()) return broken_;
  if (root < 0 || root >= world_)
    return InvalidArgument("broadcast root " + std::to_string(root) + " outside [0, " +
                           std::to_string(world_) + ")");
  if (world_ == 1 || bytes == 0) return Status::Ok();
  // One streamed step: the root sends; every other rank receives and forwards
  // each slice as soon as it has it, except the rank just before the root.
  Step st;
  char* p = static_cast<char*>(data);
  const bool is_root = rank_ == root;
  const bool last = (rank_ + 1) % world_ == root;
  if (!last) st.send = p, st.send_bytes = bytes;
  if (!is_root) st.recv = p, st.recv_bytes = bytes, st.send_gate = 0;
  Status s = run({st}, "ring broadcast");
  if (!s.ok()) return broken_ = s.annotate("rank " + std::to_string(rank_));
  return Status::Ok();
}

Status RingCommunicator::allgather(const void* send, size_t bytes, void* recv) {
  if (!broken_.ok()) return broken_;
  char* out = static_cast<char*>(recv);
  if (bytes && out + rank_ * bytes != send) std::memmove(out + rank_ * bytes, send, bytes);
  if (world_ == 1 || bytes == 0) return Status::Ok();
  Status s = run(allgather_steps(out, bytes), "ring allgather");
  if (!s.ok()) return broken_ = s.annotate("rank " + std::to_string(rank_));
  return Status::Ok();
}

std::vector<RingCommunicator::Step> RingCommunicator::allgather_steps(char* out,
                                                                      size_t bytes) const {
  const int n = world_;
  std::vector<Step> steps(n - 1);
  // Step g forwards block (rank - g), which arrived at step g-1 (own block first).
  for (int g = 0; g < n - 1; ++g) {
    const int s = ((rank_ - g) % n + n) % n, r = ((rank_ - g - 1) % n + n) % n;
    steps[g].send = out + s * bytes;
    steps[g].send_bytes = bytes;
    steps[g].recv = out + r * bytes;
    steps[g].recv_bytes = bytes;
    steps[g].send_gate = g - 1;
  }
  return steps;
}

Status RingCommunicator::barrier() {
  // Every rank's result depends on every rank's input, so no rank can leave an
  // allreduce before all have entered it.
  float token = 1.0f;
  return allreduce(&token, 1, ReduceOp::kSum);
}

}  // namespace cadre::training::ring
