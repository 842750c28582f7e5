#include "protocol/messages.h"

namespace cadre::protocol {

const char* kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::kInvalid:
      return "Invalid";
    case MessageKind::kRegister:
      return "Register";
    case MessageKind::kRegisterReply:
      return "RegisterReply";
    case MessageKind::kHeartbeat:
      return "Heartbeat";
    case MessageKind::kHeartbeatAck:
      return "HeartbeatAck";
    case MessageKind::kLaunchReplica:
      return "LaunchReplica";
    case MessageKind::kKillReplica:
      return "KillReplica";
    case MessageKind::kReplicaStarted:
      return "ReplicaStarted";
    case MessageKind::kReplicaExited:
      return "ReplicaExited";
    case MessageKind::kReplicaExitedAck:
      return "ReplicaExitedAck";
    case MessageKind::kMetrics:
      return "Metrics";
    case MessageKind::kReadLogs:
      return "ReadLogs";
    case MessageKind::kLogsChunk:
      return "LogsChunk";
    case MessageKind::kReplicaReady:
      return "ReplicaReady";
    case MessageKind::kRemoveReplicaFiles:
      return "RemoveReplicaFiles";
    case MessageKind::kReplicaFilesRemoved:
      return "ReplicaFilesRemoved";
    case MessageKind::kApply:
      return "Apply";
    case MessageKind::kApplyReply:
      return "ApplyReply";
    case MessageKind::kGet:
      return "Get";
    case MessageKind::kGetReply:
      return "GetReply";
    case MessageKind::kDelete:
      return "Delete";
    case MessageKind::kDeleteReply:
      return "DeleteReply";
    case MessageKind::kLogs:
      return "Logs";
    case MessageKind::kLogsReply:
      return "LogsReply";
    case MessageKind::kTokenCreate:
      return "TokenCreate";
    case MessageKind::kTokenCreateReply:
      return "TokenCreateReply";
    case MessageKind::kRetry:
      return "Retry";
    case MessageKind::kRetryReply:
      return "RetryReply";
    case MessageKind::kMetricsHistory:
      return "MetricsHistory";
    case MessageKind::kMetricsHistoryReply:
      return "MetricsHistoryReply";
    case MessageKind::kCordon:
      return "Cordon";
    case MessageKind::kCordonReply:
      return "CordonReply";
    case MessageKind::kSuspend:
      return "Suspend";
    case MessageKind::kSuspendReply:
      return "SuspendReply";
    case MessageKind::kError:
      return "Error";
    case MessageKind::kRoutes:
      return "Routes";
    case MessageKind::kRoutesReply:
      return "RoutesReply";
    case MessageKind::kApi:
      return "Api";
  }
  return "Unknown";
}

bool is_known_kind(MessageKind kind) {
  return kind != MessageKind::kInvalid && std::string_view(kind_name(kind)) != "Unknown";
}

}  // namespace cadre::protocol
