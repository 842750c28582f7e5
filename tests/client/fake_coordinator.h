// A scripted Coordinator for the client's command tests: answers come from
// queues (the last answer repeats once a script runs out), and cordons and
// suspensions are kept per node and per job as the coordinator keeps them.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "client/coordinator.h"

namespace cadre::client {

class FakeCoordinator : public Coordinator {
 public:
  std::deque<Result<protocol::GetReply>> gets;
  std::deque<Result<protocol::LogsReply>> logs_replies;
  std::vector<protocol::LogsRequest> logs_requests;
  std::deque<Result<protocol::MetricsHistoryReply>> metrics_replies;
  std::vector<protocol::MetricsHistoryRequest> metrics_requests;
  std::vector<protocol::ApplyRequest> applies;
  std::vector<protocol::GetRequest> get_requests;
  std::vector<protocol::DeleteRequest> delete_requests;
  int get_calls = 0;

  Result<protocol::ApplyReply> apply(const protocol::ApplyRequest& request) override {
    applies.push_back(request);
    if (request.manifest.find("bad") != std::string::npos) {
      return InvalidArgument("spec.template.command: must not be empty");
    }
    return protocol::ApplyReply{"Job", "n" + std::to_string(applies.size()), "created"};
  }
  Result<protocol::GetReply> get(const protocol::GetRequest& request) override {
    ++get_calls;
    get_requests.push_back(request);
    return next(gets);
  }
  Result<protocol::TokenCreateReply> create_token(
      const protocol::TokenCreateRequest& request) override {
    protocol::TokenCreateReply reply;
    reply.info.ns = request.ns;
    reply.token = "cadre_test";
    return reply;
  }
  Result<protocol::RetryReply> retry(const protocol::RetryRequest& request) override {
    return protocol::RetryReply{request.name, 1};
  }
  // Cordons are kept per node, as the registry keeps them; unknown nodes are NotFound.
  std::map<std::string, bool> cordoned;
  std::vector<protocol::CordonRequest> cordons;
  Result<protocol::CordonReply> cordon(const protocol::CordonRequest& request) override {
    cordons.push_back(request);
    auto it = cordoned.find(request.node);
    if (it == cordoned.end()) return NotFound("node/" + request.node + " not found");
    const bool changed = it->second != request.cordon;
    it->second = request.cordon;
    return protocol::CordonReply{request.node, request.cordon, changed};
  }
  // Suspensions are kept per job, as its supervisor keeps them; unknown jobs are NotFound.
  std::map<std::string, bool> suspended;
  std::vector<protocol::SuspendRequest> suspends;
  Result<protocol::SuspendReply> suspend(const protocol::SuspendRequest& request) override {
    suspends.push_back(request);
    auto it = suspended.find(request.name);
    if (it == suspended.end()) return NotFound("trainjob/" + request.name + " not found");
    const bool changed = it->second != request.suspend;
    it->second = request.suspend;
    return protocol::SuspendReply{
        request.name,
        request.suspend ? protocol::JobPhase::kSuspended : protocol::JobPhase::kQueued, changed};
  }
  Result<protocol::MetricsHistoryReply> metrics_history(
      const protocol::MetricsHistoryRequest& request) override {
    metrics_requests.push_back(request);
    return next(metrics_replies);
  }
  Result<protocol::DeleteReply> remove(const protocol::DeleteRequest& request) override {
    delete_requests.push_back(request);
    return protocol::DeleteReply{request.name};
  }
  Result<protocol::LogsReply> logs(const protocol::LogsRequest& request) override {
    logs_requests.push_back(request);
    if (!logs_by_replica.empty()) return next(logs_by_replica.at(request.replica));
    return next(logs_replies);
  }
  // When set, each replica's log answers from its own script.
  std::map<std::string, std::deque<Result<protocol::LogsReply>>> logs_by_replica;

 private:
  template <typename T>
  static T next(std::deque<T>& script) {
    T value = script.front();
    if (script.size() > 1) script.pop_front();
    return value;
  }
};

}  // namespace cadre::client
