#include "actors/gang_rules.h"

#include <cctype>

namespace cadre::actors {

using protocol::ReplicaState;
using protocol::ReplicaStatus;
namespace reason = protocol::reason;
using Verdict = ExitDecision::Verdict;

std::string replica_name(const std::string& type, int32_t index) {
  std::string name;
  for (char c : type) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name + "-" + std::to_string(index);
}

std::vector<ReplicaStatus> initial_replicas(const spec::TrainJobSpec& spec) {
  std::vector<ReplicaStatus> out;
  for (const auto& type : spec::replica_types()) {
    const spec::ReplicaSpec* rs = spec.find(type);
    if (rs == nullptr) continue;
    for (int32_t i = 0; i < rs->replicas; ++i) {
      ReplicaStatus r;
      r.name = replica_name(type, i);
      r.type = type;
      r.index = i;
      r.rank = static_cast<int32_t>(out.size());
      r.state = ReplicaState::kPending;
      out.push_back(std::move(r));
    }
  }
  return out;
}

bool restarts_as_gang(const spec::TrainJobSpec& spec) { return spec.find("PS") == nullptr; }

namespace {

const ReplicaStatus* find(const std::vector<ReplicaStatus>& replicas, const std::string& type,
                          int32_t index) {
  for (const auto& r : replicas) {
    if (r.type == type && r.index == index) return &r;
  }
  return nullptr;
}

bool retryable(spec::RestartPolicy policy, const ReplicaStatus& r) {
  switch (policy) {
    case spec::RestartPolicy::kNever:
      return false;
    case spec::RestartPolicy::kOnFailure:
    case spec::RestartPolicy::kAlways:
      return true;
    case spec::RestartPolicy::kExitCode:
      // Kubeflow's convention: 128-255 (signals, OOM kills) are transient, 1-127 the
      // program's own verdict. A lost node says nothing about the program.
      return infrastructure_failure(r.reason) ||
             (r.exit_code && *r.exit_code >= 128 && *r.exit_code <= 255);
  }
  return false;
}

}  // namespace

bool infrastructure_failure(const std::string& why) {
  for (const char* infra : {reason::kNodeLost, reason::kReplicaLost, reason::kLeaseExpired,
                            reason::kPortInUse, reason::kLaunchLost}) {
    if (why == infra) return true;
  }
  return false;
}

bool job_succeeded(const spec::TrainJobSpec& spec, const std::vector<ReplicaStatus>& replicas) {
  auto done = [](const ReplicaStatus* r) {
    return r != nullptr && r->state == ReplicaState::kSucceeded;
  };
  if (spec.success_policy == spec::SuccessPolicy::kAllWorkers) {
    for (const auto& r : replicas) {
      const bool decides = r.type == "Worker" || r.type == "Chief" || r.type == "Master";
      if (decides && r.state != ReplicaState::kSucceeded) return false;
    }
    return true;
  }
  for (const char* leader : {"Main", "Chief", "Master", "Launcher"}) {
    if (spec.find(leader) != nullptr) return done(find(replicas, leader, 0));
  }
  return done(find(replicas, "Worker", 0));
}

std::string describe_exit(const ReplicaStatus& r, int32_t signal, const std::string& detail) {
  std::string text = "replica " + r.name;
  if (infrastructure_failure(r.reason)) {
    text += " lost (" + r.reason + ")";
  } else if (signal != 0) {
    text += " was killed by signal " + std::to_string(signal);
  } else {
    text += " exited with code " + std::to_string(r.exit_code.value_or(0));
  }
  if (!detail.empty()) text += ": " + detail;
  return text;
}

ExitDecision decide_after_exit(const spec::TrainJobSpec& spec,
                               const std::vector<ReplicaStatus>& replicas, size_t i,
                               int32_t restarts, int32_t port_retries) {
  const ReplicaStatus& r = replicas[i];
  const spec::ReplicaSpec* rs = spec.find(r.type);
  const auto policy = rs ? rs->restart_policy : spec::RestartPolicy::kNever;
  // A launch that never ran (lost with a crashed coordinator, or refused for a taken
  // port) is placed again whatever the policy, and free: the program has not
  // failed, it has not started.
  const bool never_ran = r.reason == reason::kLaunchLost ||
                         (r.reason == reason::kPortInUse && port_retries < kFreePortRetries);
  ExitDecision d;
  if (r.state == ReplicaState::kSucceeded) {
    if (job_succeeded(spec, replicas)) {
      d.verdict = Verdict::kSucceeded;
      d.reason = reason::kCompleted;
      d.message = spec.success_policy == spec::SuccessPolicy::kAllWorkers
                      ? "every worker exited with code 0"
                      : "replica " + r.name + " exited with code 0";
      return d;
    }
    if (policy != spec::RestartPolicy::kAlways) return d;
  } else if (!never_ran && !retryable(policy, r)) {
    d.verdict = Verdict::kFail;
    d.reason = r.reason.empty() ? reason::kError : r.reason;
    return d;
  }
  // A launch that never reached the node is not the program's fault: free retry.
  d.counts = !never_ran;
  if (d.counts && restarts >= spec.run_policy.backoff_limit) {
    d.verdict = Verdict::kFail;
    d.reason = reason::kBackoffLimitExceeded;
    d.message =
        "backoffLimit of " + std::to_string(spec.run_policy.backoff_limit) + " restarts reached";
    return d;
  }
  // An in-place restart keeps the node and port its peers know; after a lost node
  // or a taken port that is impossible, so even a PS job moves as a whole.
  const bool moved = infrastructure_failure(r.reason);
  d.verdict = restarts_as_gang(spec) || moved ? Verdict::kRestartGang : Verdict::kRestartReplica;
  d.reason = protocol::to_string(protocol::JobPhase::kRestarting);
  return d;
}

}  // namespace cadre::actors
