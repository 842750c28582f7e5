#include "agent/replica_files.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace cadre::agent {
namespace {

namespace fs = std::filesystem;

protocol::RemoveReplicaFiles hello_request() {
  protocol::RemoveReplicaFiles request;
  request.job = "hello";
  request.uid_prefix = "hello-mx6h7f75-";
  request.replicas = {"main-0", "worker-1"};
  return request;
}

// A replica's folder (with a file in it) and its log, as the agent leaves them.
void leave_files(const fs::path& work, const std::string& uid) {
  fs::create_directories(work / "replicas" / uid / "tmp");
  std::ofstream(work / "replicas" / uid / "tmp" / "scratch") << "0123456789";
  fs::create_directories(work / "logs");
  std::ofstream(work / "logs" / (uid + ".log")) << "epoch=1 loss=0.5\n";
}

TEST(ReplicaFiles, AUidBelongsToTheJobOnlyAsPrefixReplicaNameAndInstanceNumber) {
  const auto request = hello_request();
  EXPECT_TRUE(is_replica_of("hello-mx6h7f75-main-0-0", request));
  EXPECT_TRUE(is_replica_of("hello-mx6h7f75-worker-1-17", request));
  EXPECT_FALSE(is_replica_of("hello-mx6h7f75-worker-2-0", request)) << "not one of its replicas";
  EXPECT_FALSE(is_replica_of("hello-mx6h7f76-main-0-0", request)) << "another incarnation";
  EXPECT_FALSE(is_replica_of("hello-mx6h7f75-main-0-x", request)) << "no instance number";
  EXPECT_FALSE(is_replica_of("hello-mx6h7f75-main-0-", request));
  EXPECT_FALSE(is_replica_of("hello-mx6h7f75-main-0", request));
  EXPECT_FALSE(is_replica_of("hello-mx6h7f75-", request));
  // A job named like this one's prefix: its uids begin the same but go on differently.
  EXPECT_FALSE(is_replica_of("hello-mx6h7f75-mx6h7f80-main-0-0", request));
}

TEST(ReplicaFiles, FindsTheJobsFoldersAndLogsAndRemovesThemLeavingEverythingElse) {
  cadre::testing::TempDir work{"cadre-replica-files"};
  leave_files(work.path(), "hello-mx6h7f75-main-0-0");
  leave_files(work.path(), "hello-mx6h7f75-main-0-1");
  leave_files(work.path(), "hello-mx6h7f76-main-0-0");  // the job created again
  leave_files(work.path(), "other-mx6h7f75-main-0-0");
  fs::create_directories(work.path() / "replicas" / "hello-mx6h7f75-worker-1-2");  // folder only
  fs::create_directories(work.path() / "checkpoints" / "hello");
  std::ofstream(work.path() / "checkpoints" / "hello" / "model.cadre") << "weights";

  const auto uids = replica_files_of(work.path().string(), hello_request());
  EXPECT_EQ(uids, (std::vector<std::string>{"hello-mx6h7f75-main-0-0", "hello-mx6h7f75-main-0-1",
                                            "hello-mx6h7f75-worker-1-2"}));
  for (const auto& uid : uids) {
    auto freed = remove_replica_files(work.path().string(), uid);
    ASSERT_OK(freed);
    EXPECT_EQ(*freed, uid == "hello-mx6h7f75-worker-1-2" ? 0u : 10u + 17u) << uid;
    EXPECT_FALSE(fs::exists(work.path() / "replicas" / uid));
    EXPECT_FALSE(fs::exists(work.path() / "logs" / (uid + ".log")));
  }
  EXPECT_TRUE(replica_files_of(work.path().string(), hello_request()).empty());
  EXPECT_TRUE(fs::exists(work.path() / "logs" / "hello-mx6h7f76-main-0-0.log"));
  EXPECT_TRUE(fs::exists(work.path() / "replicas" / "other-mx6h7f75-main-0-0"));
  EXPECT_TRUE(fs::exists(work.path() / "checkpoints" / "hello" / "model.cadre"))
      << "a model may be served from its checkpoints";
}

TEST(ReplicaFiles, ALinkInAReplicaFolderIsRemovedAndWhatItPointsAtKept) {
  cadre::testing::TempDir work{"cadre-replica-files"};
  fs::create_directories(work.path() / "outside");
  std::ofstream(work.path() / "outside" / "precious") << "keep me";
  leave_files(work.path(), "hello-mx6h7f75-main-0-0");
  fs::create_directory_symlink(work.path() / "outside",
                               work.path() / "replicas" / "hello-mx6h7f75-main-0-0" / "link");
  auto freed = remove_replica_files(work.path().string(), "hello-mx6h7f75-main-0-0");
  ASSERT_OK(freed);
  EXPECT_EQ(*freed, 27u) << "what the link points at is not counted";
  EXPECT_FALSE(fs::exists(work.path() / "replicas" / "hello-mx6h7f75-main-0-0"));
  EXPECT_TRUE(fs::exists(work.path() / "outside" / "precious"));
}

TEST(ReplicaFiles, ARequestNamingAnythingButPlainFolderNamesIsRefused) {
  auto request = hello_request();
  EXPECT_OK(check_remove_request(request));
  const std::vector<std::string> prefixes = {"", "../", "hello", "a/b-",
                                             std::string(300, 'a') + "-"};
  for (const auto& prefix : prefixes) {
    request = hello_request();
    request.uid_prefix = prefix;
    EXPECT_EQ(check_remove_request(request).code(), StatusCode::kInvalidArgument) << prefix;
  }
  for (const std::string name : {"", "..", "a/b", "main 0"}) {
    request = hello_request();
    request.replicas.push_back(name);
    EXPECT_EQ(check_remove_request(request).code(), StatusCode::kInvalidArgument) << name;
  }
  request = hello_request();
  request.replicas.assign(70000, "main-0");
  EXPECT_EQ(check_remove_request(request).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(remove_replica_files("/tmp", "../etc").status().code(), StatusCode::kInvalidArgument);
}

TEST(ReplicaFiles, AWorkDirWithoutFoldersHasNothingToRemove) {
  cadre::testing::TempDir work{"cadre-replica-files"};
  EXPECT_TRUE(replica_files_of(work.path().string(), hello_request()).empty());
  auto freed = remove_replica_files(work.path().string(), "hello-mx6h7f75-main-0-0");
  ASSERT_OK(freed);
  EXPECT_EQ(*freed, 0u);
}

}  // namespace
}  // namespace cadre::agent
