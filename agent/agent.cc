#include "agent/agent.h"

#include <csignal>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "protocol/wall_clock.h"

#ifndef CADRE_VERSION
#define CADRE_VERSION "unknown"
#endif

namespace cadre::agent {

using protocol::MessageKind;

namespace {

// Messages handled per tick before timers get their turn.
constexpr int kMaxMessagesPerTick = 1000;
// Unanswered heartbeats remembered for the lease. Past this the newest are not
// recorded, which can only make renewals count from older sends (shorter leases).
constexpr size_t kMaxHeartbeatsInFlight = 64;

}  // namespace

Result<std::unique_ptr<Agent>> Agent::Create(const AgentOptions& options) {
  for (const char* sub : {"replicas", "checkpoints"}) {
    std::error_code ec;
    const auto dir = std::filesystem::path(options.work_dir) / sub;
    std::filesystem::create_directories(dir, ec);
    if (ec) return FailedPrecondition("cannot create " + dir.string() + ": " + ec.message());
  }
  // Forked before ZeroMQ starts its threads and opens sockets.
  ASSIGN_OR_RETURN(auto watchdog, LeaseWatchdog::Create(LeaseWatchdogOptions{}));
  ASSIGN_OR_RETURN(auto link, CoordinatorLink::Create(options.link));
  ProcessLauncherOptions launcher_options;
  launcher_options.groups = watchdog.get();
  launcher_options.sandbox = options.sandbox;
  ASSIGN_OR_RETURN(auto launcher, ProcessLauncher::Create(launcher_options));
  ASSIGN_OR_RETURN(std::string push_dir, prepare_push_socket_dir(options.work_dir));
  ASSIGN_OR_RETURN(auto prober, ReadinessProber::Create(ReadinessProberOptions{}));
  auto agent = std::unique_ptr<Agent>(
      new Agent(options, std::move(watchdog), std::move(link), std::move(launcher)));
  agent->push_dir_ = std::move(push_dir);
  agent->prober_ = std::move(prober);
  return agent;
}

Agent::Agent(AgentOptions options, std::unique_ptr<LeaseWatchdog> watchdog,
             std::unique_ptr<CoordinatorLink> link, std::unique_ptr<ProcessLauncher> launcher)
    : options_(std::move(options)),
      watchdog_(std::move(watchdog)),
      link_(std::move(link)),
      launcher_(std::move(launcher)),
      base_env_(current_environment()) {
  session_.node = options_.name;
}

void Agent::warn_unsent(MessageKind kind, const Status& why) const {
  spdlog::warn("node={} sending {} failed: {}", session_.node, protocol::kind_name(kind),
               why.message());
}

Status Agent::run(const std::function<bool()>& should_stop) {
  spdlog::info("node={} agent {} connecting to {} ({} mCPU, {} bytes, {} GPUs)", options_.name,
               CADRE_VERSION, options_.link.endpoint, options_.resources.cpu_millis,
               options_.resources.memory_bytes, options_.resources.gpus);
  // The first Register goes out once the handshake succeeds (handle_link_events).
  session_.awaiting_reply = true;
  while (!should_stop()) {
    poll_once(options_.timings.poll);
    tick(Clock::now());
  }
  stop_replicas();
  // The folder is the agent's alone (a replica only connects to its socket); a
  // socket whose replica's exit was never reaped goes with it.
  std::error_code ec;
  std::filesystem::remove_all(push_dir_, ec);
  return Status::Ok();
}

void Agent::publish_replicas() {
  if (!options_.metrics) return;
  std::vector<ReplicaRef> refs;
  for (const auto& [uid, r] : replicas_) {
    ReplicaRef ref{uid, r.job, r.ns, r.name, r.pid, {}};
    if (options_.sandbox.cgroups) ref.cgroup_dirs = options_.sandbox.cgroups->dirs_of(uid);
    refs.push_back(std::move(ref));
  }
  options_.metrics->publish(std::move(refs));
}

void Agent::poll_once(milliseconds timeout) {
  std::vector<zmq::pollitem_t> items = {{link_->socket().handle(), 0, ZMQ_POLLIN, 0},
                                        {link_->monitor().handle(), 0, ZMQ_POLLIN, 0}};
  // Replicas' push sockets wake the loop too: a sender blocks once a few datagrams
  // wait (net.unix.max_dgram_qlen), so they are read as they come, not once a tick.
  std::vector<std::pair<std::string, Replica*>> pushers;
  for (auto& [uid, replica] : replicas_) {
    if (!replica.push) continue;
    items.push_back({nullptr, replica.push->fd(), ZMQ_POLLIN, 0});
    pushers.emplace_back(uid, &replica);
  }
  try {
    zmq::poll(items.data(), items.size(), timeout);
  } catch (const zmq::error_t& e) {
    // EINTR: a stop signal arrived; the caller checks for it.
    if (e.num() != EINTR) spdlog::error("node={} zmq_poll: {}", session_.node, e.what());
  }
  for (size_t i = 0; i < pushers.size(); ++i) {
    if (!(items[2 + i].revents & ZMQ_POLLIN)) continue;
    auto& [uid, replica] = pushers[i];
    send_metrics(uid, replica->job, replica->push->poll(wall_ms()));
  }
  handle_link_events();
  drain_socket();
}

void Agent::handle_link_events() {
  for (const LinkEvent& event : link_->events()) {
    switch (event.kind) {
      case LinkEvent::Kind::kConnected:
        spdlog::info("node={} connected to {}", session_.node, options_.link.endpoint);
        handshake_failure_logged_ = false;
        // Register at once on every new connection: it may be a new coordinator,
        // or the same one after the link dropped (a message over
        // --max-message-bytes ends the connection). Registering again points the
        // coordinator's route at this connection and reports what runs here, so
        // whatever was lost with the old connection is resent or rescheduled
        // instead of the node going silent.
        send_register();
        break;
      case LinkEvent::Kind::kDisconnected:
        // What was in flight on the old connection is gone, answers included.
        lease_.heartbeats.clear();
        spdlog::warn("node={} lost the connection to {}; reconnecting", session_.node,
                     options_.link.endpoint);
        break;
      case LinkEvent::Kind::kHandshakeFailed:
        spdlog::log(handshake_failure_logged_ ? spdlog::level::debug : spdlog::level::err,
                    "node={} cannot connect to {}: {}", session_.node, options_.link.endpoint,
                    event.detail);
        handshake_failure_logged_ = true;
        break;
    }
  }
}

void Agent::tick(Clock::time_point now) {
  check_lease(now);  // before reaping, so replicas the watchdog killed are reported as such
  check_watchdog();
  launcher_->escalate(now);
  collect_exits();
  if (now - tailed_ >= options_.timings.tail_interval) {
    tailed_ = now;
    tail_logs();
  }
  // Registers and heartbeats queued toward a dead connection would arrive as a
  // stale burst once it is back; send them only while a session is up.
  if (!link_->connected()) return;
  if (session_.awaiting_reply && now - session_.register_sent >= options_.timings.register_resend) {
    send_register();
  }
  if (session_.epoch == 0) return;  // nothing below makes sense before the first reply
  if (now - session_.exits_resent >= options_.timings.exit_resend) resend_exits();
  if (now - session_.heartbeat_sent >= session_.heartbeat_interval) send_heartbeat();
  for (auto& change : prober_->take_changes()) {
    send(MessageKind::kReplicaReady,
         protocol::ReplicaReadiness{change.uid, change.job, change.ready, change.message});
  }
  if (!session_.awaiting_reply && now - session_.last_ack >= options_.timings.ack_timeout) {
    // ZeroMQ reconnects silently: a coordinator restarted on a new socket would
    // otherwise never hear from us again except as an unknown heartbeat.
    spdlog::warn("node={} no HeartbeatAck for {} ms; registering again", session_.node,
                 options_.timings.ack_timeout.count());
    send_register();
  }
}

void Agent::drain_socket() {
  // An agent that was frozen must see its lease expired before it reads the acks
  // that queued up meanwhile.
  check_lease(Clock::now());
  for (int i = 0; i < kMaxMessagesPerTick; ++i) {
    auto envelope = link_->receive();
    if (!envelope.ok()) {
      if (envelope.status().code() == StatusCode::kUnavailable) return;
      spdlog::warn("node={} dropped a malformed message: {}", session_.node,
                   envelope.status().message());
      continue;
    }
    handle(*envelope);
  }
}

void Agent::handle(const protocol::Envelope& envelope) {
  switch (envelope.header.kind) {
    case MessageKind::kRegisterReply:
      return on_register_reply(envelope);
    case MessageKind::kHeartbeatAck:
      return on_heartbeat_ack(envelope);
    case MessageKind::kLaunchReplica:
      return on_launch(envelope);
    case MessageKind::kKillReplica:
      return on_kill(envelope);
    case MessageKind::kReplicaExitedAck:
      return on_exited_ack(envelope);
    case MessageKind::kReadLogs:
      return on_read_logs(envelope);
    case MessageKind::kRemoveReplicaFiles:
      return on_remove_files(envelope);
    case MessageKind::kError: {
      auto error = protocol::decode_body<protocol::ErrorReply>(envelope, link_->limits());
      const std::string text =
          error.ok() ? error->code + ": " + error->message : error.status().message();
      // A refused registration needs the operator; anything else is usually a
      // message that raced a coordinator restart and is resent after registering.
      const bool registration = envelope.header.reply_to == session_.register_id;
      spdlog::log(registration ? spdlog::level::err : spdlog::level::warn,
                  "node={} coordinator refused {}: {}", session_.node,
                  registration ? "the registration" : "a message", text);
      return;
    }
    default:
      spdlog::warn("node={} ignoring unexpected {} from the coordinator", session_.node,
                   protocol::kind_name(envelope.header.kind));
  }
}

// Fencing: a command issued under an older registration may come from a
// coordinator that has since declared this node lost and moved its replicas.
bool Agent::is_current_epoch(const protocol::Envelope& envelope, const char* what) {
  if (lease_.expired) {
    // The coordinator may already have moved this node's work elsewhere.
    spdlog::warn("node={} dropping {} from epoch {}: the lease expired; registering again",
                 session_.node, what, envelope.header.epoch);
    return false;
  }
  if (session_.epoch != 0 && envelope.header.epoch == session_.epoch) return true;
  spdlog::warn("node={} dropping {} from epoch {} (current epoch {})", session_.node, what,
               envelope.header.epoch, session_.epoch);
  return false;
}

void Agent::on_register_reply(const protocol::Envelope& envelope) {
  auto reply = protocol::decode_body<protocol::RegisterReply>(envelope, link_->limits());
  if (!reply.ok()) {
    spdlog::warn("node={} bad RegisterReply: {}", session_.node, reply.status().message());
    return;
  }
  if (envelope.header.reply_to != 0 && envelope.header.reply_to < session_.register_id) {
    spdlog::debug("node={} ignoring a reply to an older Register", session_.node);
    return;
  }
  if (lease_.expired && session_.register_sent < lease_.expired_at) {
    spdlog::debug("node={} ignoring a reply to a Register sent before the lease expired",
                  session_.node);
    return;
  }
  const auto now = Clock::now();
  session_.epoch = reply->epoch;
  if (!reply->node.empty()) session_.node = reply->node;
  session_.heartbeat_interval =
      std::max(milliseconds(50), milliseconds(reply->heartbeat_interval_ms));
  session_.awaiting_reply = false;
  prober_->report_all_again();  // a new session may have missed what the old one heard
  session_.last_ack = now;
  // A new lease, counted from the Register this answers.
  lease_.length = milliseconds(std::max<int64_t>(0, reply->lease_ms));
  lease_.expired = false;
  lease_.heartbeats.clear();
  lease_.expirations_seen = watchdog_->expirations();
  if (lease_.length.count() > 0) {
    watchdog_->reset(session_.register_sent + lease_.length);
  } else {
    watchdog_->reset(std::nullopt);
  }
  spdlog::info("node={} registered, epoch {}, heartbeat every {} ms, lease {} ms", session_.node,
               session_.epoch, session_.heartbeat_interval.count(), lease_.length.count());
  if (lease_.length.count() > 0 && lease_.length <= 2 * session_.heartbeat_interval) {
    spdlog::warn(
        "node={} lease {} ms is at most two heartbeat intervals: a single late ack can "
        "kill every replica",
        session_.node, lease_.length.count());
  }
  for (const auto& uid : reply->kill) {
    if (!launcher_->is_running(uid)) continue;
    spdlog::warn("node={} replica={} job={} killing stale replica (fenced by the coordinator)",
                 session_.node, uid, replicas_.at(uid).job);
    const Status killed = launcher_->kill_now(uid);
    if (!killed.ok()) spdlog::error("node={} replica={} {}", session_.node, uid, killed.message());
  }
  send_heartbeat();
  send_unsent_metrics();  // before the exits: the coordinator reads them in this order
  resend_exits();
}

void Agent::on_heartbeat_ack(const protocol::Envelope& envelope) {
  auto ack = protocol::decode_body<protocol::HeartbeatAck>(envelope, link_->limits());
  if (!ack.ok()) return;
  // An ack carries the epoch of the heartbeat it answers. One about an older
  // registration says nothing about the current one; acting on its known=false
  // would re-register again and again.
  if (envelope.header.epoch != session_.epoch) return;
  std::optional<Clock::time_point> answered;
  if (!lease_.heartbeats.empty()) {
    answered = lease_.heartbeats.front();
    lease_.heartbeats.pop_front();
  }
  if (ack->known) {
    session_.last_ack = Clock::now();
    // Refused once expired: the watchdog may already have killed the replicas.
    if (answered && lease_.length.count() > 0 && !lease_.expired) {
      watchdog_->extend(*answered + lease_.length);
    }
    return;
  }
  // The coordinator restarted or declared us lost. Replicas keep running; the new
  // Register lists them so the coordinator can adopt or fence them.
  const bool register_is_fresh = session_.awaiting_reply && Clock::now() - session_.register_sent <
                                                                options_.timings.register_resend;
  if (register_is_fresh) return;
  spdlog::warn("node={} coordinator does not know epoch {}; registering again", session_.node,
               session_.epoch);
  send_register();
}

// The watchdog kills the replicas on its own, even while this loop is frozen;
// here the loop catches up: it marks them so their exits say why, kills them
// itself in case it got here first, and stops acting for the old registration.
void Agent::check_lease(Clock::time_point now) {
  if (lease_.expired) return;
  const uint64_t fired = watchdog_->expirations();
  if (!watchdog_->expired(now) && fired == lease_.expirations_seen) return;
  lease_.expirations_seen = fired;
  lease_.expired = true;
  lease_.expired_at = now;
  spdlog::warn(
      "node={} lease of {} ms expired without a HeartbeatAck; killing {} replicas and "
      "registering again",
      session_.node, lease_.length.count(), replicas_.size());
  for (auto& [uid, replica] : replicas_) {
    if (replica.outlives_lease) continue;  // a stateless server: running on is harmless
    replica.fenced = true;
    spdlog::warn("node={} replica={} job={} killed: the node's lease expired", session_.node, uid,
                 replica.job);
    const Status killed = launcher_->kill_now(uid);
    if (!killed.ok()) spdlog::error("node={} replica={} {}", session_.node, uid, killed.message());
  }
  // The coordinator has likely declared this node lost; a fresh registration
  // (sent by the next tick, once the dead are reaped) starts a new lease.
  session_.awaiting_reply = true;
  session_.register_sent = {};
}

void Agent::check_watchdog() {
  auto restarted = watchdog_->ensure_running();
  if (!restarted.ok()) {
    if (!watchdog_failure_logged_) {
      spdlog::error("node={} the lease watchdog died and cannot be restarted: {}", session_.node,
                    restarted.status().message());
    }
    watchdog_failure_logged_ = true;
    return;
  }
  watchdog_failure_logged_ = false;
  if (*restarted) {
    spdlog::error("node={} the lease watchdog died; started another (pid {})", session_.node,
                  watchdog_->pid());
  }
}

void Agent::send_register() {
  protocol::RegisterRequest request;
  request.name = options_.name;
  request.address = options_.address;
  request.cpu_millis = options_.resources.cpu_millis;
  request.memory_bytes = options_.resources.memory_bytes;
  request.gpus = options_.resources.gpus;
  request.gpu_models = options_.resources.gpu_models;
  request.labels = options_.labels;
  request.agent_version = CADRE_VERSION;
  request.port_min = options_.port_min;
  request.port_max = options_.port_max;
  request.max_message_bytes = options_.link.max_message_bytes;
  for (const auto& [uid, replica] : replicas_) {
    if (replica.fenced) continue;  // dead or dying: the coordinator must not adopt it
    request.running.push_back(protocol::ReplicaReport{uid, replica.job, replica.pid,
                                                      static_cast<int64_t>(replica.epoch)});
  }
  auto id = link_->send(MessageKind::kRegister, request, session_.epoch);
  if (id.ok()) session_.register_id = *id;
  session_.awaiting_reply = true;
  session_.register_sent = Clock::now();
}

void Agent::send_heartbeat() {
  protocol::Heartbeat heartbeat;
  heartbeat.node = session_.node;
  heartbeat.running = launcher_->running_uids();
  send(MessageKind::kHeartbeat, heartbeat);
  session_.heartbeat_sent = Clock::now();
  if (lease_.heartbeats.size() < kMaxHeartbeatsInFlight) {
    lease_.heartbeats.push_back(session_.heartbeat_sent);
  }
}

}  // namespace cadre::agent
