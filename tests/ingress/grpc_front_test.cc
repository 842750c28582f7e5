// The ingress's gRPC port end to end in one process: a client generated from the
// published proto calls GrpcFront, which carries the call through the real Proxy
// to a replica that decodes and encodes with cadre-serve's own V2 codec.
#include "ingress/grpc_front.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "protocol/tls_certificate.h"
#include "protocol/user_tokens.h"
#include "serving/grpc/grpc_predict_v2.grpc.pb.h"
#include "serving/http/v2_json.h"

namespace cadre::ingress {
namespace {

namespace pb = ::inference;
using serving::http::HttpRequest;
using serving::http::HttpResponse;
using serving::http::HttpServer;
using serving::http::HttpServerOptions;

std::string floats(std::initializer_list<float> values) {
  std::string bytes;
  for (float v : values) bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  return bytes;
}

// A replica of model "fmnist" that answers every input back as an output named
// "<input>_out", through cadre-serve's request decoder and response encoder.
class EchoReplica {
 public:
  EchoReplica() {
    HttpServerOptions options;
    options.port = 0;
    auto server = HttpServer::Create(
        options, [this](HttpRequest r, serving::http::Responder respond) { respond(answer(r)); });
    EXPECT_TRUE(server.ok());
    server_ = std::move(*server);
  }
  ~EchoReplica() { server_->stop(); }
  int port() const { return server_->port(); }
  int requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  HttpRequest last() {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_;
  }

 private:
  HttpResponse answer(const HttpRequest& r) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++requests_;
      last_ = r;
    }
    if (r.target == "/v2/models/fmnist/ready") return {200, "application/json", {}, ""};
    if (r.target == "/v2/models/fmnist/versions/9/ready") return {503, "application/json", {}, ""};
    if (r.target == "/v2/models/fmnist") {
      return {200,
              "application/json",
              {},
              R"({"name":"fmnist","versions":["1"],"platform":"cadre",)"
              R"("inputs":[{"name":"x","datatype":"FP32","shape":[-1,2]}],)"
              R"("outputs":[{"name":"x_out","datatype":"FP32","shape":[-1,2]}]})"};
    }
    const size_t header = r.inference_header_content_length.empty()
                              ? r.body.size()
                              : std::stoul(r.inference_header_content_length);
    std::string_view body(r.body);
    auto request =
        serving::http::decode_infer_request(body.substr(0, header), body.substr(header), {});
    if (!request.ok()) {
      return {400, "application/json", {}, serving::http::error_json(request.status().message())};
    }
    serving::InferResponse response{"fmnist", 1, request->id, {}};
    for (const auto& t : request->inputs) {
      if (Status s = serving::check_tensor_data(t, 1 << 20); !s.ok()) {
        return {400, "application/json", {}, serving::http::error_json(s.message())};
      }
    }
    for (auto t : request->inputs) {
      t.name += "_out";
      response.outputs.push_back(std::move(t));
    }
    auto encoded = serving::http::encode_infer_response(response, *request);
    HttpResponse out{200, "application/octet-stream", {}, encoded.json + encoded.binary};
    out.headers.emplace_back("Inference-Header-Content-Length",
                             std::to_string(encoded.json.size()));
    return out;
  }

  std::mutex mutex_;
  int requests_ = 0;
  HttpRequest last_;
  std::unique_ptr<HttpServer> server_;
};

protocol::RoutesReply routes(const std::vector<int>& ports) {
  protocol::ServiceRoute s;
  s.name = "fmnist";
  s.ns = "default";
  s.replica_token = "replica-secret";
  s.timeout_ms = 5000;
  protocol::RevisionRoute rev{"fmnist-00001", 100, {}, false};
  for (int port : ports) rev.endpoints.push_back({"r" + std::to_string(port), "127.0.0.1", port});
  s.revisions = {rev};
  protocol::RoutesReply reply;
  reply.version = 1;
  reply.services = {s};
  reply.tokens = {{protocol::token_sha256("cadre_user"), "default", 0},
                  {protocol::token_sha256("cadre_other"), "team-b", 0}};
  return reply;
}

class GrpcFrontTest : public ::testing::Test {
 protected:
  GrpcFrontTest() {
    upstream_ = UpstreamClient::Create(UpstreamClientOptions{}).value();
    activator_ = Activator::Create(ActivatorOptions{2, std::chrono::milliseconds(50)}).value();
    proxy_ =
        std::make_unique<Proxy>(ProxyOptions{2}, table_, *upstream_, metrics_, load_, *activator_);
  }
  ~GrpcFrontTest() override {
    if (front_) front_->shutdown(std::chrono::seconds(1));
    activator_.reset();
  }

  void start(GrpcFrontOptions options = {}) {
    options.port = 0;
    options.server_version = "test";
    auto front = GrpcFront::Create(options, *proxy_, table_);
    ASSERT_TRUE(front.ok()) << front.status().message();
    front_ = std::move(*front);
    stub_ = pb::GRPCInferenceService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(front_->port()), grpc::InsecureChannelCredentials()));
  }

  static std::unique_ptr<grpc::ClientContext> context(const std::string& token = "cadre_user") {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  static pb::ModelInferRequest two_floats(const std::string& model = "fmnist") {
    pb::ModelInferRequest in;
    in.set_model_name(model);
    in.set_id("req-1");
    auto* x = in.add_inputs();
    x->set_name("x");
    x->set_datatype("FP32");
    x->add_shape(1);
    x->add_shape(2);
    in.add_raw_input_contents(floats({0.5f, 4}));
    return in;
  }

  grpc::Status infer(const pb::ModelInferRequest& in, pb::ModelInferResponse* out,
                     const std::string& token = "cadre_user") {
    return stub_->ModelInfer(context(token).get(), in, out);
  }

  RouteTable table_;
  IngressMetrics metrics_;
  LoadMeter load_;
  std::unique_ptr<Activator> activator_;
  std::unique_ptr<UpstreamClient> upstream_;
  std::unique_ptr<Proxy> proxy_;
  std::unique_ptr<GrpcFront> front_;
  std::unique_ptr<pb::GRPCInferenceService::Stub> stub_;
};

TEST_F(GrpcFrontTest, InfersOnAReplicaWithItsOwnTokenAndAnswersRawOutputs) {
  EchoReplica replica;
  table_.update(routes({replica.port()}));
  start();
  pb::ModelInferResponse out;
  const grpc::Status s = infer(two_floats(), &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.model_name(), "fmnist");
  EXPECT_EQ(out.model_version(), "1");
  EXPECT_EQ(out.id(), "req-1");
  ASSERT_EQ(out.outputs_size(), 1);
  EXPECT_EQ(out.outputs(0).name(), "x_out");
  EXPECT_EQ(out.outputs(0).datatype(), "FP32");
  EXPECT_EQ(out.outputs(0).shape_size(), 2);
  EXPECT_EQ(out.raw_output_contents(0), floats({0.5f, 4}));
  EXPECT_EQ(replica.last().authorization, "Bearer replica-secret");
  EXPECT_EQ(replica.last().target, "/v2/models/fmnist/infer");
  // Counted with the HTTP front door's requests, under the service.
  EXPECT_NE(metrics_.render().find("service=\"fmnist\""), std::string::npos);
}

TEST_F(GrpcFrontTest, TypedAndBytesContentsArriveAsTheSameTensors) {
  EchoReplica replica;
  table_.update(routes({replica.port()}));
  start();
  pb::ModelInferRequest in;
  in.set_model_name("fmnist");
  auto* x = in.add_inputs();
  x->set_name("x");
  x->set_datatype("FP32");
  x->add_shape(3);
  for (float v : {1.f, 2.f, 3.f}) x->mutable_contents()->add_fp32_contents(v);
  auto* s = in.add_inputs();
  s->set_name("s");
  s->set_datatype("BYTES");
  s->add_shape(2);
  s->mutable_contents()->add_bytes_contents("ab");
  s->mutable_contents()->add_bytes_contents("");
  pb::ModelInferResponse out;
  ASSERT_TRUE(infer(in, &out).ok());
  ASSERT_EQ(out.raw_output_contents_size(), 2);
  EXPECT_EQ(out.raw_output_contents(0), floats({1, 2, 3}));
  EXPECT_EQ(out.raw_output_contents(1), std::string("\x02\0\0\0ab\0\0\0\0", 10));
}

TEST_F(GrpcFrontTest, RefusesCallsWithoutTheServicesTokenBeforeAnyReplicaSeesThem) {
  EchoReplica replica;
  table_.update(routes({replica.port()}));
  start();
  pb::ModelInferResponse out;
  EXPECT_EQ(infer(two_floats(), &out, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(infer(two_floats(), &out, "cadre_guess").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status other = infer(two_floats(), &out, "cadre_other");
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(other.error_message().find("another namespace"), std::string::npos);
  pb::ModelMetadataRequest md;
  md.set_name("fmnist");
  pb::ModelMetadataResponse md_out;
  EXPECT_EQ(stub_->ModelMetadata(context("").get(), md, &md_out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(replica.requests(), 0);
}

TEST_F(GrpcFrontTest, SaysWhatIsWrongWithACall) {
  EchoReplica replica;
  table_.update(routes({replica.port()}));
  start();
  pb::ModelInferResponse out;
  const grpc::Status empty = infer(two_floats(""), &out);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(empty.error_message().find("model_name is empty"), std::string::npos);
  EXPECT_EQ(infer(two_floats("a/../b"), &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const grpc::Status unknown = infer(two_floats("nope"), &out);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(unknown.error_message().find("no inferenceservice 'nope'"), std::string::npos);
  // The replica's own refusal comes back with its message.
  auto wrong_size = two_floats();
  wrong_size.mutable_inputs(0)->set_shape(1, 3);
  const grpc::Status refused = infer(wrong_size, &out);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("input 'x'"), std::string::npos)
      << refused.error_message();
  EXPECT_EQ(replica.requests(), 1);  // only the last one reached it
}

TEST_F(GrpcFrontTest, AServiceWithNoReadyReplicaIsUnavailable) {
  table_.update(routes({}));
  start();
  pb::ModelInferResponse out;
  EXPECT_EQ(infer(two_floats(), &out).error_code(), grpc::StatusCode::UNAVAILABLE);
  pb::ModelReadyRequest ready;
  ready.set_name("fmnist");
  pb::ModelReadyResponse ready_out;
  ASSERT_TRUE(stub_->ModelReady(context().get(), ready, &ready_out).ok());
  EXPECT_FALSE(ready_out.ready());
}

TEST_F(GrpcFrontTest, ModelReadinessAndMetadataComeFromAReplica) {
  EchoReplica replica;
  table_.update(routes({replica.port()}));
  start();
  pb::ModelReadyRequest ready;
  ready.set_name("fmnist");
  pb::ModelReadyResponse ready_out;
  ASSERT_TRUE(stub_->ModelReady(context().get(), ready, &ready_out).ok());
  EXPECT_TRUE(ready_out.ready());
  ready.set_version("9");
  ASSERT_TRUE(stub_->ModelReady(context().get(), ready, &ready_out).ok());
  EXPECT_FALSE(ready_out.ready());
  pb::ModelMetadataRequest md;
  md.set_name("fmnist");
  pb::ModelMetadataResponse md_out;
  ASSERT_TRUE(stub_->ModelMetadata(context().get(), md, &md_out).ok());
  EXPECT_EQ(md_out.platform(), "cadre");
  ASSERT_EQ(md_out.inputs_size(), 1);
  EXPECT_EQ(md_out.inputs(0).shape(1), 2);
}

TEST_F(GrpcFrontTest, TheServerCallsAnswerForTheIngressAndTheRepositoryIsNotOffered) {
  start();
  pb::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(context("").get(), {}, &live).ok());
  EXPECT_TRUE(live.live());
  pb::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(context("").get(), {}, &ready).ok());
  EXPECT_FALSE(ready.ready());  // no routes from the coordinator yet
  table_.update(routes({}));
  ASSERT_TRUE(stub_->ServerReady(context("").get(), {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  pb::ServerMetadataResponse md;
  EXPECT_EQ(stub_->ServerMetadata(context("").get(), {}, &md).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(stub_->ServerMetadata(context().get(), {}, &md).ok());
  EXPECT_EQ(md.name(), "cadre-ingress");
  EXPECT_EQ(md.version(), "test");
  pb::RepositoryIndexResponse index;
  const grpc::Status repo = stub_->RepositoryIndex(context().get(), {}, &index);
  EXPECT_EQ(repo.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(repo.error_message().find("cadre apply"), std::string::npos);
}

TEST_F(GrpcFrontTest, AMessageOverTheLimitIsRefusedAndNothingIsSent) {
  EchoReplica replica;
  table_.update(routes({replica.port()}));
  GrpcFrontOptions options;
  options.max_message_bytes = 4096;
  start(options);
  auto big = two_floats();
  big.set_raw_input_contents(0, std::string(8192, 'x'));
  pb::ModelInferResponse out;
  EXPECT_EQ(infer(big, &out).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(replica.requests(), 0);
  EXPECT_TRUE(infer(two_floats(), &out).ok());  // the port still serves
}

TEST_F(GrpcFrontTest, ServesOverTlsWithTheFrontDoorsCertificate) {
  EchoReplica replica;
  table_.update(routes({replica.port()}));
  const auto dir =
      std::filesystem::temp_directory_path() / ("cadre-grpc-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "tls.crt").string(), key = (dir / "tls.key").string();
  ASSERT_TRUE(protocol::write_self_signed_certificate(cert, key).ok());
  GrpcFrontOptions options;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  start(options);
  std::ifstream in(cert);
  std::stringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions trust;
  trust.pem_root_certs = pem.str();
  auto tls_stub = pb::GRPCInferenceService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(front_->port()), grpc::SslCredentials(trust)));
  pb::ModelInferResponse out;
  const grpc::Status s = tls_stub->ModelInfer(context().get(), two_floats(), &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.raw_output_contents(0), floats({0.5f, 4}));
  // In the clear, nothing is answered.
  EXPECT_EQ(infer(two_floats(), &out).error_code(), grpc::StatusCode::UNAVAILABLE);
  // A client that does not trust the certificate gets nothing either.
  auto untrusting = pb::GRPCInferenceService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(front_->port()),
                          grpc::SslCredentials(grpc::SslCredentialsOptions{})));
  EXPECT_FALSE(untrusting->ModelInfer(context().get(), two_floats(), &out).ok());
  EXPECT_EQ(replica.requests(), 1);
  std::filesystem::remove_all(dir);
}

TEST(GrpcFront, ATlsFileThatCannotBeReadIsNamed) {
  RouteTable table;
  IngressMetrics metrics;
  LoadMeter load;
  auto upstream = UpstreamClient::Create(UpstreamClientOptions{}).value();
  auto activator = Activator::Create(ActivatorOptions{}).value();
  Proxy proxy(ProxyOptions{}, table, *upstream, metrics, load, *activator);
  GrpcFrontOptions options;
  options.port = 0;
  options.tls_cert_file = "/nonexistent/tls.crt";
  options.tls_key_file = "/nonexistent/tls.key";
  auto front = GrpcFront::Create(options, proxy, table);
  ASSERT_FALSE(front.ok());
  EXPECT_NE(front.status().message().find("/nonexistent/tls."), std::string::npos);
}

}  // namespace
}  // namespace cadre::ingress
