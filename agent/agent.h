// The agent's loop: ties the coordinator link, the process launcher and the log
// tailers together and keeps the registration session (epoch, heartbeats,
// unacknowledged exits).
//
// Threading: everything below runs on the one thread that calls run(): socket
// reads and writes, timers, reaping and log tailing all happen between two
// zmq::poll calls, so no state is shared and nothing is locked. (ZeroMQ's own I/O
// threads touch only the socket's queues.)
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_metrics.h"
#include "agent/coordinator_link.h"
#include "agent/lease_watchdog.h"
#include "agent/log_tailer.h"
#include "agent/metrics_socket.h"
#include "agent/process_launcher.h"
#include "agent/readiness_prober.h"
#include "agent/resource_discovery.h"
#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::agent {

using std::chrono::milliseconds;

// The loop's clocks. Defaults follow DESIGN.md's failure model (1 s heartbeats,
// NotReady after 5 s); tests shorten none of them.
struct AgentTimings {
  milliseconds poll{100};              // zmq::poll timeout: the loop's tick
  milliseconds register_resend{2000};  // resend Register until a RegisterReply arrives
  milliseconds exit_resend{2000};      // resend each ReplicaExited until its ack
  milliseconds ack_timeout{5000};      // no HeartbeatAck for this long: register again
  milliseconds tail_interval{200};     // read new log bytes for metric lines
};

struct AgentOptions {
  std::string name;      // node name as registered
  std::string address;   // host other nodes use to reach this one
  std::string work_dir;  // absolute; replicas/<uid>/, logs/ and checkpoints/<job>/ live here
  std::map<std::string, std::string> labels;
  NodeResources resources;
  int32_t port_min = 0;  // ports the coordinator may assign to replicas here (--port-range)
  int32_t port_max = 0;
  CoordinatorLinkOptions link;
  milliseconds shutdown_grace{5000};  // SIGTERM..SIGKILL for replicas when the agent stops
  AgentTimings timings;
  ReplicaSandbox sandbox;  // how replicas are confined (agent/replica_sandbox.h)
  // Told which replicas run, for the /metrics endpoint; nullptr when there is none.
  std::shared_ptr<AgentMetrics> metrics;
};

class Agent {
 public:
  static Result<std::unique_ptr<Agent>> Create(const AgentOptions& options);

  // Serves until should_stop() returns true (checked every tick), then stops every
  // replica, reports their exits and returns.
  Status run(const std::function<bool()>& should_stop);

 private:
  using Clock = SteadyClock;

  // A replica the agent started and has not reaped yet.
  struct Replica {
    std::string job;
    pid_t pid = 0;
    uint64_t epoch = 0;   // registration epoch it was launched under
    LogTailer tailer;     // its output: the log, and metric lines unless they come from elsewhere
    bool fenced = false;  // killed because the lease expired
    bool outlives_lease = false;            // a server the lease does not stop
    std::optional<LogTailer> metrics_file;  // the File metrics collector's file
    std::unique_ptr<MetricsSocket> push;    // CADRE_METRICS_ADDR
    std::string ns;                         // its namespace, for /metrics
    std::string name;                       // "worker-1", for /metrics
    bool remove_files = false;  // its job is deleted: its folder and log go when it exits
  };

  // The registration with the coordinator. epoch 0: never registered.
  struct Session {
    uint64_t epoch = 0;
    std::string node;  // the name the coordinator accepted
    milliseconds heartbeat_interval{1000};
    bool awaiting_reply = true;  // a Register is out and unanswered
    uint64_t register_id = 0;    // id of the newest Register sent
    Clock::time_point register_sent{};
    Clock::time_point heartbeat_sent{};
    Clock::time_point last_ack{};
    Clock::time_point exits_resent{};
  };

  // The fencing lease (RegisterReply.lease_ms), enforced by the watchdog process.
  // A renewal counts from when the message it answers was sent, not from when the
  // answer arrived: the coordinator's silence clock started no earlier than that
  // send, and an agent frozen just after sending must not stretch its lease past
  // the coordinator's patience.
  struct Lease {
    milliseconds length{0};          // 0: no lease
    bool expired = false;            // noticed by the loop; ends with the next registration
    Clock::time_point expired_at{};  // when the loop noticed
    uint64_t expirations_seen = 0;   // the watchdog's counter when last read
    // Send times of heartbeats not yet answered, oldest first. HeartbeatAcks carry
    // no reply_to; the connection keeps order, so each ack answers the oldest.
    std::deque<Clock::time_point> heartbeats;
  };

  Agent(AgentOptions options, std::unique_ptr<LeaseWatchdog> watchdog,
        std::unique_ptr<CoordinatorLink> link, std::unique_ptr<ProcessLauncher> launcher);

  // One pass of the loop after poll: timers, escalation, reaping, tailing.
  void tick(Clock::time_point now);
  void poll_once(milliseconds timeout);
  // Tells the metrics endpoint which replicas run now (after each launch and reap).
  void publish_replicas();
  void handle_link_events();
  void drain_socket();
  void handle(const protocol::Envelope& envelope);
  bool is_current_epoch(const protocol::Envelope& envelope, const char* what);

  void on_register_reply(const protocol::Envelope& envelope);
  void on_heartbeat_ack(const protocol::Envelope& envelope);
  void on_launch(const protocol::Envelope& envelope);
  bool accepts_launch(const protocol::Envelope& envelope, const protocol::LaunchReplica& msg);
  void on_kill(const protocol::Envelope& envelope);
  void on_exited_ack(const protocol::Envelope& envelope);
  void on_read_logs(const protocol::Envelope& envelope);
  void on_remove_files(const protocol::Envelope& envelope);
  void remove_files_of(const std::string& uid, const std::string& job);

  void check_lease(Clock::time_point now);
  void check_watchdog();

  void send_register();
  void send_heartbeat();
  void resend_exits();
  void report_exit(protocol::ReplicaExited exit);
  void report_launch_failure(const protocol::LaunchReplica& msg, const std::string& reason,
                             const std::string& message);
  void send_metrics(const std::string& uid, const std::string& job,
                    std::vector<protocol::MetricSample> samples);
  void send_unsent_metrics();
  void tail_logs();
  void collect_exits();
  void stop_replicas();

  // Sends under the current registration's epoch; a failure is logged (Register
  // and ReplicaExited are resent on their own timers until answered).
  template <typename T>
  void send(protocol::MessageKind kind, const T& body, uint64_t reply_to = 0) {
    auto sent = link_->send(kind, body, session_.epoch, reply_to);
    if (!sent.ok()) warn_unsent(kind, sent.status());
  }
  void warn_unsent(protocol::MessageKind kind, const Status& why) const;

  AgentOptions options_;
  // Before launcher_, so it is destroyed after: the launcher unlists groups in it.
  std::unique_ptr<LeaseWatchdog> watchdog_;
  std::unique_ptr<CoordinatorLink> link_;
  std::unique_ptr<ProcessLauncher> launcher_;
  std::unique_ptr<ReadinessProber> prober_;  // serving replicas' readiness probes
  std::string push_dir_;       // replicas' CADRE_METRICS_ADDR sockets (metrics_socket.h)
  uint64_t push_sockets_ = 0;  // names them: <push_dir_>/<n>.sock
  std::map<std::string, std::string> base_env_;  // the agent's own environment
  Session session_;
  Lease lease_;
  std::map<std::string, Replica> replicas_;                       // by uid
  std::map<std::string, protocol::ReplicaExited> pending_exits_;  // sent, not yet acked
  std::deque<protocol::MetricsReport> unsent_metrics_;  // while no session is up, oldest first
  size_t unsent_samples_ = 0;                           // in unsent_metrics_
  uint64_t dropped_samples_ = 0;                        // past the bound, this outage
  Clock::time_point tailed_{};
  bool stopping_ = false;
  bool handshake_failure_logged_ = false;  // one error per outage, not one per retry
  bool watchdog_failure_logged_ = false;   // likewise for restarting the watchdog
};

}  // namespace cadre::agent
