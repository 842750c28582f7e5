// The fencing lease's enforcer: a small process forked by the agent that SIGKILLs
// every replica process group once the lease deadline has passed.
//
// Why a process and not a thread: the lease must hold even when the agent itself
// is stuck (frozen by SIGSTOP, swapped out, in a debugger, wedged on a lock). A
// thread would be frozen with it, and the coordinator would declare the node Lost
// and start the replicas elsewhere while the old ones still run: two copies of a
// rank writing the same checkpoints. The watchdog shares one anonymous MAP_SHARED
// page with the agent and nothing else (it closes every inherited descriptor, so
// it never holds the agent's sockets open):
//   - the lease deadline, CLOCK_MONOTONIC nanoseconds, written by the agent on
//     every renewal (0: no lease);
//   - a fixed table of live replica process-group ids, filled by the process
//     launcher (this class is its ProcessGroupTable);
//   - a counter the watchdog bumps each time it finds a deadline expired.
// It polls every `poll`; past the deadline it kills every listed group, and keeps
// doing so on each poll until the agent starts a new lease.
//
// It dies with the agent (PR_SET_PDEATHSIG), and on the way kills every listed
// group: the replicas' main processes die by their own death signal, but what they
// forked (torchrun workers, mpirun ranks) would otherwise outlive the agent.
// SIGINT, SIGTERM and SIGHUP are ignored: they are for the agent, which stops its
// replicas gracefully.
//
// Threading: every method is called from the agent's loop thread; the shared
// fields are lock-free atomics, the only thing both processes touch.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "agent/process_group_table.h"
#include "protocol/status.h"

namespace cadre::agent {

struct LeaseWatchdogOptions {
  // How often the watchdog process reads the deadline: the most a replica can
  // outlive an expired lease, plus the time SIGKILL takes.
  std::chrono::milliseconds poll{100};
};

class LeaseWatchdog : public ProcessGroupTable {
 public:
  using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC, as the watchdog reads it
  static constexpr int kMaxGroups = 4096;   // replicas one agent can run at once

  // Maps the shared page and forks the watchdog. Call it before starting threads
  // or opening sockets, so the child has as little as possible to close.
  static Result<std::unique_ptr<LeaseWatchdog>> Create(const LeaseWatchdogOptions& options);
  // The shared page's layout (lease_watchdog.cc).
  struct Shared;
  // Kills the watchdog (without it killing anything) and reaps it.
  ~LeaseWatchdog() override;
  LeaseWatchdog(const LeaseWatchdog&) = delete;
  LeaseWatchdog& operator=(const LeaseWatchdog&) = delete;

  // Starts a new lease ending at `deadline`, or no lease (nullopt). For a fresh
  // registration only: it is the one way out of an expired lease.
  void reset(std::optional<Clock::time_point> deadline);
  // Moves the deadline later (never earlier). Refused, returning false, once the
  // deadline has passed: an ack that arrives after the watchdog may have fired
  // must not revive a lease whose replicas are already dead.
  bool extend(Clock::time_point deadline);
  // True when a lease is set and its deadline has passed.
  bool expired(Clock::time_point now) const;
  // How many expired deadlines the watchdog process has acted on. A change means
  // it killed the listed groups, even if the agent renewed in the same instant.
  uint64_t expirations() const;

  Status add(pid_t pgid) override;
  void remove(pid_t pgid) override;

  // Forks a new watchdog if the current one died (someone killed it). Returns
  // true when it did. Never blocks.
  Result<bool> ensure_running();
  pid_t pid() const { return pid_; }

 private:
  LeaseWatchdog(Shared* shared, LeaseWatchdogOptions options)
      : shared_(shared), options_(options) {}
  Status spawn();

  Shared* shared_;  // the MAP_SHARED page
  LeaseWatchdogOptions options_;
  pid_t pid_ = -1;
};

}  // namespace cadre::agent
