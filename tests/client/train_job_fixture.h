// A TrainJob status as a coordinator would report it mid-run, shared by the
// rendering tests: one PS and two Workers, worker-1 restarted once after its node
// was lost.
#pragma once

#include <cstdint>

#include "protocol/messages.h"

namespace cadre::client::testing {

inline protocol::ReplicaStatus a_replica(const std::string& type, int32_t index, int32_t rank,
                                         const std::string& node, int32_t port) {
  protocol::ReplicaStatus replica;
  replica.type = type;
  replica.index = index;
  replica.rank = rank;
  replica.name =
      (type == "PS" ? std::string("ps") : std::string("worker")) + "-" + std::to_string(index);
  replica.uid = "mnist-" + replica.name + "-0";
  replica.state = protocol::ReplicaState::kRunning;
  replica.node = node;
  replica.address = node == "gpu-1" ? "10.0.0.1" : "10.0.0.2";
  replica.port = port;
  replica.epoch = 3;
  return replica;
}

// Created at now-125s, running since now-120s; worker-1 was restarted 30 s ago.
inline protocol::JobStatus a_ps_train_job(int64_t now_ms) {
  protocol::JobStatus job;
  job.name = "mnist";
  job.kind = "TrainJob";
  job.phase = protocol::JobPhase::kRunning;
  job.reason = "GangScheduled";
  job.created_ms = now_ms - 125000;
  job.started_ms = now_ms - 120000;
  job.restarts = 1;
  job.priority = 5;
  job.queue = "research";
  job.metrics = {{"accuracy", 0.875}, {"loss", 0.25}};

  protocol::ReplicaStatus ps = a_replica("PS", 0, 0, "gpu-1", 30001);
  ps.started_ms = now_ms - 120000;
  protocol::ReplicaStatus worker0 = a_replica("Worker", 0, 1, "gpu-1", 30002);
  worker0.gpu_indices = {0};
  worker0.started_ms = now_ms - 120000;
  protocol::ReplicaStatus worker1 = a_replica("Worker", 1, 2, "gpu-2", 30000);
  worker1.uid = "mnist-worker-1-1";
  worker1.gpu_indices = {0, 1};
  worker1.restarts = 1;
  worker1.exit_code = 137;
  worker1.reason = "NodeLost";
  worker1.started_ms = now_ms - 30000;
  job.replicas = {ps, worker0, worker1};

  job.replica_statuses["PS"] = protocol::ReplicaCounts{1, 0, 0};
  job.replica_statuses["Worker"] = protocol::ReplicaCounts{2, 0, 0};

  job.conditions = {
      {protocol::ConditionType::kCreated, protocol::ConditionStatus::kTrue, "TrainJobCreated", "",
       now_ms - 125000},
      {protocol::ConditionType::kRunning, protocol::ConditionStatus::kTrue, "GangScheduled",
       "all 3 replicas running", now_ms - 30000},
      {protocol::ConditionType::kRestarting, protocol::ConditionStatus::kFalse, "ReplicaRestarted",
       "worker-1: node gpu-3 lost", now_ms - 31000},
  };
  job.events.push_back(
      {now_ms - 31000, protocol::EventType::kWarning, "NodeLost", "worker-1 on gpu-3"});
  return job;
}

}  // namespace cadre::client::testing
