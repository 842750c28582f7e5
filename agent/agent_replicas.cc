// The agent's replicas: launching them as the coordinator asks, killing them,
// their logs, metrics and exits (agent.h has the loop they run on).
#include "agent/agent.h"

#include <sys/stat.h>

#include <cctype>
#include <csignal>

#include <spdlog/spdlog.h>

#include "agent/port_check.h"
#include "agent/replica_files.h"
#include "protocol/wall_clock.h"

namespace cadre::agent {

using protocol::MessageKind;

namespace {

int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// "Worker", 1 -> "worker-1", as replicas are named in status and logs.
std::string replica_name(std::string type, int32_t index) {
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type + "-" + std::to_string(index);
}

// Metric samples per MetricsReport, so one burst of output stays one modest message.
constexpr size_t kMaxSamplesPerReport = 4096;
// Samples held while no session is up (the coordinator restarting): past this the
// oldest are dropped, so an outage costs bounded memory.
constexpr size_t kMaxUnsentSamples = 100000;

}  // namespace

// A launch from an older epoch, while stopping, or of a replica this agent
// already ran (the coordinator resends what it saw no answer to) starts nothing;
// an already exited one has its exit sent again.
bool Agent::accepts_launch(const protocol::Envelope& envelope, const protocol::LaunchReplica& msg) {
  if (!is_current_epoch(envelope, "LaunchReplica")) return false;
  if (stopping_) {
    spdlog::warn("node={} replica={} not launched: the agent is stopping", session_.node, msg.uid);
    return false;
  }
  if (replicas_.count(msg.uid) != 0) {
    spdlog::info("node={} replica={} job={} already running; launch ignored", session_.node,
                 msg.uid, msg.job);
    return false;
  }
  if (auto pending = pending_exits_.find(msg.uid); pending != pending_exits_.end()) {
    spdlog::info("node={} replica={} job={} already exited; resending its exit", session_.node,
                 msg.uid, msg.job);
    send(MessageKind::kReplicaExited, pending->second);
    return false;
  }
  return true;
}

void Agent::on_launch(const protocol::Envelope& envelope) {
  auto msg = protocol::decode_body<protocol::LaunchReplica>(envelope, link_->limits());
  if (!msg.ok()) {
    spdlog::warn("node={} bad LaunchReplica: {}", session_.node, msg.status().message());
    return;
  }
  if (!accepts_launch(envelope, *msg)) return;
  auto spec = make_launch_spec(*msg, options_.work_dir, base_env_);
  if (!spec.ok()) return report_launch_failure(*msg, "LaunchFailed", spec.status().message());
  if (msg->port != 0) {
    const Status port = check_port_free(msg->port);
    if (!port.ok()) {
      const bool taken = port.code() == StatusCode::kAlreadyExists;
      return report_launch_failure(*msg, taken ? "PortInUse" : "LaunchFailed", port.message());
    }
  }
  auto formats = compile_metric_formats(spec->metrics.formats);
  if (!formats.ok()) return report_launch_failure(*msg, "LaunchFailed", formats.status().message());
  // The push socket exists before the program starts, so its first line is not lost.
  std::optional<std::pair<uid_t, gid_t>> owner;
  if (options_.sandbox.run_as) owner = {options_.sandbox.run_as->uid, options_.sandbox.run_as->gid};
  const std::string socket = push_dir_ + "/" + std::to_string(++push_sockets_) + ".sock";
  auto push = MetricsSocket::Create(socket, owner, MetricLineParser(*formats));
  if (!push.ok()) return report_launch_failure(*msg, "LaunchFailed", push.status().message());
  spec->env["CADRE_METRICS_ADDR"] = MetricsSocket::address(socket);
  // Where each file stands before the program starts: text an earlier process left
  // is not parsed again, and nothing this one writes, however soon, is skipped.
  const int64_t log_start = file_size(spec->log_path);
  const int64_t metrics_file_start =
      spec->metrics.source == "file" ? file_size(spec->metrics.file) : 0;
  auto pid = launcher_->launch(*spec);
  if (!pid.ok()) return report_launch_failure(*msg, "LaunchFailed", pid.status().message());

  TailOptions output;
  output.metrics = spec->metrics.source == "stdout";
  Replica replica{msg->job,
                  *pid,
                  session_.epoch,
                  LogTailer(spec->log_path, log_start, MetricLineParser(*formats), output),
                  /*fenced=*/false,
                  /*outlives_lease=*/msg->outlives_lease,
                  /*metrics_file=*/std::nullopt,
                  /*push=*/nullptr,
                  /*ns=*/msg->ns,
                  /*name=*/replica_name(msg->replica_type, msg->replica_index),
                  /*remove_files=*/false};
  if (spec->metrics.source == "file") {
    TailOptions file;
    if (owner) file.owner = owner->first;
    replica.metrics_file.emplace(spec->metrics.file, metrics_file_start, MetricLineParser(*formats),
                                 file);
  }
  replica.push = std::move(*push);
  replicas_.emplace(msg->uid, std::move(replica));
  publish_replicas();
  if (!msg->readiness_path.empty() && msg->port > 0) {
    prober_->watch({msg->uid, msg->job, options_.address, msg->port, msg->readiness_path});
  }
  spdlog::info("node={} replica={} job={} started pid={} port={} command={}", session_.node,
               msg->uid, msg->job, *pid, msg->port, spec->argv.front());
  protocol::ReplicaStarted started;
  started.uid = msg->uid;
  started.job = msg->job;
  started.pid = *pid;
  started.started_ms = wall_ms();
  send(MessageKind::kReplicaStarted, started);
}

void Agent::report_launch_failure(const protocol::LaunchReplica& msg, const std::string& reason,
                                  const std::string& message) {
  spdlog::warn("node={} replica={} job={} not started ({}): {}", session_.node, msg.uid, msg.job,
               reason, message);
  protocol::ReplicaExited exit;
  exit.uid = msg.uid;
  exit.job = msg.job;
  exit.exit_code = 127;  // what a shell reports for a command it could not run
  exit.reason = reason;
  exit.message = message;
  exit.finished_ms = wall_ms();
  report_exit(std::move(exit));
}

void Agent::on_kill(const protocol::Envelope& envelope) {
  auto msg = protocol::decode_body<protocol::KillReplica>(envelope, link_->limits());
  if (!msg.ok()) {
    spdlog::warn("node={} bad KillReplica: {}", session_.node, msg.status().message());
    return;
  }
  if (!is_current_epoch(envelope, "KillReplica")) return;
  if (auto it = replicas_.find(msg->uid); it != replicas_.end()) {
    spdlog::info("node={} replica={} job={} stopping (grace {} ms): {}", session_.node, msg->uid,
                 it->second.job, msg->grace_ms, msg->reason);
    const Status status = launcher_->terminate(msg->uid, milliseconds(msg->grace_ms));
    if (!status.ok())
      spdlog::error("node={} replica={} {}", session_.node, msg->uid, status.message());
    return;
  }
  if (auto pending = pending_exits_.find(msg->uid); pending != pending_exits_.end()) {
    send(MessageKind::kReplicaExited, pending->second);  // the coordinator missed it
    return;
  }
  spdlog::debug("node={} replica={} kill for an unknown replica ignored", session_.node, msg->uid);
}

void Agent::on_exited_ack(const protocol::Envelope& envelope) {
  auto ack = protocol::decode_body<protocol::ReplicaExitedAck>(envelope, link_->limits());
  if (ack.ok()) pending_exits_.erase(ack->uid);
}

void Agent::on_read_logs(const protocol::Envelope& envelope) {
  auto msg = protocol::decode_body<protocol::ReadLogs>(envelope, link_->limits());
  if (!msg.ok()) {
    spdlog::warn("node={} bad ReadLogs: {}", session_.node, msg.status().message());
    return;
  }
  protocol::LogsChunk chunk;
  chunk.uid = msg->uid;
  chunk.found = false;
  // The uid names a folder: anything that could walk out of replicas/ is unknown.
  if (is_safe_path_component(msg->uid)) {
    auto range =
        read_log_range(existing_log_path(options_.work_dir, msg->uid), msg->offset, msg->max_bytes);
    if (range.ok()) {
      chunk.found = true;
      chunk.offset = range->offset;
      chunk.data = std::move(range->data);
      chunk.size = range->size;
    }
  }
  send(MessageKind::kLogsChunk, chunk, envelope.header.id);
}

void Agent::on_remove_files(const protocol::Envelope& envelope) {
  auto msg = protocol::decode_body<protocol::RemoveReplicaFiles>(envelope, link_->limits());
  if (!msg.ok()) {
    spdlog::warn("node={} bad RemoveReplicaFiles: {}", session_.node, msg.status().message());
    return;
  }
  if (!is_current_epoch(envelope, "RemoveReplicaFiles")) return;
  if (Status bad = check_remove_request(*msg); !bad.ok()) {
    spdlog::warn("node={} job={} RemoveReplicaFiles refused: {}", session_.node, msg->job,
                 bad.message());
    return;
  }
  for (const auto& uid : replica_files_of(options_.work_dir, *msg)) {
    // One still stopping (a delete that timed out) keeps its files until it exits:
    // its log is still being written and tailed.
    if (auto live = replicas_.find(uid); live != replicas_.end()) {
      live->second.remove_files = true;
      continue;
    }
    remove_files_of(uid, msg->job);
  }
  send(MessageKind::kReplicaFilesRemoved, protocol::ReplicaFilesRemoved{msg->uid_prefix});
}

void Agent::remove_files_of(const std::string& uid, const std::string& job) {
  auto freed = remove_replica_files(options_.work_dir, uid);
  if (!freed.ok()) {
    spdlog::warn("node={} replica={} job={} files not removed: {}", session_.node, uid, job,
                 freed.status().message());
    return;
  }
  spdlog::info("node={} replica={} job={} deleted: removed its folder and log ({} bytes)",
               session_.node, uid, job, *freed);
}

void Agent::resend_exits() {
  for (const auto& [uid, exit] : pending_exits_) send(MessageKind::kReplicaExited, exit);
  session_.exits_resent = Clock::now();
}

void Agent::report_exit(protocol::ReplicaExited exit) {
  send(MessageKind::kReplicaExited, exit);
  std::string uid = exit.uid;
  pending_exits_[uid] = std::move(exit);
}

void Agent::send_metrics(const std::string& uid, const std::string& job,
                         std::vector<protocol::MetricSample> samples) {
  for (size_t begin = 0; begin < samples.size(); begin += kMaxSamplesPerReport) {
    const size_t end = std::min(samples.size(), begin + kMaxSamplesPerReport);
    protocol::MetricsReport report;
    report.uid = uid;
    report.job = job;
    report.samples.assign(std::make_move_iterator(samples.begin() + begin),
                          std::make_move_iterator(samples.begin() + end));
    if (link_->connected() && !session_.awaiting_reply && session_.epoch != 0) {
      send(MessageKind::kMetrics, report);
      continue;
    }
    // No session: a message now would be lost with the connection. Kept, and sent
    // once registered again, before the exits are resent, so a replica that ended
    // during a coordinator restart still has its last metrics when its exit lands.
    unsent_samples_ += report.samples.size();
    unsent_metrics_.push_back(std::move(report));
    while (unsent_samples_ > kMaxUnsentSamples) {
      unsent_samples_ -= unsent_metrics_.front().samples.size();
      dropped_samples_ += unsent_metrics_.front().samples.size();
      unsent_metrics_.pop_front();
    }
  }
}

void Agent::send_unsent_metrics() {
  if (dropped_samples_ > 0) {
    spdlog::warn("node={} dropped {} metric samples while the coordinator was away (kept {})",
                 session_.node, dropped_samples_, unsent_samples_);
  }
  for (const auto& report : unsent_metrics_) send(MessageKind::kMetrics, report);
  unsent_metrics_.clear();
  unsent_samples_ = 0;
  dropped_samples_ = 0;
}

void Agent::tail_logs() {
  const int64_t now = wall_ms();
  for (auto& [uid, replica] : replicas_) {
    send_metrics(uid, replica.job, replica.tailer.poll(now));
    if (replica.metrics_file) send_metrics(uid, replica.job, replica.metrics_file->poll(now));
    if (replica.push) send_metrics(uid, replica.job, replica.push->poll(now));
  }
}

void Agent::collect_exits() {
  for (auto& exited : launcher_->reap()) {
    auto it = replicas_.find(exited.uid);
    bool fenced = false;
    bool remove_files = false;
    if (it != replicas_.end()) {
      fenced = it->second.fenced && exited.signal == SIGKILL;
      // The last metrics go out before the exit, so the coordinator has them when
      // it decides the job's phase.
      send_metrics(exited.uid, exited.job, it->second.tailer.finish(wall_ms()));
      if (it->second.metrics_file) {
        send_metrics(exited.uid, exited.job, it->second.metrics_file->finish(wall_ms()));
      }
      if (it->second.push) send_metrics(exited.uid, exited.job, it->second.push->poll(wall_ms()));
      remove_files = it->second.remove_files;
      replicas_.erase(it);
      publish_replicas();
    }
    prober_->forget(exited.uid);
    protocol::ReplicaExited exit;
    exit.uid = exited.uid;
    exit.job = exited.job;
    exit.exit_code = exited.exit_code;
    exit.signal = exited.signal;
    exit.reason = fenced ? "LeaseExpired" : exited.reason;
    if (fenced) {
      exit.message = "killed when the node's lease of " + std::to_string(lease_.length.count()) +
                     " ms expired without a HeartbeatAck";
    } else if (exited.signal != 0) {
      exit.message = std::string("terminated by ") + strsignal(exited.signal);
    }
    spdlog::info("node={} replica={} job={} exited code={} signal={} reason={}", session_.node,
                 exited.uid, exited.job, exited.exit_code, exited.signal, exit.reason);
    exit.finished_ms = wall_ms();
    report_exit(std::move(exit));
    if (remove_files) remove_files_of(exited.uid, exited.job);
  }
}

void Agent::stop_replicas() {
  stopping_ = true;
  spdlog::info("node={} stopping {} replicas (grace {} ms)", session_.node, replicas_.size(),
               options_.shutdown_grace.count());
  for (const auto& [uid, replica] : replicas_) {
    const Status status = launcher_->terminate(uid, options_.shutdown_grace);
    if (!status.ok()) spdlog::error("node={} replica={} {}", session_.node, uid, status.message());
  }
  // Reap them (SIGKILL follows the grace), then give the coordinator a moment to
  // acknowledge the exits; what it misses it will learn as a lost node.
  const auto reaped_by = Clock::now() + options_.shutdown_grace + milliseconds(2000);
  const auto acked_by = [&] { return Clock::now() + milliseconds(1000); };
  auto deadline = reaped_by;
  bool reaped = false;
  while (Clock::now() < deadline) {
    if (!reaped && replicas_.empty()) {
      reaped = true;
      deadline = std::min(reaped_by, acked_by());
    }
    if (reaped && pending_exits_.empty()) break;
    poll_once(milliseconds(50));
    launcher_->escalate(Clock::now());
    collect_exits();
  }
}

}  // namespace cadre::agent
