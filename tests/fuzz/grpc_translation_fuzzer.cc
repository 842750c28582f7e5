// Fuzzes how the ingress carries gRPC calls over HTTP (ingress/grpc_translation.h):
// a replica's infer and metadata answers (a JSON header, binary outputs after it)
// and a caller's ModelInferRequest of any bytes must give a message or an error
// value, never a crash or an allocation the bytes merely claim.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ingress/grpc_translation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 3, size - 3);
  switch (data[0] % 3) {
    case 0: {
      // The next two bytes are the Inference-Header-Content-Length, as text.
      cadre::serving::http::HttpResponse answer;
      answer.body = bytes;
      answer.headers.emplace_back("Inference-Header-Content-Length",
                                  std::to_string(static_cast<size_t>(data[1]) << 8 | data[2]));
      ::inference::ModelInferResponse out;
      (void)cadre::ingress::parse_infer_http_response(answer, &out);
      (void)cadre::ingress::call_error(answer);
      break;
    }
    case 1: {
      cadre::serving::http::HttpResponse answer;
      answer.body = bytes;
      ::inference::ModelMetadataResponse out;
      (void)cadre::ingress::parse_metadata_http_response(answer, &out);
      break;
    }
    default: {
      ::inference::ModelInferRequest in;
      if (!in.ParseFromString(bytes)) return 0;
      (void)cadre::ingress::infer_http_request(in);
      (void)cadre::ingress::model_http_request(in.model_name(), in.model_version(), data[1] & 1);
    }
  }
  return 0;
}
