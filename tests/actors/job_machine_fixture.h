// The job supervisor's state machine under test: effect helpers, specs and a
// fixture that feeds events and answers its writes as the store would. Shared by
// the job state machine's test files.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "actors/job_state_machine.h"

namespace cadre::actors::job_state_machine_test {

using protocol::ConditionStatus;
using protocol::ConditionType;
using protocol::JobPhase;
using protocol::ReplicaState;
using Kind = JobTimer::Kind;
namespace fx = job_effect;
namespace reason = protocol::reason;

// ---- effect helpers ---------------------------------------------------------

template <typename E>
inline std::vector<E> all(const JobEffects& effects) {
  std::vector<E> out;
  for (const auto& e : effects) {
    if (const auto* x = std::get_if<E>(&e)) out.push_back(*x);
  }
  return out;
}
template <typename E>
inline size_t count(const JobEffects& effects) {
  return all<E>(effects).size();
}
inline std::vector<JobTimer> timers(const JobEffects& effects, Kind kind) {
  std::vector<JobTimer> out;
  for (const auto& t : all<fx::StartTimer>(effects)) {
    if (t.timer.kind == kind) out.push_back(t.timer);
  }
  return out;
}
inline std::vector<std::string> launched_uids(const JobEffects& effects) {
  std::vector<std::string> out;
  for (const auto& l : all<fx::Launch>(effects)) out.push_back(l.launch.uid);
  return out;
}
inline std::vector<std::string> killed_uids(const JobEffects& effects) {
  std::vector<std::string> out;
  for (const auto& k : all<fx::Kill>(effects)) out.push_back(k.kill.uid);
  return out;
}
inline void append(JobEffects& to, const JobEffects& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// ---- specs -----------------------------------------------------------------

inline spec::ReplicaSpec replica_spec(const std::string& type, int count,
                                      spec::RestartPolicy policy) {
  spec::ReplicaSpec rs;
  rs.type = type;
  rs.replicas = count;
  rs.restart_policy = policy;
  rs.tmpl.command = {"train"};
  rs.tmpl.resources.cpu_millis = 1000;
  return rs;
}

inline spec::TrainJobSpec gang(int workers,
                               spec::RestartPolicy policy = spec::RestartPolicy::kOnFailure) {
  spec::TrainJobSpec s;
  s.metadata.name = "fmnist";
  s.metadata.ns = "default";
  s.replica_specs.push_back(replica_spec("Worker", workers, policy));
  s.run_policy.backoff_limit = 2;
  return s;
}

inline spec::TrainJobSpec ps_job() {
  spec::TrainJobSpec s = gang(2);
  s.replica_specs.insert(s.replica_specs.begin(),
                         replica_spec("PS", 1, spec::RestartPolicy::kOnFailure));
  return s;
}

inline spec::TrainJobSpec single_job(spec::RestartPolicy policy = spec::RestartPolicy::kNever) {
  spec::TrainJobSpec s;
  s.metadata.name = "hello";
  s.metadata.ns = "default";
  s.replica_specs.push_back(replica_spec("Main", 1, policy));
  return s;
}

inline protocol::ReplicaExited exit_of(const std::string& uid, int code, int signal = 0) {
  protocol::ReplicaExited e;
  e.uid = uid;
  e.job = "fmnist";
  e.exit_code = code;
  e.signal = signal;
  return e;
}

// ---- fixture -----------------------------------------------------------------

class JobMachine : public ::testing::Test {
 protected:
  JobEffects start(spec::TrainJobSpec s, JobRecord record = {}, bool restored = false) {
    if (record.status.name.empty()) record.status.name = s.metadata.name;
    if (record.status.created_ms == 0) record.status.created_ms = now;
    record.token = "token";
    JobMachineOptions options;
    options.policy.checkpoint_root = "/ckpt";
    options.policy.kill_grace = std::chrono::milliseconds(1000);
    options.policy.lost_after = std::chrono::milliseconds(15000);
    options.policy.store_retry = retry;
    options.now_ms = [this] { return now; };
    m = std::make_unique<JobStateMachine>(std::move(record), std::move(s), options);
    return restored ? m->restore() : m->create();
  }

  // Answers every Persist in `effects` (and in what those answers release) as the
  // store would: Ok, or the failure set in store_error.
  JobEffects settle(JobEffects effects) {
    JobEffects out = effects;
    for (size_t i = 0; i < out.size(); ++i) {
      if (const auto* p = std::get_if<fx::Persist>(&out[i])) {
        append(out, m->on_stored(p->seq, store_error));
      }
    }
    return out;
  }

  // Places every replica on nodes a, b, ... (ports 9000+rank) and lets the store answer.
  JobEffects place() {
    std::vector<Placement> placements;
    for (size_t i = 0; i < m->record().status.replicas.size(); ++i) {
      Placement p;
      p.node = std::string(1, static_cast<char>('a' + i));
      p.address = "10.0.0." + std::to_string(i + 1);
      p.epoch = 7;
      p.port = 9000 + static_cast<int32_t>(i);
      placements.push_back(p);
    }
    return settle(m->on_placed(attempt(), placements));
  }

  int64_t attempt() const { return placement_attempt; }

  JobEffects track(JobEffects effects) {
    for (const auto& r : all<fx::RequestPlacement>(effects)) placement_attempt = r.gang.attempt;
    return effects;
  }

  const protocol::ReplicaStatus& replica(size_t i) const { return m->record().status.replicas[i]; }
  std::string uid(size_t i) const { return replica(i).uid; }
  std::string node(size_t i) const { return replica(i).node; }

  // Starts every replica and returns the effects.
  JobEffects start_all() {
    JobEffects out;
    for (size_t i = 0; i < m->record().status.replicas.size(); ++i) {
      protocol::ReplicaStarted started;
      started.uid = uid(i);
      started.pid = 100 + static_cast<int64_t>(i);
      append(out, settle(m->on_started(node(i), started)));
    }
    return out;
  }

  JobEffects running(spec::TrainJobSpec s) {
    track(start(std::move(s)));
    place();
    return start_all();
  }

  JobEffects exit(size_t i, int code) {
    return track(settle(m->on_exited(node(i), exit_of(uid(i), code))));
  }

  const protocol::JobStatus& status() const { return m->record().status; }

  int64_t now = 1'700'000'000'000;
  StoreRetryPolicy retry{std::chrono::milliseconds(100), std::chrono::milliseconds(800), 4};
  Status store_error;
  int64_t placement_attempt = 0;
  std::unique_ptr<JobStateMachine> m;
};

}  // namespace cadre::actors::job_state_machine_test
