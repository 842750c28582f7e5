// What the CLI asks of a coordinator: the client requests of protocol/messages.h.
// Commands depend on this small interface so their logic (polling, waiting,
// following logs) is tested against a fake; CoordinatorClient is the real one.
#pragma once

#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::client {

class Coordinator {
 public:
  virtual ~Coordinator() = default;
  // Each returns the reply, the coordinator's ErrorReply as a Status (same code
  // name, its message verbatim), or a transport error.
  virtual Result<protocol::ApplyReply> apply(const protocol::ApplyRequest& request) = 0;
  virtual Result<protocol::GetReply> get(const protocol::GetRequest& request) = 0;
  virtual Result<protocol::DeleteReply> remove(const protocol::DeleteRequest& request) = 0;
  virtual Result<protocol::LogsReply> logs(const protocol::LogsRequest& request) = 0;
  virtual Result<protocol::TokenCreateReply> create_token(
      const protocol::TokenCreateRequest& request) = 0;
  virtual Result<protocol::RetryReply> retry(const protocol::RetryRequest& request) = 0;
  virtual Result<protocol::MetricsHistoryReply> metrics_history(
      const protocol::MetricsHistoryRequest& request) = 0;
  virtual Result<protocol::CordonReply> cordon(const protocol::CordonRequest& request) = 0;
  virtual Result<protocol::SuspendReply> suspend(const protocol::SuspendRequest& request) = 0;
};

}  // namespace cadre::client
