#include "serving/grpc/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include "serving/grpc/grpc_predict_v2.grpc.pb.h"
#include "serving/grpc/server_bounds.h"
#include "serving/grpc/v2_proto_codec.h"
#include "serving/http/http_server.h"

namespace cadre::serving::grpc_frontend {
namespace {

namespace pb = ::inference;

grpc::Status to_grpc(const Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(grpc_code(s)), s.message());
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
  apply_server_bounds({options.max_message_bytes, options.max_concurrent_streams,
                       options.handshake_timeout, options.max_connection_idle},
                      builder);
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
