// libFuzzer target for the wire decoder: any bytes, as header or as the body of
// any message kind, must yield a value or an error — never a crash, a leak, or an
// allocation sized by what the bytes claim (ASan's allocator limit catches that).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/codec.h"

namespace {

using namespace cadre::protocol;

template <typename T>
void decode_as(std::string_view bytes, const DecodeLimits& limits) {
  auto result = decode<T>(bytes, limits);
  if (result.ok()) {
    // A decoded value must re-encode and decode to itself without error.
    auto again = decode<T>(encode(*result), limits);
    if (!again.ok()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const DecodeLimits limits;
  // The first byte picks the split between a header frame and a body frame.
  const size_t split = data[0] % size;
  const std::string_view header(reinterpret_cast<const char*>(data) + 1, split);
  const std::string_view body(reinterpret_cast<const char*>(data) + 1 + split, size - 1 - split);
  (void)decode_header(header, limits);
  decode_as<RegisterRequest>(body, limits);
  decode_as<Heartbeat>(body, limits);
  decode_as<LaunchReplica>(body, limits);
  decode_as<ReplicaExited>(body, limits);
  decode_as<MetricsReport>(body, limits);
  decode_as<KillReplica>(body, limits);
  decode_as<ReadLogs>(body, limits);
  decode_as<LogsChunk>(body, limits);
  decode_as<RemoveReplicaFiles>(body, limits);
  decode_as<ReplicaFilesRemoved>(body, limits);
  decode_as<ApplyRequest>(body, limits);
  decode_as<GetReply>(body, limits);
  decode_as<LogsRequest>(body, limits);
  decode_as<ReplicaReadiness>(body, limits);
  decode_as<RoutesRequest>(body, limits);
  decode_as<ApiRequest>(body, limits);
  decode_as<RoutesReply>(body, limits);
  decode_as<TokenCreateRequest>(body, limits);
  decode_as<TokenCreateReply>(body, limits);
  decode_as<CordonRequest>(body, limits);
  decode_as<SuspendRequest>(body, limits);
  decode_as<SuspendReply>(body, limits);
  return 0;
}
