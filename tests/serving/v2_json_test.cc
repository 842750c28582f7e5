#include "serving/http/v2_json.h"

#include <gtest/gtest.h>

#include <cstring>

namespace cadre::serving::http {
namespace {

Result<InferRequest> decode(const std::string& json, const std::string& binary = "") {
  return decode_infer_request(json, binary, DecodeLimits{});
}

template <typename T>
std::vector<T> values(const InferTensor& t) {
  std::vector<T> v(t.data.size() / sizeof(T));
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

TEST(V2Json, DecodesFlatAndNestedDataInAnyKeyOrder) {
  auto flat = decode(R"({"id":"r-1","inputs":[{"name":"x","shape":[2,2],"datatype":"FP32",
                         "data":[1,2.5,-3,4]}]})");
  ASSERT_TRUE(flat.ok()) << flat.status().message();
  EXPECT_EQ(flat->id, "r-1");
  EXPECT_EQ(values<float>(flat->inputs[0]), (std::vector<float>{1, 2.5, -3, 4}));
  // data before shape and datatype, nested by row
  auto nested = decode(R"({"inputs":[{"data":[[1,2],[3,4]],"name":"x","datatype":"INT64",
                           "shape":[2,2]}]})");
  ASSERT_TRUE(nested.ok()) << nested.status().message();
  EXPECT_EQ(values<int64_t>(nested->inputs[0]), (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST(V2Json, DecodesEveryDatatypeTheBackendsTake) {
  struct Case {
    const char* type;
    const char* data;
    size_t bytes;
  } cases[] = {{"BOOL", "[true,false]", 2}, {"UINT8", "[0,255]", 2},
               {"UINT16", "[0,65535]", 4},  {"UINT32", "[1,2]", 8},
               {"UINT64", "[1,2]", 16},     {"INT8", "[-128,127]", 2},
               {"INT16", "[-1,1]", 4},      {"INT32", "[-1,1]", 8},
               {"INT64", "[-1,1]", 16},     {"FP16", "[0.5,-2]", 4},
               {"BF16", "[0.5,-2]", 4},     {"FP32", "[0.5,-2]", 8},
               {"FP64", "[0.5,-2]", 16},    {"BYTES", "[\"a\",\"bc\"]", 4 + 1 + 4 + 2}};
  for (const auto& c : cases) {
    auto r = decode(std::string(R"({"inputs":[{"name":"x","datatype":")") + c.type +
                    R"(","shape":[2],"data":)" + c.data + "}]}");
    ASSERT_TRUE(r.ok()) << c.type << ": " << r.status().message();
    EXPECT_EQ(r->inputs[0].data.size(), c.bytes) << c.type;
  }
  auto half = decode(R"({"inputs":[{"name":"x","datatype":"FP16","shape":[1],"data":[0.5]}]})");
  EXPECT_EQ(values<uint16_t>(half->inputs[0])[0], 0x3800);
}

TEST(V2Json, TakesBinaryTensorsAfterTheJsonHeaderInInputOrder) {
  float a[2] = {1, 2}, b[3] = {3, 4, 5};
  std::string binary(reinterpret_cast<char*>(a), 8);
  binary.append(reinterpret_cast<char*>(b), 12);
  auto r = decode(R"({"inputs":[
      {"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},
      {"name":"b","datatype":"FP32","shape":[3],"parameters":{"binary_data_size":12}}],
      "outputs":[{"name":"y","parameters":{"binary_data":true}}]})",
                  binary);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(values<float>(r->inputs[1]), (std::vector<float>{3, 4, 5}));
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_TRUE(r->outputs[0].binary);
}

TEST(V2Json, EncodesBinaryOutputsAfterTheHeaderAndJsonOutputsInline) {
  InferRequest request;
  request.outputs = {{"y", true}, {"label", false}};
  InferResponse response{"m", 1, "abc", {}};
  InferTensor y{"y", DataType::kFp32, {1, 2}, std::string(8, '\0')};
  InferTensor label{"label", DataType::kBytes, {1, 1}, {}};
  append_bytes_element(&label.data, "Sandal");
  response.outputs = {y, label};
  auto e = encode_infer_response(response, request);
  EXPECT_EQ(e.binary.size(), 8u);
  const auto j = nlohmann::json::parse(e.json);
  EXPECT_EQ(j["id"], "abc");
  EXPECT_EQ(j["model_version"], "1");
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 8);
  EXPECT_EQ(j["outputs"][1]["data"][0], "Sandal");
}

// The V2 request errors Triton's and MLServer's suites check, and the abusive
// ones: each is refused with a message naming what was wrong.
TEST(V2Json, RefusesEveryMalformedRequestWithAMessageThatSaysWhy) {
  const std::string deep = std::string(150, '[') + std::string(150, ']');
  struct Case {
    std::string json, binary, says;
  } cases[] = {
      {R"({"inputs":[)", "", "malformed JSON"},
      {"", "", "malformed JSON"},
      {"[1,2]", "", "no inputs"},
      {R"({"id":"x"})", "", "no inputs"},
      {R"({"inputs":[]})", "", "no inputs"},
      {R"({"inputs":{"name":"x"}})", "", "no inputs"},
      {R"({"inputs":[1]})", "", "lists of objects"},
      {R"({"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]})", "", "name: missing"},
      {R"({"inputs":[{"name":"x","shape":[1],"data":[1]}]})", "", "datatype: missing"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","data":[1]}]})", "", "shape: missing"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]})", "", "data: missing"},
      {R"({"inputs":[{"name":"x","datatype":"FP99","shape":[1],"data":[1]}]})", "",
       "unknown datatype 'FP99'"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":3,"data":[1]}]})", "",
       "shape: must be a list"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1.5],"data":[1]}]})", "",
       "dimensions must be integers"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[-1],"data":[1]}]})", "",
       "negative dimension"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[1,2]}]})", "",
       "has 3 elements, data has 2"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1,2]}]})", "",
       "data has more"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":["a"]}]})", "",
       "expected a number"},
      {R"({"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[true]}]})", "",
       "expected an integer"},
      {R"({"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[1.5]}]})", "",
       "expected an integer"},
      {R"({"inputs":[{"name":"x","datatype":"UINT8","shape":[1],"data":[256]}]})", "",
       "out of range"},
      {R"({"inputs":[{"name":"x","datatype":"UINT32","shape":[1],"data":[-1]}]})", "",
       "negative value"},
      {R"({"inputs":[{"name":"x","datatype":"INT8","shape":[1],"data":[-129]}]})", "",
       "out of range"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[{"a":1}]}]})", "",
       "not objects"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[null]}]})", "",
       "null is not a tensor element"},
      {R"({"inputs":[{"name":5,"datatype":"FP32","shape":[1],"data":[1]}]})", "",
       "name: must be a string"},
      {R"({"id":7,"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]})", "",
       "id: must be a string"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2],
           "parameters":{"binary_data_size":8}}]})",
       "1234", "runs past"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]})", "1234",
       "no input claims"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],
           "parameters":{"binary_data_size":4}}]})",
       "1234", "both data and"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{}]})", "",
       "outputs[0].name: missing"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":)" + deep + "}]}", "",
       "deeper than 100"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[4294967296,4294967296,4],"data":[1]}]})",
       "", "too many elements"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],
           "outputs":[{"name":"y","parameters":{"classification":3}}]})",
       "", "classification is not supported"},
  };
  int n = 0;
  for (const auto& c : cases) {
    auto r = decode(c.json, c.binary);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << c.json << "\n  said: " << r.status().message() << "\n  expected: " << c.says;
    ++n;
  }
  EXPECT_GE(n, 27);
}

TEST(V2Json, BoundsJsonElementsBeforeStoringThem) {
  DecodeLimits limits;
  limits.max_json_elements = 1000;
  std::string data = "[";
  for (int i = 0; i < 5000; ++i) data += (i ? ",1" : "1");
  data += "]";
  // The shape comes last, so only the element bound can stop this early.
  auto r = decode_infer_request(
      R"({"inputs":[{"name":"x","datatype":"FP32","data":)" + data + R"(,"shape":[5000]}]})", "",
      limits);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("more than 1000 JSON data elements"), std::string::npos);
}

}  // namespace
}  // namespace cadre::serving::http
