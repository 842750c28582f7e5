// Prints the client wire as protocol/messages.h defines it — every message kind
// with its number, every status code an ErrorReply may carry, every struct a client sends or reads
// with its field names in order, every state enum with its names — as one JSON document. The Python
// SDK's python/cadre/_wire_schema.py is generated from it (scripts/gen-python-wire.sh) and
// tests/python/test_wire_schema.py fails when the two differ, so the two sides of the wire cannot
// drift apart.
#include <iostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/codec.h"
#include "protocol/messages.h"
#include "protocol/status.h"

namespace {

using namespace cadre::protocol;

// A default instance's field names, as MSGPACK_DEFINE_MAP writes them.
template <typename T>
nlohmann::json fields() {
  const std::string bytes = encode(T{});
  msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
  nlohmann::json names = nlohmann::json::array();
  const msgpack::object_map& map = handle.get().via.map;
  for (uint32_t i = 0; i < map.size; ++i) names.push_back(map.ptr[i].key.as<std::string>());
  return names;
}

template <typename E>
nlohmann::json names() {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [value, name] : EnumNames<E>::kTable) out.push_back(std::string(name));
  return out;
}

}  // namespace

int main() {
  nlohmann::json kinds = nlohmann::json::object();
  // The client wire's kinds (200-299); the agent and ingress wires are not the SDK's.
  for (int k = 200; k < 300; ++k) {
    const auto kind = static_cast<MessageKind>(k);
    if (is_known_kind(kind)) kinds[kind_name(kind)] = k;
  }
  nlohmann::json messages = {
      {"Header", fields<Header>()},
      {"ErrorReply", fields<ErrorReply>()},
      {"ApplyRequest", fields<ApplyRequest>()},
      {"ApplyReply", fields<ApplyReply>()},
      {"GetRequest", fields<GetRequest>()},
      {"GetReply", fields<GetReply>()},
      {"DeleteRequest", fields<DeleteRequest>()},
      {"DeleteReply", fields<DeleteReply>()},
      {"LogsRequest", fields<LogsRequest>()},
      {"LogsReply", fields<LogsReply>()},
      {"RetryRequest", fields<RetryRequest>()},
      {"RetryReply", fields<RetryReply>()},
      {"CordonRequest", fields<CordonRequest>()},
      {"CordonReply", fields<CordonReply>()},
      {"SuspendRequest", fields<SuspendRequest>()},
      {"SuspendReply", fields<SuspendReply>()},
      {"TokenCreateRequest", fields<TokenCreateRequest>()},
      {"TokenCreateReply", fields<TokenCreateReply>()},
      {"TokenInfo", fields<TokenInfo>()},
      {"MetricsHistoryRequest", fields<MetricsHistoryRequest>()},
      {"MetricsHistoryReply", fields<MetricsHistoryReply>()},
      {"MetricPoint", fields<MetricPoint>()},
      {"NodeStatus", fields<NodeStatus>()},
      {"QueueStatus", fields<QueueStatus>()},
      {"ResourceAmounts", fields<ResourceAmounts>()},
      {"JobStatus", fields<JobStatus>()},
      {"JobEvent", fields<JobEvent>()},
      {"JobCondition", fields<JobCondition>()},
      {"ReplicaStatus", fields<ReplicaStatus>()},
      {"ReplicaCounts", fields<ReplicaCounts>()},
      {"MetricsCollection", fields<MetricsCollection>()},
      {"ExperimentStatus", fields<ExperimentStatus>()},
      {"TrialStatus", fields<TrialStatus>()},
      {"OptimalTrial", fields<OptimalTrial>()},
      {"InferenceServiceStatus", fields<InferenceServiceStatus>()},
      {"ServiceCondition", fields<ServiceCondition>()},
      {"TrafficTarget", fields<TrafficTarget>()},
      {"RevisionStatus", fields<RevisionStatus>()},
      {"ServiceReplica", fields<ServiceReplica>()},
      {"PipelineInfo", fields<PipelineInfo>()},
      {"PipelineVersion", fields<PipelineVersion>()},
      {"PipelineParameter", fields<PipelineParameter>()},
      {"PipelineRunStatus", fields<PipelineRunStatus>()},
      {"PipelineTaskStatus", fields<PipelineTaskStatus>()},
      {"PipelineArtifact", fields<PipelineArtifact>()},
      {"RecurringRunStatus", fields<RecurringRunStatus>()},
      {"NotebookStatus", fields<NotebookStatus>()},
  };
  nlohmann::json enums = {
      {"JobPhase", names<JobPhase>()},
      {"ReplicaState", names<ReplicaState>()},
      {"NodeState", names<NodeState>()},
      {"ConditionType", names<ConditionType>()},
      {"ConditionStatus", names<ConditionStatus>()},
      {"EventType", names<EventType>()},
      {"ExperimentPhase", names<ExperimentPhase>()},
      {"TrialPhase", names<TrialPhase>()},
      {"ServiceReplicaState", names<ServiceReplicaState>()},
      {"ServiceConditionType", names<ServiceConditionType>()},
      {"PipelineState", names<PipelineState>()},
      {"PipelineTaskKind", names<PipelineTaskKind>()},
      {"NotebookPhase", names<NotebookPhase>()},
  };
  nlohmann::json codes = nlohmann::json::array();
  for (int c = 0; c <= static_cast<int>(cadre::StatusCode::kInternal); ++c) {
    codes.push_back(cadre::status_code_name(static_cast<cadre::StatusCode>(c)));
  }
  std::cout << nlohmann::json{{"protocol_version", kProtocolVersion},
                              {"status_codes", codes},
                              {"kinds", kinds},
                              {"messages", messages},
                              {"enums", enums}}
                   .dump(1)
            << "\n";
  return 0;
}
