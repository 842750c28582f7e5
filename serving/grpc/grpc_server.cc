#include "serving/grpc/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <charconv>

#include "serving/grpc/grpc_predict_v2.grpc.pb.h"
#include "serving/http/http_server.h"

namespace cadre::serving::grpc_frontend {
namespace {

namespace pb = ::inference;

grpc::Status to_grpc(const Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(grpc_code(s)), s.message());
}

Result<int64_t> parse_version(const std::string& text) {
  if (text.empty()) return int64_t{0};
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1)
    return InvalidArgument("model_version '" + text.substr(0, 32) + "' is not a positive integer");
  return v;
}

template <typename T, typename Field>
void append_values(std::string* data, const Field& values) {
  data->reserve(values.size() * sizeof(T));
  for (const auto& v : values) {
    const T x = static_cast<T>(v);
    data->append(reinterpret_cast<const char*>(&x), sizeof(T));
  }
}

// Typed contents to raw bytes; the field must be the one V2 names for the type.
Status typed_contents(const pb::InferTensorContents& c, DataType type, InferTensor* t) {
  const auto wrong = [&](const char* field) {
    return InvalidArgument("input '" + t->name + "': " + v2_name(type) + " data goes in " + field +
                           " (or raw_input_contents)");
  };
  size_t given = c.bool_contents_size() + c.int_contents_size() + c.int64_contents_size() +
                 c.uint_contents_size() + c.uint64_contents_size() + c.fp32_contents_size() +
                 c.fp64_contents_size() + c.bytes_contents_size();
  size_t used = 0;
  switch (type) {
    case DataType::kBool:
      used = c.bool_contents_size();
      append_values<uint8_t>(&t->data, c.bool_contents());
      if (used != given) return wrong("bool_contents");
      break;
    case DataType::kInt8:
      used = c.int_contents_size();
      append_values<int8_t>(&t->data, c.int_contents());
      break;
    case DataType::kInt16:
      used = c.int_contents_size();
      append_values<int16_t>(&t->data, c.int_contents());
      break;
    case DataType::kInt32:
      used = c.int_contents_size();
      append_values<int32_t>(&t->data, c.int_contents());
      break;
    case DataType::kInt64:
      used = c.int64_contents_size();
      append_values<int64_t>(&t->data, c.int64_contents());
      break;
    case DataType::kUint8:
      used = c.uint_contents_size();
      append_values<uint8_t>(&t->data, c.uint_contents());
      break;
    case DataType::kUint16:
      used = c.uint_contents_size();
      append_values<uint16_t>(&t->data, c.uint_contents());
      break;
    case DataType::kUint32:
      used = c.uint_contents_size();
      append_values<uint32_t>(&t->data, c.uint_contents());
      break;
    case DataType::kUint64:
      used = c.uint64_contents_size();
      append_values<uint64_t>(&t->data, c.uint64_contents());
      break;
    case DataType::kFp32:
      used = c.fp32_contents_size();
      append_values<float>(&t->data, c.fp32_contents());
      break;
    case DataType::kFp64:
      used = c.fp64_contents_size();
      append_values<double>(&t->data, c.fp64_contents());
      break;
    case DataType::kBytes:
      used = c.bytes_contents_size();
      for (const auto& b : c.bytes_contents()) append_bytes_element(&t->data, b);
      break;
    default:
      return InvalidArgument("input '" + t->name + "': " + v2_name(type) +
                             " data must be sent as raw_input_contents");
  }
  if (used != given)
    return InvalidArgument("input '" + t->name + "': contents of another type than " +
                           v2_name(type));
  return Status::Ok();
}

Result<std::shared_ptr<InferRequest>> from_proto(const pb::ModelInferRequest& in) {
  auto r = std::make_shared<InferRequest>();
  r->model = in.model_name();
  ASSIGN_OR_RETURN(r->version, parse_version(in.model_version()));
  r->id = in.id().substr(0, 1024);
  auto timeout = in.parameters().find("timeout");
  if (timeout != in.parameters().end() && timeout->second.int64_param() > 0)
    r->timeout_us = static_cast<uint64_t>(timeout->second.int64_param());
  const bool raw = in.raw_input_contents_size() > 0;
  if (raw && in.raw_input_contents_size() != in.inputs_size())
    return InvalidArgument("raw_input_contents has " +
                           std::to_string(in.raw_input_contents_size()) + " entries for " +
                           std::to_string(in.inputs_size()) + " inputs");
  for (int i = 0; i < in.inputs_size(); ++i) {
    const auto& t = in.inputs(i);
    InferTensor tensor;
    tensor.name = t.name();
    auto type = parse_v2_datatype(t.datatype());
    if (!type.ok()) return InvalidArgument("input '" + t.name() + "': " + type.status().message());
    tensor.datatype = *type;
    if (t.shape_size() > 16)
      return InvalidArgument("input '" + t.name() + "': more than 16 dimensions");
    tensor.shape.assign(t.shape().begin(), t.shape().end());
    if (raw) {
      if (t.has_contents())
        return InvalidArgument("input '" + t.name() +
                               "': contents and raw_input_contents must not both be set");
      tensor.data = in.raw_input_contents(i);
    } else {
      RETURN_IF_ERROR(typed_contents(t.contents(), *type, &tensor));
    }
    r->inputs.push_back(std::move(tensor));
  }
  for (const auto& o : in.outputs()) r->outputs.push_back({o.name(), false});
  return r;
}

void to_proto(InferResponse& r, pb::ModelInferResponse* out) {
  out->set_model_name(r.model);
  out->set_model_version(std::to_string(r.version));
  out->set_id(r.id);
  for (auto& t : r.outputs) {
    auto* o = out->add_outputs();
    o->set_name(t.name);
    o->set_datatype(v2_name(t.datatype));
    for (int64_t d : t.shape) o->add_shape(d);
    *out->add_raw_output_contents() = std::move(t.data);
  }
}

class Service final : public pb::GRPCInferenceService::CallbackService {
 public:
  Service(InferenceServer* server, const GrpcServerOptions& options)
      : server_(server), options_(options) {}

  // The call's bearer token, when one is configured.
  bool authorized(grpc::CallbackServerContext* ctx) const {
    if (options_.bearer_token.empty()) return true;
    const auto& md = ctx->client_metadata();
    const auto it = md.find("authorization");
    return it != md.end() &&
           http::bearer_token_matches(std::string_view(it->second.data(), it->second.size()),
                                      options_.bearer_token);
  }
  static grpc::Status unauthenticated() {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing or wrong bearer token (metadata authorization: Bearer ...)");
  }

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* ctx,
                                       const pb::ServerLiveRequest*,
                                       pb::ServerLiveResponse* out) override {
    out->set_live(server_->live());
    return finish(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* ctx,
                                        const pb::ServerReadyRequest*,
                                        pb::ServerReadyResponse* out) override {
    out->set_ready(server_->ready());
    return finish(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* ctx,
                                       const pb::ModelReadyRequest* in,
                                       pb::ModelReadyResponse* out) override {
    if (!authorized(ctx)) return finish(ctx, unauthenticated());
    auto version = parse_version(in->version());
    if (!version.ok()) return finish(ctx, to_grpc(version.status()));
    auto ready = server_->model_ready(in->name(), *version);
    if (!ready.ok()) return finish(ctx, to_grpc(ready.status()));
    out->set_ready(*ready);
    return finish(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* ctx,
                                           const pb::ServerMetadataRequest*,
                                           pb::ServerMetadataResponse* out) override {
    if (!authorized(ctx)) return finish(ctx, unauthenticated());
    out->set_name("cadre-serve");
    out->set_version(options_.server_version);
    for (const char* e : {"binary_tensor_data", "parameters", "statistics", "model_repository",
                          "model_configuration", "schedule_policy"})
      out->add_extensions(e);
    return finish(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* ctx,
                                          const pb::ModelMetadataRequest* in,
                                          pb::ModelMetadataResponse* out) override {
    if (!authorized(ctx)) return finish(ctx, unauthenticated());
    auto version = parse_version(in->version());
    if (!version.ok()) return finish(ctx, to_grpc(version.status()));
    auto md = server_->model_metadata(in->name(), *version);
    if (!md.ok()) return finish(ctx, to_grpc(md.status()));
    out->set_name(md->name);
    for (int64_t v : md->versions) out->add_versions(std::to_string(v));
    out->set_platform(md->platform);
    auto fill = [](const std::vector<TensorMetadata>& ts, auto* list) {
      for (const auto& t : ts) {
        auto* m = list->Add();
        m->set_name(t.name);
        m->set_datatype(v2_name(t.datatype));
        for (int64_t d : t.shape) m->add_shape(d);
      }
    };
    fill(md->inputs, out->mutable_inputs());
    fill(md->outputs, out->mutable_outputs());
    return finish(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* ctx,
                                       const pb::ModelInferRequest* in,
                                       pb::ModelInferResponse* out) override {
    if (!authorized(ctx)) return finish(ctx, unauthenticated());
    auto* reactor = ctx->DefaultReactor();
    auto request = from_proto(*in);
    if (!request.ok()) {
      reactor->Finish(to_grpc(request.status()));
      return reactor;
    }
    // The response message lives until Finish; the callback fills it from the
    // batcher's thread and finishes the call there.
    server_->infer(*request, [reactor, out](Result<InferResponse> r) {
      if (!r.ok()) return reactor->Finish(to_grpc(r.status()));
      to_proto(*r, out);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }
  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* ctx,
                                            const pb::RepositoryIndexRequest* in,
                                            pb::RepositoryIndexResponse* out) override {
    if (!authorized(ctx)) return finish(ctx, unauthenticated());
    for (const auto& e : server_->repository_index(in->ready())) {
      auto* m = out->add_models();
      m->set_name(e.name);
      if (e.version > 0) m->set_version(std::to_string(e.version));
      m->set_state(e.state);
      m->set_reason(e.reason);
    }
    return finish(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* RepositoryModelLoad(grpc::CallbackServerContext* ctx,
                                                const pb::RepositoryModelLoadRequest* in,
                                                pb::RepositoryModelLoadResponse*) override {
    if (!authorized(ctx)) return finish(ctx, unauthenticated());
    auto* reactor = ctx->DefaultReactor();
    if (!in->parameters().empty()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   "load parameters (config and file overrides) are not "
                                   "supported; change the model repository instead"));
      return reactor;
    }
    server_->load_model(in->model_name(), [reactor](Status s) { reactor->Finish(to_grpc(s)); });
    return reactor;
  }
  grpc::ServerUnaryReactor* RepositoryModelUnload(grpc::CallbackServerContext* ctx,
                                                  const pb::RepositoryModelUnloadRequest* in,
                                                  pb::RepositoryModelUnloadResponse*) override {
    if (!authorized(ctx)) return finish(ctx, unauthenticated());
    auto* reactor = ctx->DefaultReactor();
    server_->unload_model(in->model_name(), [reactor](Status s) { reactor->Finish(to_grpc(s)); });
    return reactor;
  }

 private:
  static grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* ctx, const grpc::Status& s) {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(s);
    return reactor;
  }

  InferenceServer* server_;
  GrpcServerOptions options_;
};

}  // namespace

class GrpcServer::Impl {
 public:
  Impl(InferenceServer* server, const GrpcServerOptions& options) : service_(server, options) {}
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

int grpc_code(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return grpc::StatusCode::OK;
    case StatusCode::kInvalidArgument:
    case StatusCode::kDataLoss:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case StatusCode::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case StatusCode::kDeadlineExceeded:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case StatusCode::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case StatusCode::kPermissionDenied:
      return grpc::StatusCode::PERMISSION_DENIED;
    case StatusCode::kAlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    default:
      return grpc::StatusCode::INTERNAL;
  }
}

Result<std::unique_ptr<GrpcServer>> GrpcServer::Create(const GrpcServerOptions& options,
                                                       InferenceServer* server) {
  auto impl = std::make_unique<Impl>(server, options);
  grpc::ServerBuilder builder;
  const std::string address = options.host + ":" + std::to_string(options.port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &impl->port_);
  builder.RegisterService(&impl->service_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             static_cast<int>(options.handshake_timeout.count()));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             static_cast<int>(options.max_connection_idle.count()));
  impl->server_ = builder.BuildAndStart();
  if (!impl->server_ || impl->port_ == 0) return Unavailable("grpc: cannot listen on " + address);
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GrpcServer::~GrpcServer() { shutdown(std::chrono::milliseconds(0)); }
int GrpcServer::port() const { return impl_->port_; }

void GrpcServer::shutdown(std::chrono::milliseconds deadline) {
  if (!impl_->server_) return;
  impl_->server_->Shutdown(std::chrono::system_clock::now() + deadline);
  impl_->server_->Wait();
  impl_->server_.reset();
}

}  // namespace cadre::serving::grpc_frontend
