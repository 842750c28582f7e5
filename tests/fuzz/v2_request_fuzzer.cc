// Fuzzes cadre-serve's Open Inference Protocol request decoder (JSON with the
// binary tensor extension) and the tensor checks that follow it: any bytes must
// give a request or an error value, never a crash, a hang or an allocation the
// bytes merely claim.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "serving/http/v2_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first two bytes say where the JSON header ends, as
  // Inference-Header-Content-Length does; the rest is JSON then binary tensors.
  const size_t header = (static_cast<size_t>(data[0]) << 8 | data[1]) % (size - 1);
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  cadre::serving::http::DecodeLimits limits;
  limits.max_json_elements = 1 << 16;
  auto request = cadre::serving::http::decode_infer_request(body.substr(0, header),
                                                            body.substr(header), limits);
  if (!request.ok()) return 0;
  for (const auto& t : request->inputs) (void)cadre::serving::check_tensor_data(t, 1 << 20);
  cadre::serving::InferResponse response{"m", 1, request->id, request->inputs};
  (void)cadre::serving::http::encode_infer_response(response, *request);
  return 0;
}
