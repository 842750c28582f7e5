// The real Coordinator: a CURVE DEALER socket to the coordinator's client port.
//
// A socket monitor watches the handshake so that a refused key or a wrong server
// key is reported as such, instead of as a silent timeout (ZeroMQ otherwise
// retries the handshake forever and the request just never gets an answer).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "client/coordinator.h"
#include "protocol/framing.h"
#include "protocol/limits.h"

namespace cadre::client {

struct CoordinatorClientOptions {
  std::string endpoint = "tcp://127.0.0.1:7071";  // coordinator client port
  std::string server_key_file;                    // coordinator's public key (.pub or .key)
  std::string key_file;                           // our key pair (.key)
  bool insecure = false;  // no CURVE: only for a coordinator run the same way
  // How long one request may wait for its reply, handshake included.
  std::chrono::milliseconds timeout{10000};
  int64_t max_message_bytes = protocol::kDefaultMaxMessageBytes;  // ZMQ_MAXMSGSIZE
};

// Maps an ErrorReply code name ("NotFound") back to its StatusCode; unknown names
// become kInternal so that nothing the peer sends is lost, only generalised.
StatusCode status_code_from_name(const std::string& name);

class CoordinatorClient : public Coordinator {
 public:
  // Reads the keys and connects (ZeroMQ connects lazily: nothing is sent yet).
  static Result<std::unique_ptr<CoordinatorClient>> Create(const CoordinatorClientOptions& options);
  ~CoordinatorClient() override;

  Result<protocol::ApplyReply> apply(const protocol::ApplyRequest& request) override;
  Result<protocol::GetReply> get(const protocol::GetRequest& request) override;
  Result<protocol::DeleteReply> remove(const protocol::DeleteRequest& request) override;
  Result<protocol::LogsReply> logs(const protocol::LogsRequest& request) override;
  Result<protocol::RetryReply> retry(const protocol::RetryRequest& request) override;
  Result<protocol::CordonReply> cordon(const protocol::CordonRequest& request) override;
  Result<protocol::SuspendReply> suspend(const protocol::SuspendRequest& request) override;
  Result<protocol::MetricsHistoryReply> metrics_history(
      const protocol::MetricsHistoryRequest& request) override;
  Result<protocol::TokenCreateReply> create_token(
      const protocol::TokenCreateRequest& request) override;
  // On the ingress port, with an ingress key: the routing table.
  Result<protocol::RoutesReply> routes(const protocol::RoutesRequest& request);
  // On the ingress port, with an ingress key: a user's API call, by its verb.
  Result<protocol::GetReply> api_get(const protocol::ApiRequest& request);
  Result<protocol::ApplyReply> api_apply(const protocol::ApiRequest& request);
  Result<protocol::DeleteReply> api_delete(const protocol::ApiRequest& request);
  Result<protocol::SuspendReply> api_suspend(const protocol::ApiRequest& request);
  Result<protocol::LogsReply> api_logs(const protocol::ApiRequest& request);
  Result<protocol::MetricsHistoryReply> api_metrics(const protocol::ApiRequest& request);

 private:
  explicit CoordinatorClient(CoordinatorClientOptions options);
  Status connect();

  // Sends one request and waits for the reply that names it (replies to earlier
  // requests that timed out are skipped), watching the handshake meanwhile.
  Result<protocol::Envelope> exchange(protocol::MessageKind kind, const std::string& body,
                                      protocol::MessageKind reply_kind);
  // Turns one monitor event into an error when it means we will never be answered.
  Status on_monitor_event();
  Status timeout_error() const;

  template <typename Reply, typename Request>
  Result<Reply> call(protocol::MessageKind kind, protocol::MessageKind reply_kind,
                     const Request& request);

  CoordinatorClientOptions options_;
  protocol::DecodeLimits limits_;
  zmq::context_t context_;
  zmq::socket_t dealer_;
  zmq::socket_t monitor_;
  uint64_t next_id_ = 1;
  bool connected_ = false;  // a TCP connection was made at least once
  bool handshake_done_ = false;
};

}  // namespace cadre::client
