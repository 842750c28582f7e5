#include "ingress/grpc_front.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "ingress/grpc_translation.h"
#include "serving/grpc/grpc_predict_v2.grpc.pb.h"
#include "serving/grpc/server_bounds.h"

namespace cadre::ingress {
namespace {

namespace pb = ::inference;
using serving::http::HttpRequest;
using serving::http::HttpResponse;

grpc::Status from_error(const HttpResponse& response) {
  const CallError e = call_error(response);
  return grpc::Status(e.code, e.message);
}

std::string metadata_value(grpc::CallbackServerContext* ctx, const char* key) {
  const auto& md = ctx->client_metadata();
  const auto it = md.find(key);
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

Result<std::string> read_pem(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class Service final : public pb::GRPCInferenceService::CallbackService {
 public:
  Service(Proxy& proxy, const RouteTable& table, std::string version)
      : proxy_(proxy), table_(table), version_(std::move(version)) {}

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* ctx,
                                       const pb::ServerLiveRequest*,
                                       pb::ServerLiveResponse* out) override {
    out->set_live(true);
    return finish(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* ctx,
                                        const pb::ServerReadyRequest*,
                                        pb::ServerReadyResponse* out) override {
    // Ready once it has a table to route by (kept while the coordinator is away).
    out->set_ready(table_.has_table());
    return finish(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* ctx,
                                           const pb::ServerMetadataRequest*,
                                           pb::ServerMetadataResponse* out) override {
    // Any Cadre token: the version is not for everyone who can reach the port.
    const std::string auth = metadata_value(ctx, "authorization");
    static const std::string kBearer = "Bearer ";
    if (auth.compare(0, kBearer.size(), kBearer) != 0 ||
        !table_.token_namespace(auth.substr(kBearer.size()))) {
      return finish(ctx, grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                      "needs a Cadre token: metadata authorization: Bearer "
                                      "<token> (cadre tokens create)"));
    }
    out->set_name("cadre-ingress");
    out->set_version(version_);
    return finish(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* ctx,
                                       const pb::ModelReadyRequest* in,
                                       pb::ModelReadyResponse* out) override {
    return forward(ctx, model_http_request(in->name(), in->version(), true),
                   [out](const HttpResponse& r) {
                     // 503: the replica is not ready, or no replica is.
                     if (r.status != 200 && r.status != 503) return from_error(r);
                     out->set_ready(r.status == 200);
                     return grpc::Status::OK;
                   });
  }
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* ctx,
                                          const pb::ModelMetadataRequest* in,
                                          pb::ModelMetadataResponse* out) override {
    return forward(ctx, model_http_request(in->name(), in->version(), false),
                   [out](const HttpResponse& r) {
                     if (r.status != 200) return from_error(r);
                     return translated(parse_metadata_http_response(r, out));
                   });
  }
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* ctx,
                                       const pb::ModelInferRequest* in,
                                       pb::ModelInferResponse* out) override {
    return forward(ctx, infer_http_request(*in), [out](const HttpResponse& r) {
      if (r.status != 200) return from_error(r);
      return translated(parse_infer_http_response(r, out));
    });
  }
  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* ctx,
                                            const pb::RepositoryIndexRequest*,
                                            pb::RepositoryIndexResponse*) override {
    return finish(ctx, no_repository());
  }
  grpc::ServerUnaryReactor* RepositoryModelLoad(grpc::CallbackServerContext* ctx,
                                                const pb::RepositoryModelLoadRequest*,
                                                pb::RepositoryModelLoadResponse*) override {
    return finish(ctx, no_repository());
  }
  grpc::ServerUnaryReactor* RepositoryModelUnload(grpc::CallbackServerContext* ctx,
                                                  const pb::RepositoryModelUnloadRequest*,
                                                  pb::RepositoryModelUnloadResponse*) override {
    return finish(ctx, no_repository());
  }

 private:
  static grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* ctx, const grpc::Status& s) {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(s);
    return reactor;
  }
  static grpc::Status no_repository() {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "the ingress does not offer the model repository extension: an "
                        "inferenceservice's model changes with `cadre apply`");
  }
  // A replica's answer that is not what cadre-serve writes.
  static grpc::Status translated(const Status& s) {
    return s.ok() ? grpc::Status::OK : grpc::Status(grpc::StatusCode::INTERNAL, s.message());
  }

  // Sends `request` through the proxy with the caller's token; `answer` turns the
  // HTTP answer into the call's status (and fills the response message, which
  // lives until Finish). The proxy answers from its upstream threads.
  template <typename Answer>
  grpc::ServerUnaryReactor* forward(grpc::CallbackServerContext* ctx, Result<HttpRequest> request,
                                    Answer answer) {
    auto* reactor = ctx->DefaultReactor();
    if (!request.ok()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, request.status().message()));
      return reactor;
    }
    request->authorization = metadata_value(ctx, "authorization");
    proxy_.handle(std::move(*request), [reactor, answer = std::move(answer)](HttpResponse r) {
      reactor->Finish(answer(r));
    });
    return reactor;
  }

  Proxy& proxy_;
  const RouteTable& table_;
  std::string version_;
};

}  // namespace

class GrpcFront::Impl {
 public:
  Impl(Proxy& proxy, const RouteTable& table, std::string version)
      : service_(proxy, table, std::move(version)) {}
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

Result<std::unique_ptr<GrpcFront>> GrpcFront::Create(const GrpcFrontOptions& options, Proxy& proxy,
                                                     const RouteTable& table) {
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return InvalidArgument("gRPC over TLS needs both a certificate and a key");
    }
    grpc::SslServerCredentialsOptions tls;
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    ASSIGN_OR_RETURN(pair.private_key, read_pem(options.tls_key_file));
    ASSIGN_OR_RETURN(pair.cert_chain, read_pem(options.tls_cert_file));
    tls.pem_key_cert_pairs.push_back(std::move(pair));
    credentials = grpc::SslServerCredentials(tls);
  }
  auto impl = std::make_unique<Impl>(proxy, table, options.server_version);
  grpc::ServerBuilder builder;
  const std::string address = options.host + ":" + std::to_string(options.port);
  builder.AddListeningPort(address, credentials, &impl->port_);
  builder.RegisterService(&impl->service_);
  serving::grpc_frontend::apply_server_bounds(
      {options.max_message_bytes, options.max_concurrent_streams, options.handshake_timeout,
       options.max_connection_idle},
      builder);
  impl->server_ = builder.BuildAndStart();
  if (!impl->server_ || impl->port_ == 0) return Unavailable("grpc: cannot listen on " + address);
  return std::unique_ptr<GrpcFront>(new GrpcFront(std::move(impl)));
}

GrpcFront::GrpcFront(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GrpcFront::~GrpcFront() { shutdown(std::chrono::milliseconds(0)); }
int GrpcFront::port() const { return impl_->port_; }

void GrpcFront::shutdown(std::chrono::milliseconds deadline) {
  if (!impl_->server_) return;
  impl_->server_->Shutdown(std::chrono::system_clock::now() + deadline);
  impl_->server_->Wait();
  impl_->server_.reset();
}

}  // namespace cadre::ingress
