// Wire structs of the training engine: the collective rendezvous (ring backend,
// MASTER_ADDR rendezvous) and the parameter-server protocol. Every frame is one
// msgpack map (MSGPACK_DEFINE_MAP: named fields, new ones optional), optionally
// followed by raw little-endian float32 tensor bytes in a second frame.
//
// Transports: the ring handshake and rendezvous use TCP frames prefixed by a
// 4-byte big-endian length; the parameter server uses ZeroMQ multipart messages
// [PsHeader][tensor bytes]. They are encoded and decoded by the one codec,
// protocol/codec.h, like every other message.
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/status.h"
#include "protocol/string_enum.h"

namespace cadre::protocol {

// Bumped on any incompatible change to the structs below.
constexpr uint32_t kTrainingWireVersion = 1;

// Sent by each ring rank on both of its connections (to next, from previous).
struct RingHello {
  uint32_t v = kTrainingWireVersion;  // wire version; peers must agree
  int32_t rank = -1;                  // sender's rank in [0, world_size)
  int32_t world_size = 0;             // sender's idea of the world size; must match
  std::string host_id;                // hostname + boot id: equal means shared memory works
  std::string shm_name;  // set by the sending side of a link when it offers shared memory
  MSGPACK_DEFINE_MAP(v, rank, world_size, host_id, shm_name);
};

// Answer to a RingHello that offered shared memory.
struct RingShmAck {
  uint32_t v = kTrainingWireVersion;  // wire version
  bool mapped = false;                // receiver mapped the segment; sender may unlink it
  std::string error;                  // why mapping failed (the link then falls back to TCP)
  MSGPACK_DEFINE_MAP(v, mapped, error);
};

// MASTER_ADDR rendezvous: every rank tells rank 0 where its ring listener is.
struct RendezvousJoin {
  uint32_t v = kTrainingWireVersion;  // wire version
  int32_t rank = -1;                  // joining rank
  int32_t world_size = 0;             // must equal rank 0's WORLD_SIZE
  std::string address;                // host:port of the joiner's ring listener
  MSGPACK_DEFINE_MAP(v, rank, world_size, address);
};

// Rank 0's reply once all ranks joined: the rank-ordered peer list.
struct RendezvousPeers {
  uint32_t v = kTrainingWireVersion;  // wire version
  std::vector<std::string> peers;     // host:port per rank, index = rank
  std::string error;                  // non-empty: the rendezvous failed, for this reason
  MSGPACK_DEFINE_MAP(v, peers, error);
};

// What a parameter-server frame is; it travels as its lower-case name.
// Requests: kRestore (the chief, worker 0, at start: reset the shard to committed
// epoch `epoch` at global step `step`; replies with parameters), kJoin (any other
// worker at start: replies with parameters, `epoch` and `step` once the chief has
// restored), kPull (current parameters), kPush (gradient; the reply carries updated
// parameters), kCheckpoint (the chief after an epoch: save the shard as epoch
// `epoch`), kDone (worker finished). Replies: kParams, kAck, kError.
enum class PsKind { kRestore, kJoin, kPull, kPush, kCheckpoint, kDone, kParams, kAck, kError };

template <>
struct EnumNames<PsKind> {
  static constexpr std::pair<PsKind, std::string_view> kTable[] = {
      {PsKind::kRestore, "restore"},
      {PsKind::kJoin, "join"},
      {PsKind::kPull, "pull"},
      {PsKind::kPush, "push"},
      {PsKind::kCheckpoint, "checkpoint"},
      {PsKind::kDone, "done"},
      {PsKind::kParams, "params"},
      {PsKind::kAck, "ack"},
      {PsKind::kError, "error"},
  };
};

inline bool is_request(PsKind kind) {
  return kind != PsKind::kParams && kind != PsKind::kAck && kind != PsKind::kError;
}

// Parameter-server request and reply header; the tensor (gradient slice on a
// push, parameter slice on a reply) travels as a second frame of count floats.
struct PsHeader {
  uint32_t v = kTrainingWireVersion;  // wire version
  PsKind kind = PsKind::kPull;        // see PsKind
  int32_t worker = -1;                // worker index in [0, num_workers)
  int64_t step = 0;                   // worker's global step; sync mode aggregates per step
  int32_t shard = -1;                 // parameter-server index the frame is for
  uint64_t offset = 0;                // first parameter of the shard within the flat vector
  uint64_t count = 0;                 // floats in the tensor frame (0: none)
  float lr = 0.0f;                    // push: learning rate to apply for this step
  std::string error;                  // kind kError: what was wrong
  int32_t epoch = 0;                  // epochs completed: restore/checkpoint requests, join replies
  MSGPACK_DEFINE_MAP(v, kind, worker, step, shard, offset, count, lr, error, epoch);
};

// Decodes one training-wire message from untrusted bytes through the one codec
// (protocol/codec.h), under the training wire's limits, and checks its version.
// Encoding is protocol::encode. Any malformed input is a DataLoss value naming `what`.
template <typename T>
Result<T> decode_training(std::string_view bytes, const char* what) {
  DecodeLimits limits;
  limits.max_elements = 4096;         // the largest: RendezvousPeers.peers, one per rank
  limits.max_string_bytes = 1 << 16;  // addresses, host ids, error texts
  limits.max_depth = 8;
  auto message = decode<T>(bytes, limits, what);
  if (!message.ok()) {
    return DataLoss(std::string(what) + ": malformed frame of " + std::to_string(bytes.size()) +
                    " bytes (" + message.status().message() + ")");
  }
  if (message->v != kTrainingWireVersion) {
    return DataLoss(std::string(what) + ": wire version " + std::to_string(message->v) +
                    ", expected " + std::to_string(kTrainingWireVersion));
  }
  return message;
}

}  // namespace cadre::protocol
