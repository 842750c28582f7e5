#include "ingress/grpc_translation.h"

#include <gtest/gtest.h>

#include <cstring>

#include <nlohmann/json.hpp>

namespace cadre::ingress {
namespace {

using serving::http::HttpResponse;

std::string floats(std::initializer_list<float> values) {
  std::string bytes;
  for (float v : values) bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  return bytes;
}

// A replica's binary answer: the JSON header, then `binary`.
HttpResponse binary_answer(const std::string& header, const std::string& binary,
                           std::string header_length = "") {
  HttpResponse r;
  r.body = header + binary;
  r.headers.emplace_back("Inference-Header-Content-Length",
                         header_length.empty() ? std::to_string(header.size()) : header_length);
  return r;
}

TEST(GrpcTranslation, AnInferCallBecomesABinaryRequestWithEveryInputsBytesInOrder) {
  ::inference::ModelInferRequest in;
  in.set_model_name("fmnist");
  in.set_model_version("2");
  in.set_id("req-7");
  auto* x = in.add_inputs();
  x->set_name("x");
  x->set_datatype("FP32");
  x->add_shape(1);
  x->add_shape(2);
  in.add_raw_input_contents(floats({1.5f, -2}));
  auto* s = in.add_inputs();
  s->set_name("s");
  s->set_datatype("BYTES");
  s->add_shape(1);
  in.add_raw_input_contents(std::string("\x03\0\0\0abc", 7));
  in.add_outputs()->set_name("y");

  auto http = infer_http_request(in);
  ASSERT_TRUE(http.ok()) << http.status().message();
  EXPECT_EQ(http->method, "POST");
  EXPECT_EQ(http->target, "/v2/models/fmnist/versions/2/infer");
  const size_t header = std::stoul(http->inference_header_content_length);
  const auto json = nlohmann::json::parse(http->body.substr(0, header));
  EXPECT_EQ(json["id"], "req-7");
  EXPECT_EQ(json["parameters"]["binary_data_output"], true);
  EXPECT_EQ(json["inputs"][0]["shape"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(json["inputs"][0]["parameters"]["binary_data_size"], 8);
  EXPECT_EQ(json["inputs"][1]["parameters"]["binary_data_size"], 7);
  EXPECT_EQ(json["outputs"][0]["name"], "y");
  EXPECT_EQ(http->body.substr(header), floats({1.5f, -2}) + std::string("\x03\0\0\0abc", 7));
}

TEST(GrpcTranslation, TypedContentsAreSentAsTheSameRawBytes) {
  ::inference::ModelInferRequest in;
  in.set_model_name("fmnist");
  auto* x = in.add_inputs();
  x->set_name("x");
  x->set_datatype("FP32");
  x->add_shape(3);
  for (float v : {1.f, 2.f, 3.f}) x->mutable_contents()->add_fp32_contents(v);
  auto http = infer_http_request(in);
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->target, "/v2/models/fmnist/infer");  // no version: the latest
  const size_t header = std::stoul(http->inference_header_content_length);
  EXPECT_EQ(http->body.substr(header), floats({1, 2, 3}));
}

TEST(GrpcTranslation, ARequestThatCannotBeRoutedSaysWhy) {
  ::inference::ModelInferRequest in;
  EXPECT_NE(infer_http_request(in).status().message().find("model_name is empty"),
            std::string::npos);
  in.set_model_name("../admin");
  EXPECT_NE(infer_http_request(in).status().message().find("not an inferenceservice name"),
            std::string::npos);
  in.set_model_name("fmnist");
  in.set_model_version("latest");
  EXPECT_NE(infer_http_request(in).status().message().find("model_version"), std::string::npos);
  in.clear_model_version();
  in.add_inputs()->set_name("x");
  in.mutable_inputs(0)->set_datatype("FP33");
  EXPECT_NE(infer_http_request(in).status().message().find("input 'x'"), std::string::npos);
  in.mutable_inputs(0)->set_datatype("FP32");
  in.add_raw_input_contents("1234");
  in.add_raw_input_contents("5678");
  EXPECT_NE(infer_http_request(in).status().message().find("raw_input_contents has 2 entries"),
            std::string::npos);
  EXPECT_FALSE(model_http_request("Upper", "", false).ok());
  EXPECT_EQ(model_http_request("fmnist", "3", true)->target, "/v2/models/fmnist/versions/3/ready");
  EXPECT_EQ(model_http_request("fmnist", "", false)->target, "/v2/models/fmnist");
}

TEST(GrpcTranslation, AReplicasBinaryAnswerBecomesRawOutputContents) {
  const std::string header =
      R"({"model_name":"fmnist","model_version":"1","id":"req-7","outputs":[)"
      R"({"name":"y","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}},)"
      R"({"name":"k","datatype":"INT64","shape":[1],"parameters":{"binary_data_size":8}}]})";
  const std::string k("\x07\0\0\0\0\0\0\0", 8);
  ::inference::ModelInferResponse out;
  ASSERT_TRUE(
      parse_infer_http_response(binary_answer(header, floats({0.25f, 0.75f}) + k), &out).ok());
  EXPECT_EQ(out.model_name(), "fmnist");
  EXPECT_EQ(out.model_version(), "1");
  EXPECT_EQ(out.id(), "req-7");
  ASSERT_EQ(out.outputs_size(), 2);
  EXPECT_EQ(out.outputs(0).shape_size(), 2);
  EXPECT_EQ(out.outputs(1).datatype(), "INT64");
  EXPECT_EQ(out.raw_output_contents(0), floats({0.25f, 0.75f}));
  EXPECT_EQ(out.raw_output_contents(1), k);
}

TEST(GrpcTranslation, AnAnswerThatIsNotWhatCadreServeWritesIsDataLossNotACrash) {
  const std::string ok_output =
      R"({"outputs":[{"name":"y","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]})";
  struct Case {
    HttpResponse answer;
    const char* says;
  };
  const std::vector<Case> cases = {
      {binary_answer(ok_output, floats({1, 2}), "100000"), "does not fit"},
      {binary_answer(ok_output, floats({1, 2}), "-1"), "does not fit"},
      {binary_answer(ok_output, floats({1, 2}), "12x"), "does not fit"},
      {binary_answer(ok_output, floats({1})), "claims 8 bytes where 4 are left"},
      {binary_answer(ok_output, floats({1, 2, 3})), "4 bytes that no output claims"},
      {binary_answer("not json", ""), "not a JSON object"},
      {binary_answer("[1,2]", ""), "not a JSON object"},
      {binary_answer(R"({"outputs":7})", ""), "outputs are not a list"},
      {binary_answer(R"({"outputs":[{"name":"y"}]})", ""), "without name, datatype or shape"},
      {binary_answer(R"({"outputs":[{"name":"y","datatype":"FP32","shape":[2],"data":[1,2]}]})",
                     ""),
       "without binary data"},
      {binary_answer(
           R"({"outputs":[{"name":"y","datatype":"FP32","shape":["a"],"parameters":{"binary_data_size":0}}]})",
           ""),
       "shape of non-integers"},
      {binary_answer(
           R"({"outputs":[{"name":"y","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":-4}}]})",
           ""),
       "without binary data"},
      // Parameters that are not an object (JSON's value() would throw on them).
      {binary_answer(R"({"outputs":[{"name":"y","datatype":"FP32","shape":[1],"parameters":4}]})",
                     ""),
       "without binary data"},
  };
  for (const auto& c : cases) {
    ::inference::ModelInferResponse out;
    const Status s = parse_infer_http_response(c.answer, &out);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << c.answer.body;
    EXPECT_NE(s.message().find(c.says), std::string::npos) << s.message();
  }
}

TEST(GrpcTranslation, MetadataKeepsEveryTensorAndRefusesWhatIsNotMetadata) {
  HttpResponse md;
  md.body = R"({"name":"fmnist","versions":["1","2"],"platform":"cadre",)"
            R"("inputs":[{"name":"x","datatype":"FP32","shape":[-1,784]}],)"
            R"("outputs":[{"name":"y","datatype":"FP32","shape":[-1,10]}]})";
  ::inference::ModelMetadataResponse out;
  ASSERT_TRUE(parse_metadata_http_response(md, &out).ok());
  EXPECT_EQ(out.versions_size(), 2);
  EXPECT_EQ(out.inputs(0).shape(1), 784);
  EXPECT_EQ(out.outputs(0).name(), "y");
  for (const char* bad :
       {"{}", R"({"name":"m","versions":[1]})", R"({"name":"m","inputs":[{"name":"x"}]})",
        R"({"name":"m","inputs":{}})"}) {
    md.body = bad;
    ::inference::ModelMetadataResponse other;
    EXPECT_EQ(parse_metadata_http_response(md, &other).code(), StatusCode::kDataLoss) << bad;
  }
}

TEST(GrpcTranslation, HttpErrorsBecomeTheGrpcCodesClientsExpectWithTheirMessage) {
  const auto error = [](int status, std::string body = R"({"error":"why"})") {
    return call_error(HttpResponse{status, "application/json", {}, std::move(body)});
  };
  EXPECT_EQ(error(400).code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(error(400).message, "why");
  EXPECT_EQ(error(401).code, grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(error(403).code, grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(error(404).code, grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(error(413).code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(error(502).code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(error(503, "").code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(error(503, "").message, "not ready");
  EXPECT_EQ(error(504).code, grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(error(500, "oops").code, grpc::StatusCode::INTERNAL);
  EXPECT_EQ(error(500, "oops").message, "the replica answered HTTP 500");
}

}  // namespace
}  // namespace cadre::ingress
