#include "actors/file_removals.h"

#include <gtest/gtest.h>

namespace cadre::actors {
namespace {

protocol::RemoveReplicaFiles files_of(const std::string& prefix) {
  return protocol::RemoveReplicaFiles{prefix.substr(0, prefix.find('-')), prefix + "-", {"main-0"}};
}

std::vector<std::string> prefixes_owed(const FileRemovals& removals, const std::string& node) {
  std::vector<std::string> out;
  for (const auto& files : removals.owed_to(node)) out.push_back(files.uid_prefix);
  return out;
}

TEST(FileRemovals, ARemovalIsOwedToEveryNodeUntilEachAnswersThenErased) {
  FileRemovals removals;
  const auto added = removals.add(files_of("a-1"), {"n1", "n2"});
  ASSERT_EQ(added.put.size(), 1u);
  EXPECT_EQ(added.put[0].unsure, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(prefixes_owed(removals, "n1"), std::vector<std::string>{"a-1-"});

  const auto first = removals.answered("n1", "a-1-");
  ASSERT_EQ(first.put.size(), 1u);  // stored with only n2 left
  EXPECT_EQ(first.put[0].unsure, std::vector<std::string>{"n2"});
  EXPECT_TRUE(prefixes_owed(removals, "n1").empty());

  const auto last = removals.answered("n2", "a-1-");
  EXPECT_TRUE(last.put.empty());
  EXPECT_EQ(last.erase, std::vector<std::string>{"a-1-"});
  EXPECT_EQ(removals.size(), 0u);
}

TEST(FileRemovals, AnAnswerForAnotherPrefixOrFromANodeNotAskedChangesNothing) {
  FileRemovals removals;
  (void)removals.add(files_of("a-1"), {"n1"});
  const auto other = removals.answered("n1", "b-1-");
  EXPECT_TRUE(other.put.empty() && other.erase.empty());
  const auto stranger = removals.answered("n9", "a-1-");
  EXPECT_TRUE(stranger.put.empty() && stranger.erase.empty());
  EXPECT_EQ(removals.size(), 1u);
}

TEST(FileRemovals, NothingIsKeptWhenTheClusterHasNoNode) {
  FileRemovals removals;
  const auto added = removals.add(files_of("a-1"), {});
  EXPECT_TRUE(added.put.empty());
  EXPECT_EQ(removals.size(), 0u);
}

TEST(FileRemovals, ADeletedNodeIsNoLongerWaitedForInAnyRemoval) {
  FileRemovals removals;
  (void)removals.add(files_of("a-1"), {"gone"});
  (void)removals.add(files_of("b-1"), {"gone", "n1"});
  const auto writes = removals.node_deleted("gone");
  EXPECT_EQ(writes.erase, std::vector<std::string>{"a-1-"});
  ASSERT_EQ(writes.put.size(), 1u);
  EXPECT_EQ(writes.put[0].files.uid_prefix, "b-1-");
  EXPECT_EQ(writes.put[0].unsure, std::vector<std::string>{"n1"});
}

TEST(FileRemovals, PastItsCapacityTheOldestIsForgottenAndSaidSo) {
  FileRemovals removals(2);
  EXPECT_FALSE(removals.add(files_of("a-1"), {"n1"}).forgot_oldest);
  EXPECT_FALSE(removals.add(files_of("b-1"), {"n1"}).forgot_oldest);
  const auto third = removals.add(files_of("c-1"), {"n1"});
  EXPECT_TRUE(third.forgot_oldest);
  EXPECT_EQ(third.erase, std::vector<std::string>{"a-1-"});
  EXPECT_EQ(prefixes_owed(removals, "n1"), (std::vector<std::string>{"b-1-", "c-1-"}));
}

TEST(FileRemovals, RestoredRemovalsAreOwedOldestFirstAsBeforeTheRestart) {
  FileRemovals removals;
  removals.restore({FileRemovalRecord{files_of("a-1"), {"n1", "n2"}},
                    FileRemovalRecord{files_of("b-1"), {}},  // answered by all: dropped
                    FileRemovalRecord{files_of("c-1"), {"n2"}}});
  EXPECT_EQ(removals.size(), 2u);
  EXPECT_EQ(prefixes_owed(removals, "n2"), (std::vector<std::string>{"a-1-", "c-1-"}));
  EXPECT_EQ(prefixes_owed(removals, "n1"), std::vector<std::string>{"a-1-"});
  EXPECT_EQ(removals.owed_to("n1")[0].replicas, std::vector<std::string>{"main-0"});
}

}  // namespace
}  // namespace cadre::actors
