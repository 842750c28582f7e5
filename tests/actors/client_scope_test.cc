#include "actors/client_scope.h"

#include <gtest/gtest.h>

namespace cadre::actors::client_scope_test {
namespace {

protocol::GetReply two_namespaces() {
  protocol::GetReply reply;
  protocol::JobStatus mine, theirs;
  mine.name = "train";
  mine.ns = "team-a";
  theirs.name = "secret";
  theirs.ns = "team-b";
  reply.jobs = {mine, theirs};
  protocol::NotebookStatus nb_mine, nb_theirs;
  nb_mine.ns = "team-a";
  nb_theirs.ns = "team-b";
  reply.notebooks = {nb_mine, nb_theirs};
  protocol::ExperimentStatus ex;
  ex.ns = "team-b";
  reply.experiments = {ex};
  protocol::TokenInfo token;
  token.ns = "team-b";
  reply.tokens = {token};
  protocol::InferenceServiceStatus service;
  service.ns = "team-a";
  reply.services = {service};
  protocol::PipelineRunStatus run;
  run.ns = "team-b";
  reply.runs = {run};
  protocol::RecurringRunStatus recurring;
  recurring.ns = "team-b";
  reply.recurring_runs = {recurring};
  reply.nodes.resize(2);
  reply.pipelines.resize(1);
  return reply;
}

TEST(ClientScope, AScopedKeySeesItsNamespaceAndTheClustersNodesAndPipelinesOnly) {
  const auto seen = within_scope(two_namespaces(), "team-a");
  ASSERT_EQ(seen.jobs.size(), 1u);
  EXPECT_EQ(seen.jobs[0].name, "train");
  EXPECT_EQ(seen.notebooks.size(), 1u);
  EXPECT_TRUE(seen.experiments.empty());
  EXPECT_TRUE(seen.tokens.empty());
  EXPECT_EQ(seen.services.size(), 1u);
  EXPECT_TRUE(seen.runs.empty());
  EXPECT_TRUE(seen.recurring_runs.empty());
  EXPECT_EQ(seen.nodes.size(), 2u);
  EXPECT_EQ(seen.pipelines.size(), 1u);
}

TEST(ClientScope, AnUnscopedKeySeesEverything) {
  const auto seen = within_scope(two_namespaces(), "");
  EXPECT_EQ(seen.jobs.size(), 2u);
  EXPECT_EQ(seen.tokens.size(), 1u);
}

TEST(ClientScope, AnotherNamespacesObjectIsNotFoundAndTheClustersIsNotTheKeysToChange) {
  EXPECT_TRUE(check_scope("", "team-b", "job/secret").ok());
  EXPECT_TRUE(check_scope("team-a", "team-a", "job/train").ok());
  const Status other = check_scope("team-a", "team-b", "job/secret");
  EXPECT_EQ(other.code(), StatusCode::kNotFound);
  EXPECT_EQ(other.message(), "job/secret not found in namespace 'team-a'");
  EXPECT_EQ(check_scope("team-a", "", "nodes/gpu-1").code(), StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace cadre::actors::client_scope_test
