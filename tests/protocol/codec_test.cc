#include "protocol/codec.h"

#include "protocol/ps_messages.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

namespace cadre::protocol::codec_test {
namespace {

// A peer from a newer release with a field we do not know.
struct Newer {
  std::string uid = "u";
  std::string future = "x";
  MSGPACK_DEFINE_MAP(uid, future)
};

// A peer that sends the right name with the wrong type.
struct Wrong {
  int uid = 5;  // KillReplica.uid is a string
  MSGPACK_DEFINE_MAP(uid)
};

TEST(Codec, RoundTripsEveryFieldOfALaunch) {
  LaunchReplica launch;
  launch.uid = "hello-main-0-0";
  launch.job = "hello";
  launch.command = {"sh", "-c"};
  launch.args = {"echo hi"};
  launch.env = {{"A", "1"}};
  launch.gpu_indices = {0, 3};
  launch.memory_bytes = 1ll << 33;
  auto decoded = decode<LaunchReplica>(encode(launch), DecodeLimits{});
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->uid, launch.uid);
  EXPECT_EQ(decoded->command, launch.command);
  EXPECT_EQ(decoded->args, launch.args);
  EXPECT_EQ(decoded->env, launch.env);
  EXPECT_EQ(decoded->gpu_indices, launch.gpu_indices);
  EXPECT_EQ(decoded->memory_bytes, launch.memory_bytes);
}

TEST(Codec, RoundTripsOptionalExitCodeBothWays) {
  JobStatus status;
  status.name = "a";
  EXPECT_FALSE(decode<JobStatus>(encode(status), DecodeLimits{})->exit_code.has_value());
  status.exit_code = 3;
  EXPECT_EQ(decode<JobStatus>(encode(status), DecodeLimits{})->exit_code, 3);
}

TEST(Codec, MissingFieldsKeepDefaultsAndUnknownFieldsAreIgnored) {
  // An older or newer peer: fields by name, so both directions stay compatible.
  auto decoded = decode<KillReplica>(encode(Newer{}), DecodeLimits{});
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->uid, "u");
  EXPECT_EQ(decoded->grace_ms, KillReplica{}.grace_ms);
}

TEST(Codec, RejectsEmptyTruncatedAndTrailingBytes) {
  const std::string full = encode(ApplyRequest{"apiVersion: cadre/v1"});
  EXPECT_FALSE(decode<ApplyRequest>("", DecodeLimits{}).ok());
  for (size_t cut = 1; cut < full.size(); ++cut) {
    EXPECT_FALSE(decode<ApplyRequest>(full.substr(0, cut), DecodeLimits{}).ok()) << cut;
  }
  EXPECT_FALSE(decode<ApplyRequest>(full + "x", DecodeLimits{}).ok());
}

TEST(Codec, RejectsWrongTypesWithAnErrorValue) {
  auto decoded = decode<KillReplica>(encode(Wrong{}), DecodeLimits{});
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("wrong field type"), std::string::npos);
  // Not a map at all.
  EXPECT_FALSE(decode<KillReplica>(encode(std::vector<int>{1, 2}), DecodeLimits{}).ok());
}

TEST(Codec, RefusesCountsTheBytesDoNotHold) {
  // array32 claiming 4 billion elements in 5 bytes: must fail without allocating.
  const std::string huge_array("\xdd\xff\xff\xff\xff", 5);
  EXPECT_FALSE(unpack_bounded(huge_array, DecodeLimits{}).ok());
  const std::string huge_map("\xdf\xff\xff\xff\xff", 5);
  EXPECT_FALSE(unpack_bounded(huge_map, DecodeLimits{}).ok());
  const std::string huge_str("\xdb\xff\xff\xff\xff", 5);
  EXPECT_FALSE(unpack_bounded(huge_str, DecodeLimits{}).ok());
}

TEST(Codec, RefusesNestingDeeperThanTheLimit) {
  std::string deep(100, '\x91');  // 100 nested one-element arrays
  deep += '\x01';
  auto result = unpack_bounded(deep, DecodeLimits{});
  ASSERT_FALSE(result.ok());
}

TEST(Codec, HeaderWithWrongVersionOrUnknownKindIsRefused) {
  Header header;
  header.kind = MessageKind::kApply;
  EXPECT_OK(decode_header(encode(header), DecodeLimits{}));
  header.v = 99;
  auto wrong_version = decode_header(encode(header), DecodeLimits{});
  ASSERT_FALSE(wrong_version.ok());
  EXPECT_NE(wrong_version.status().message().find("version 99"), std::string::npos);
  header.v = kProtocolVersion;
  header.kind = static_cast<MessageKind>(4242);
  EXPECT_FALSE(decode_header(encode(header), DecodeLimits{}).ok());
}

TEST(Codec, StatesTravelAsTheirNamesAndAnUnknownNameIsRefused) {
  JobStatus status;
  status.phase = JobPhase::kRestarting;
  status.conditions.push_back({ConditionType::kRunning, ConditionStatus::kFalse, "r", "m", 1});
  auto decoded = decode<JobStatus>(encode(status), DecodeLimits{});
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->phase, JobPhase::kRestarting);
  EXPECT_EQ(decoded->conditions.at(0).type, ConditionType::kRunning);
  // On the wire the phase is the string "Restarting", as before it was an enum.
  EXPECT_NE(encode(status).find("Restarting"), std::string::npos);
  std::string wire = encode(status);
  wire.replace(wire.find("Restarting"), 10, "Restartinx");
  EXPECT_FALSE(decode<JobStatus>(wire, DecodeLimits{}).ok());
}

TEST(Codec, TrainingWireRefusesAnUnknownKindAndAnotherVersionByName) {
  PsHeader header;
  header.kind = PsKind::kPush;
  auto decoded = decode_training<PsHeader>(encode(header), "ps request");
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->kind, PsKind::kPush);
  std::string wire = encode(header);
  wire.replace(wire.find("push"), 4, "pusk");
  auto unknown = decode_training<PsHeader>(wire, "ps request");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(unknown.status().message().find("ps request: malformed frame"), std::string::npos);
  header.v = kTrainingWireVersion + 1;
  auto newer = decode_training<PsHeader>(encode(header), "ps request");
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("wire version"), std::string::npos);
}

}  // namespace
}  // namespace cadre::protocol::codec_test
