// Wire of cadre-rsh (agent/rsh/, docs/mpi.md): the remote-exec service an MPI
// Launcher's mpirun uses instead of ssh to start its daemons on Worker replicas.
//
// One TCP connection runs one command:
//   client -> server  ExecRequest (exactly one; nothing else is read from the client)
//   server -> client  ExecEvent kStdout/kStderr chunks as the command writes them,
//                     then exactly one kExit or kError, then the server closes.
// The client closing its end early means "hang up": the server kills the command's
// process group, as sshd does when the ssh client goes away.
//
// Framing: a 4-byte big-endian payload length, then the payload, one msgpack map
// (MSGPACK_DEFINE_MAP: fields travel by name, an unknown one is ignored, a missing
// one keeps its default). A length of 0 or above kMaxExecFrameBytes is refused
// before any payload byte is read. Nothing outside this file and protocol/codec.h
// packs or unpacks these structs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "protocol/codec.h"
#include "protocol/status.h"

namespace cadre::protocol {

// Bumped on any change an older peer would misread.
inline constexpr uint32_t kExecWireVersion = 1;

// Largest frame either side accepts. A request is an argv of a few kilobytes (an
// orted command line is ~1 KiB); output travels in chunks of kExecOutputChunkBytes.
inline constexpr size_t kMaxExecFrameBytes = 1u << 20;
inline constexpr size_t kExecOutputChunkBytes = 64u << 10;

// The first and only frame from the client.
struct ExecRequest {
  uint32_t v = kExecWireVersion;  // wire version; the server refuses any other
  // Unused and left empty: the connection proves CADRE_JOB_TOKEN in the handshake
  // before this request (protocol/peer_auth.h), so the secret never travels.
  std::string token;
  std::vector<std::string> argv;  // program and arguments, run with execvp; never empty
  // Set in the command's environment on top of the server's own (the Worker
  // replica's), overriding variables of the same name.
  std::map<std::string, std::string> env;
  MSGPACK_DEFINE_MAP(v, token, argv, env);
};

enum class ExecEventKind : uint8_t {
  kInvalid = 0,
  kStdout = 1,  // data: bytes the command wrote to its stdout
  kStderr = 2,  // data: bytes the command wrote to its stderr
  kExit = 3,    // the command ended: exit_code and signal; last frame
  kError = 4,   // the command was refused or could not start: error; last frame
};

// Every frame from the server.
struct ExecEvent {
  uint32_t v = kExecWireVersion;                 // wire version
  ExecEventKind kind = ExecEventKind::kInvalid;  // what this frame carries
  std::string data;       // kStdout/kStderr: raw output bytes (not necessarily UTF-8)
  int32_t exit_code = 0;  // kExit: exit status, or 128 + signal when a signal ended it
  int32_t signal = 0;     // kExit: the signal that ended the command; 0 for a normal exit
  std::string error;      // kError: why, e.g. "authentication failed", "execvp(x): ..."
  MSGPACK_DEFINE_MAP(v, kind, data, exit_code, signal, error);
};

// Bounds for decoding untrusted exec frames: no frame is larger than
// kMaxExecFrameBytes, and none of these structs nests deeper than 3.
inline DecodeLimits exec_decode_limits() {
  DecodeLimits limits;
  limits.max_depth = 4;
  limits.max_elements = 1u << 16;
  limits.max_string_bytes = kMaxExecFrameBytes;
  return limits;
}

// Decodes one exec frame payload and checks its wire version. Malformed input,
// a wrong field type or another version is an InvalidArgument value naming `what`.
template <typename T>
Result<T> decode_exec(std::string_view payload, const char* what) {
  auto handle = unpack_bounded(payload, exec_decode_limits());
  if (!handle.ok()) return handle.status().annotate(what);
  ASSIGN_OR_RETURN(T message, convert_object<T>(handle->get(), what));
  if (message.v != kExecWireVersion) {
    return InvalidArgument(std::string(what) + ": wire version " + std::to_string(message.v) +
                           ", this peer speaks " + std::to_string(kExecWireVersion));
  }
  return message;
}

}  // namespace cadre::protocol

MSGPACK_ADD_ENUM(cadre::protocol::ExecEventKind);
