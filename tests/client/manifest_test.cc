#include "client/manifest.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

namespace cadre::client {
namespace {

TEST(SplitDocuments, KeepsEachDocumentsTextAsWritten) {
  const std::string text =
      "apiVersion: cadre/v1\nkind: Job\n# comment kept\nmetadata: {name: a}\n"
      "---\n"
      "kind: Job\nmetadata:\n  name: b\n";
  const auto docs = split_documents(text);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], "apiVersion: cadre/v1\nkind: Job\n# comment kept\nmetadata: {name: a}\n");
  EXPECT_EQ(docs[1], "kind: Job\nmetadata:\n  name: b\n");
}

TEST(SplitDocuments, IgnoresLeadingSeparatorsAndEmptyOrCommentOnlyDocuments) {
  const auto docs = split_documents("---\n# only a comment\n---   \n\nkind: Job\n---\n\n");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0], "\nkind: Job\n");
}

TEST(SplitDocuments, DoesNotSplitOnDashesInsideALine) {
  const auto docs = split_documents("args: ['---']\nnote: a---b\n ---\n");
  EXPECT_EQ(docs.size(), 1u);
}

TEST(SplitDocuments, KeepsAKfpPlatformSpecWithThePipelineSpecBeforeIt) {
  const std::string pipeline = "pipelineInfo:\n  name: p\nschemaVersion: 2.1.0\n";
  const std::string platform =
      "platforms:\n  kubernetes:\n    deploymentSpec:\n      executors: {}\n";
  const auto docs = split_documents(pipeline + "---\n" + platform + "---\nkind: Job\n");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], pipeline + "---\n" + platform);
  EXPECT_EQ(docs[1], "kind: Job\n");
}

TEST(SplitDocuments, ReturnsNothingForEmptyInput) {
  EXPECT_TRUE(split_documents("").empty());
  EXPECT_TRUE(split_documents("\n\n# nothing\n").empty());
}

TEST(ManifestIdentity, ReadsKindAndName) {
  const auto identity = manifest_identity("kind: Job\nmetadata:\n  name: hello\n", 0);
  ASSERT_OK(identity);
  EXPECT_EQ(identity->kind, "Job");
  EXPECT_EQ(identity->name, "hello");
}

TEST(ManifestIdentity, NamesTheDocumentAndFieldThatIsMissing) {
  const auto identity = manifest_identity("kind: Job\nmetadata: {}\n", 1);
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.status().message(), "document 2: metadata.name: required");
  EXPECT_FALSE(manifest_identity("- a\n", 0).ok());
  EXPECT_FALSE(manifest_identity("kind: [\n", 0).ok());
}

}  // namespace
}  // namespace cadre::client
