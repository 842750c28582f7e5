// The frame codec and the exec message schema against honest and hostile bytes.
#include "protocol/stream_framing.h"

#include <gtest/gtest.h>

#include "protocol/exec_messages.h"
#include "tests/support/status_matchers.h"

namespace cadre::agent::rsh {
namespace {

using protocol::decode_exec;
using protocol::ExecEvent;
using protocol::ExecEventKind;
using protocol::ExecRequest;
using protocol::FrameDecoder;
using protocol::kFrameHeaderBytes;

// cadre-rsh's frames: the exec wire's limit unless a test names another.
Result<std::string> encode_frame(std::string_view payload,
                                 size_t max = protocol::kMaxExecFrameBytes) {
  return protocol::encode_frame(payload, max);
}

std::string length_prefix(uint32_t size) {
  return {static_cast<char>(size >> 24), static_cast<char>(size >> 16),
          static_cast<char>(size >> 8), static_cast<char>(size)};
}

TEST(FrameCodec, ReassemblesFramesFromAStreamSplitAtEveryByteBoundary) {
  const std::string a = *encode_frame("first");
  const std::string b = *encode_frame(std::string(70000, 'x'));
  const std::string stream = a + b;
  for (size_t cut = 0; cut <= stream.size(); cut += (cut < 64 ? 1 : 4099)) {
    FrameDecoder decoder(protocol::kMaxExecFrameBytes);
    decoder.append(std::string_view(stream).substr(0, cut));
    std::vector<std::string> frames;
    for (auto f = decoder.next(); f.ok() && f->has_value(); f = decoder.next()) {
      frames.push_back(**f);
    }
    decoder.append(std::string_view(stream).substr(cut));
    for (auto f = decoder.next(); f.ok() && f->has_value(); f = decoder.next()) {
      frames.push_back(**f);
    }
    ASSERT_EQ(frames.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(frames[0], "first");
    EXPECT_EQ(frames[1], std::string(70000, 'x'));
    EXPECT_EQ(decoder.buffered(), 0u);
  }
}

TEST(FrameCodec, WaitsForTheRestOfATruncatedFrameAndCountsWhatIsBuffered) {
  const std::string frame = *encode_frame("payload");
  FrameDecoder decoder(protocol::kMaxExecFrameBytes);
  decoder.append(frame.substr(0, frame.size() - 1));
  auto next = decoder.next();
  ASSERT_OK(next);
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(decoder.buffered(), frame.size() - 1);  // what EOF here would leave behind
}

TEST(FrameCodec, RefusesZeroAndOversizedLengthsBeforeAnyPayloadArrives) {
  for (uint32_t size : {0u, 1025u, 0xffffffffu}) {
    FrameDecoder decoder(1024);
    decoder.append(length_prefix(size));  // no payload at all: the claim alone is refused
    auto next = decoder.next();
    ASSERT_FALSE(next.ok()) << size;
    EXPECT_NE(next.status().message().find(std::to_string(size)), std::string::npos);
    // The stream cannot be resynchronised: valid bytes afterwards do not help.
    decoder.append(*encode_frame("ok"));
    EXPECT_FALSE(decoder.next().ok()) << size;
  }
}

TEST(FrameCodec, AcceptsAFrameOfExactlyTheLimit) {
  FrameDecoder decoder(1024);
  decoder.append(*encode_frame(std::string(1024, 'y'), 1024));
  auto next = decoder.next();
  ASSERT_OK(next);
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->size(), 1024u);
}

TEST(FrameCodec, EncodeRefusesEmptyAndOversizedPayloads) {
  EXPECT_FALSE(encode_frame("").ok());
  EXPECT_FALSE(encode_frame(std::string(1025, 'z'), 1024).ok());
}

TEST(ExecMessages, RoundTripEveryFieldOfARequestAndAnEvent) {
  ExecRequest request;
  request.token = "t0k3n";
  request.argv = {"/bin/sh", "-c", " orted -mca ess \"env\""};
  request.env = {{"A", "1"}, {"B", ""}};
  auto decoded = decode_exec<ExecRequest>(protocol::encode(request), "ExecRequest");
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->token, request.token);
  EXPECT_EQ(decoded->argv, request.argv);
  EXPECT_EQ(decoded->env, request.env);

  ExecEvent event;
  event.kind = ExecEventKind::kStdout;
  event.data = std::string("\0\xff binary", 9);
  event.exit_code = 143;
  event.signal = 15;
  auto back = decode_exec<ExecEvent>(protocol::encode(event), "ExecEvent");
  ASSERT_OK(back);
  EXPECT_EQ(back->kind, ExecEventKind::kStdout);
  EXPECT_EQ(back->data, event.data);
  EXPECT_EQ(back->exit_code, 143);
  EXPECT_EQ(back->signal, 15);
}

// A request whose token is a number: right name, wrong type.
struct WrongTokenType {
  uint32_t v = protocol::kExecWireVersion;
  int token = 7;
  MSGPACK_DEFINE_MAP(v, token);
};

TEST(ExecMessages, DecodingGarbageTruncationWrongTypesAndOtherVersionsGivesErrorValues) {
  const std::string good = protocol::encode(ExecRequest{});
  EXPECT_FALSE(decode_exec<ExecRequest>("", "ExecRequest").ok());
  EXPECT_FALSE(decode_exec<ExecRequest>("\xc1", "ExecRequest").ok());  // never-used msgpack byte
  for (size_t cut = 1; cut < good.size(); ++cut) {
    EXPECT_FALSE(decode_exec<ExecRequest>(good.substr(0, cut), "ExecRequest").ok()) << cut;
  }
  EXPECT_FALSE(decode_exec<ExecRequest>(good + "x", "ExecRequest").ok());  // trailing bytes
  EXPECT_FALSE(decode_exec<ExecRequest>(protocol::encode(std::vector<int>{1, 2}), "r").ok());
  EXPECT_FALSE(decode_exec<ExecRequest>(protocol::encode(WrongTokenType{}), "r").ok());

  ExecRequest newer;
  newer.v = protocol::kExecWireVersion + 1;
  auto refused = decode_exec<ExecRequest>(protocol::encode(newer), "ExecRequest");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("wire version"), std::string::npos);
}

TEST(ExecMessages, AnArrayClaimingMillionsOfElementsIsRefusedWithoutAllocatingThem) {
  // 0xdd: array32 with a 4-byte count, here 2^28, followed by nothing.
  const std::string claim = std::string(
      "\x81\xa4"
      "argv\xdd\x10\x00\x00\x00",
      11);
  EXPECT_FALSE(decode_exec<ExecRequest>(claim, "ExecRequest").ok());
}

}  // namespace
}  // namespace cadre::agent::rsh
