#include "client/coordinator_client.h"

#include <atomic>
#include <cstring>

#include "protocol/checks.h"
#include "protocol/curve_keys.h"

namespace cadre::client {
namespace {

using protocol::MessageKind;
using Clock = std::chrono::steady_clock;

// Each client gets its own inproc address for its monitor; tests run several.
std::string monitor_address(const void* self) {
  static std::atomic<uint64_t> counter{0};
  return "inproc://cadre-client-monitor-" + std::to_string(counter++) + "-" +
         std::to_string(reinterpret_cast<uintptr_t>(self));
}

std::string hex(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "0x%x", value);
  return buffer;
}

}  // namespace

StatusCode status_code_from_name(const std::string& name) {
  for (int c = static_cast<int>(StatusCode::kOk); c <= static_cast<int>(StatusCode::kInternal);
       ++c) {
    if (name == status_code_name(static_cast<StatusCode>(c))) return static_cast<StatusCode>(c);
  }
  return StatusCode::kInternal;
}

CoordinatorClient::CoordinatorClient(CoordinatorClientOptions options)
    : options_(std::move(options)),
      context_(1),
      dealer_(context_, zmq::socket_type::dealer),
      monitor_(context_, zmq::socket_type::pair) {
  limits_.max_string_bytes = static_cast<size_t>(options_.max_message_bytes);
}

CoordinatorClient::~CoordinatorClient() {
  // Stop the monitor before its sockets close, else libzmq may block on it.
  zmq_socket_monitor(dealer_.handle(), nullptr, 0);
}

Result<std::unique_ptr<CoordinatorClient>> CoordinatorClient::Create(
    const CoordinatorClientOptions& options) {
  std::unique_ptr<CoordinatorClient> client(new CoordinatorClient(options));
  RETURN_IF_ERROR(client->connect());
  return client;
}

Status CoordinatorClient::connect() {
  const int timeout_ms = static_cast<int>(options_.timeout.count());
  ZMQCHECK({
    dealer_.set(zmq::sockopt::linger, 0);
    dealer_.set(zmq::sockopt::maxmsgsize, options_.max_message_bytes);
    // A send never blocks longer than a request may take in all.
    dealer_.set(zmq::sockopt::sndtimeo, timeout_ms);
    monitor_.set(zmq::sockopt::linger, 0);
  });
  if (!options_.insecure) {
    auto server_key = protocol::read_public_key(options_.server_key_file);
    if (!server_key.ok()) return server_key.status().annotate("server_key");
    auto pair = protocol::read_keypair(options_.key_file);
    if (!pair.ok()) return pair.status().annotate("key");
    RETURN_IF_ERROR(protocol::make_curve_client(dealer_, *pair, *server_key));
  }
  const std::string address = monitor_address(this);
  const int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  if (zmq_socket_monitor(dealer_.handle(), address.c_str(), events) != 0) {
    return Internal(std::string("zmq_socket_monitor failed: ") + zmq_strerror(zmq_errno()));
  }
  ZMQCHECK(monitor_.connect(address));
  Status status = ZMQ_STATUS(dealer_.connect(options_.endpoint));
  if (!status.ok()) {
    return InvalidArgument("cannot connect to coordinator endpoint '" + options_.endpoint +
                           "': " + status.message());
  }
  return Status::Ok();
}

Status CoordinatorClient::on_monitor_event() {
  zmq::message_t event_frame, address_frame;
  Status status = ZMQ_STATUS({
    (void)monitor_.recv(event_frame, zmq::recv_flags::dontwait);
    if (event_frame.more()) (void)monitor_.recv(address_frame, zmq::recv_flags::dontwait);
  });
  RETURN_IF_ERROR(status);
  // Frame 1 is a 16-bit event id followed by a 32-bit value (libzmq's layout).
  if (event_frame.size() < 6) return Status::Ok();
  uint16_t event = 0;
  uint32_t value = 0;
  std::memcpy(&event, event_frame.data(), sizeof(event));
  std::memcpy(&value, static_cast<const char*>(event_frame.data()) + 2, sizeof(value));
  switch (event) {
    case ZMQ_EVENT_CONNECTED:
      connected_ = true;
      return Status::Ok();
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      handshake_done_ = true;
      return Status::Ok();
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      return PermissionDenied(
          "the coordinator refused this client's key (not in its client allowlist): " +
          options_.key_file);
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: {
      // The coordinator drops a handshake it cannot decrypt: with CURVE that means
      // our idea of its public key is wrong, or one side runs without CURVE.
      const std::string detail = event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                     ? " (protocol error " + hex(value) + ")"
                                     : "";
      const std::string hint =
          options_.insecure
              ? "this client runs insecure (no CURVE); does the coordinator expect CURVE?"
              : "is " + options_.server_key_file +
                    " the coordinator's public key, and does the coordinator use CURVE?";
      return PermissionDenied("security handshake with the coordinator at " + options_.endpoint +
                              " failed" + detail + ": " + hint);
    }
    default:
      return Status::Ok();
  }
}

Status CoordinatorClient::timeout_error() const {
  if (handshake_done_) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%gs", options_.timeout.count() / 1000.0);
    return DeadlineExceeded("the coordinator at " + options_.endpoint + " did not answer within " +
                            seconds);
  }
  return Unavailable("no answer from coordinator at " + options_.endpoint + ": is it running?");
}

Result<protocol::Envelope> CoordinatorClient::exchange(MessageKind kind, const std::string& body,
                                                       MessageKind reply_kind) {
  protocol::Header header;
  header.kind = kind;
  header.id = next_id_++;
  RETURN_IF_ERROR(send_envelope(dealer_, "", false, header, body));

  const auto deadline = Clock::now() + options_.timeout;
  while (true) {
    const auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) return timeout_error();
    zmq::pollitem_t items[] = {{dealer_.handle(), 0, ZMQ_POLLIN, 0},
                               {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
    ZMQCHECK(zmq::poll(items, 2, remaining));
    if (items[1].revents & ZMQ_POLLIN) RETURN_IF_ERROR(on_monitor_event());
    if (!(items[0].revents & ZMQ_POLLIN)) continue;

    auto envelope = protocol::recv_envelope(dealer_, false, limits_);
    if (!envelope.ok()) {
      if (envelope.status().code() == StatusCode::kUnavailable) continue;
      return DataLoss("unreadable reply from the coordinator: " + envelope.status().message());
    }
    if (envelope->header.reply_to != header.id) continue;  // a late reply to an older request
    if (envelope->header.kind == MessageKind::kError) {
      auto error = protocol::decode_body<protocol::ErrorReply>(*envelope, limits_);
      if (!error.ok()) return DataLoss("unreadable error reply: " + error.status().message());
      return Status(status_code_from_name(error->code), error->message);
    }
    if (envelope->header.kind != reply_kind) {
      return DataLoss(std::string("the coordinator answered ") + protocol::kind_name(kind) +
                      " with " + protocol::kind_name(envelope->header.kind));
    }
    return std::move(envelope).value();
  }
}

template <typename Reply, typename Request>
Result<Reply> CoordinatorClient::call(MessageKind kind, MessageKind reply_kind,
                                      const Request& request) {
  ASSIGN_OR_RETURN(protocol::Envelope envelope,
                   exchange(kind, protocol::encode(request), reply_kind));
  return protocol::decode_body<Reply>(envelope, limits_);
}

Result<protocol::ApplyReply> CoordinatorClient::apply(const protocol::ApplyRequest& request) {
  return call<protocol::ApplyReply>(MessageKind::kApply, MessageKind::kApplyReply, request);
}

Result<protocol::GetReply> CoordinatorClient::get(const protocol::GetRequest& request) {
  return call<protocol::GetReply>(MessageKind::kGet, MessageKind::kGetReply, request);
}

Result<protocol::DeleteReply> CoordinatorClient::remove(const protocol::DeleteRequest& request) {
  return call<protocol::DeleteReply>(MessageKind::kDelete, MessageKind::kDeleteReply, request);
}

Result<protocol::LogsReply> CoordinatorClient::logs(const protocol::LogsRequest& request) {
  return call<protocol::LogsReply>(MessageKind::kLogs, MessageKind::kLogsReply, request);
}

Result<protocol::TokenCreateReply> CoordinatorClient::create_token(
    const protocol::TokenCreateRequest& request) {
  return call<protocol::TokenCreateReply>(MessageKind::kTokenCreate, MessageKind::kTokenCreateReply,
                                          request);
}

Result<protocol::RetryReply> CoordinatorClient::retry(const protocol::RetryRequest& request) {
  return call<protocol::RetryReply>(MessageKind::kRetry, MessageKind::kRetryReply, request);
}

Result<protocol::CordonReply> CoordinatorClient::cordon(const protocol::CordonRequest& request) {
  return call<protocol::CordonReply>(MessageKind::kCordon, MessageKind::kCordonReply, request);
}

Result<protocol::SuspendReply> CoordinatorClient::suspend(const protocol::SuspendRequest& request) {
  return call<protocol::SuspendReply>(MessageKind::kSuspend, MessageKind::kSuspendReply, request);
}

Result<protocol::MetricsHistoryReply> CoordinatorClient::metrics_history(
    const protocol::MetricsHistoryRequest& request) {
  return call<protocol::MetricsHistoryReply>(MessageKind::kMetricsHistory,
                                             MessageKind::kMetricsHistoryReply, request);
}

Result<protocol::RoutesReply> CoordinatorClient::routes(const protocol::RoutesRequest& request) {
  return call<protocol::RoutesReply>(MessageKind::kRoutes, MessageKind::kRoutesReply, request);
}

Result<protocol::GetReply> CoordinatorClient::api_get(const protocol::ApiRequest& request) {
  return call<protocol::GetReply>(MessageKind::kApi, MessageKind::kGetReply, request);
}

Result<protocol::ApplyReply> CoordinatorClient::api_apply(const protocol::ApiRequest& request) {
  return call<protocol::ApplyReply>(MessageKind::kApi, MessageKind::kApplyReply, request);
}

Result<protocol::DeleteReply> CoordinatorClient::api_delete(const protocol::ApiRequest& request) {
  return call<protocol::DeleteReply>(MessageKind::kApi, MessageKind::kDeleteReply, request);
}

Result<protocol::SuspendReply> CoordinatorClient::api_suspend(const protocol::ApiRequest& request) {
  return call<protocol::SuspendReply>(MessageKind::kApi, MessageKind::kSuspendReply, request);
}

Result<protocol::LogsReply> CoordinatorClient::api_logs(const protocol::ApiRequest& request) {
  return call<protocol::LogsReply>(MessageKind::kApi, MessageKind::kLogsReply, request);
}

Result<protocol::MetricsHistoryReply> CoordinatorClient::api_metrics(
    const protocol::ApiRequest& request) {
  return call<protocol::MetricsHistoryReply>(MessageKind::kApi, MessageKind::kMetricsHistoryReply,
                                             request);
}

}  // namespace cadre::client
