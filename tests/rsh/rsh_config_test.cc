// cadre-rsh's start-up parsing: mpirun's ssh-style command lines, the replica
// environment, and the token comparison.
#include "agent/rsh/rsh_config.h"

#include <gtest/gtest.h>

#include <map>

#include "agent/rsh/exec_session.h"
#include "tests/support/status_matchers.h"

namespace cadre::agent::rsh {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const std::map<std::string, std::string> kLauncherEnv = {
    {"CADRE_JOB_TOKEN", "secret"},
    {"CADRE_MPI_HOSTS", "job-worker-0=10.0.0.2:30001,job-worker-1=10.0.0.3:30002"}};

TEST(ClientConfig, SkipsSshOptionsAndTheirArgumentsThenTakesHostAndCommand) {
  auto config =
      parse_client_config({"-x", "-T", "-o", "StrictHostKeyChecking=no", "-p", "22", "-p2222",
                           "-xTl", "root", "job-worker-1", " orted", "-mca", "ess", "\"env\""},
                          env_of(kLauncherEnv));
  ASSERT_OK(config);
  EXPECT_EQ(config->host, "job-worker-1");
  EXPECT_EQ(config->endpoint.host, "10.0.0.3");
  EXPECT_EQ(config->endpoint.port, 30002);
  // Joined with spaces, quotes left for the remote shell, as ssh does.
  EXPECT_EQ(config->command, " orted -mca ess \"env\"");
  EXPECT_EQ(config->token, "secret");
}

TEST(ClientConfig, DropsAUserPrefixAndStopsOptionsAtADoubleDash) {
  auto config = parse_client_config({"--", "root@job-worker-0", "hostname"}, env_of(kLauncherEnv));
  ASSERT_OK(config);
  EXPECT_EQ(config->host, "job-worker-0");
  EXPECT_EQ(config->command, "hostname");
}

TEST(ClientConfig, RefusesMissingHostCommandOrOptionArgument) {
  EXPECT_FALSE(parse_client_config({}, env_of(kLauncherEnv)).ok());
  EXPECT_FALSE(parse_client_config({"-x", "-T"}, env_of(kLauncherEnv)).ok());
  EXPECT_FALSE(parse_client_config({"job-worker-0"}, env_of(kLauncherEnv)).ok());
  EXPECT_FALSE(parse_client_config({"-o"}, env_of(kLauncherEnv)).ok());
}

TEST(ClientConfig, AnUnknownHostIsNotFoundAndNamesTheHost) {
  auto config = parse_client_config({"job-worker-7", "true"}, env_of(kLauncherEnv));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
  EXPECT_NE(config.status().message().find("job-worker-7"), std::string::npos);
}

TEST(ClientConfig, NeedsTheTokenAndTheHostMap) {
  auto no_token = parse_client_config({"job-worker-0", "true"},
                                      env_of({{"CADRE_MPI_HOSTS", "job-worker-0=h:1"}}));
  ASSERT_FALSE(no_token.ok());
  EXPECT_NE(no_token.status().message().find("CADRE_JOB_TOKEN"), std::string::npos);
  auto empty_token = parse_client_config(
      {"job-worker-0", "true"},
      env_of({{"CADRE_MPI_HOSTS", "job-worker-0=h:1"}, {"CADRE_JOB_TOKEN", ""}}));
  EXPECT_FALSE(empty_token.ok());
  auto no_hosts = parse_client_config({"job-worker-0", "true"}, env_of({{"CADRE_JOB_TOKEN", "t"}}));
  ASSERT_FALSE(no_hosts.ok());
  EXPECT_NE(no_hosts.status().message().find("CADRE_MPI_HOSTS"), std::string::npos);
}

TEST(ClientConfig, SendsOnlyTheNamedVariablesThatAreSet) {
  auto env = kLauncherEnv;
  env["CADRE_RSH_SEND_ENV"] = "LD_LIBRARY_PATH,,UNSET_ONE";
  env["LD_LIBRARY_PATH"] = "/opt/lib";
  env["CADRE_RSH_CONNECT_TIMEOUT_S"] = "5";
  auto config = parse_client_config({"job-worker-0", "true"}, env_of(env));
  ASSERT_OK(config);
  ASSERT_EQ(config->env.size(), 1u);
  EXPECT_EQ(config->env[0].first, "LD_LIBRARY_PATH");
  EXPECT_EQ(config->env[0].second, "/opt/lib");
  EXPECT_EQ(config->connect_timeout_s, 5);
  env["CADRE_RSH_CONNECT_TIMEOUT_S"] = "soon";
  EXPECT_FALSE(parse_client_config({"job-worker-0", "true"}, env_of(env)).ok());
}

TEST(ServeConfig, TakesItsPortFromCadrePeersAtCadreRank) {
  auto config = parse_serve_config({}, env_of({{"CADRE_JOB_TOKEN", "t"},
                                               {"CADRE_PEERS", "a:4000,b:4001,c:4002"},
                                               {"CADRE_RANK", "1"},
                                               {"CADRE_JOB", "mpi"},
                                               {"CADRE_REPLICA_TYPE", "Worker"},
                                               {"CADRE_REPLICA_INDEX", "0"}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->port, 4001);
  EXPECT_EQ(config->entity, "job=mpi replica=worker-0");
  EXPECT_EQ(config->token, "t");
}

TEST(ServeConfig, AnExplicitPortWinsAndTheCommandsPathGainsOurFolder) {
  auto config = parse_serve_config({"--port", "0", "--bind", "127.0.0.1", "--max-sessions", "3"},
                                   env_of({{"CADRE_JOB_TOKEN", "t"}, {"PATH", "/usr/bin"}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->port, 0);
  EXPECT_EQ(config->bind_address, "127.0.0.1");
  EXPECT_EQ(config->max_sessions, 3);
  EXPECT_EQ(config->command_path.rfind("/usr/bin:", 0), 0u) << config->command_path;
}

TEST(ServeConfig, RefusesToServeWithoutATokenOrAPortAndRejectsBadFlags) {
  auto no_token = parse_serve_config({"--port", "1"}, env_of({}));
  ASSERT_FALSE(no_token.ok());
  EXPECT_NE(no_token.status().message().find("CADRE_JOB_TOKEN"), std::string::npos);
  EXPECT_FALSE(parse_serve_config({}, env_of({{"CADRE_JOB_TOKEN", "t"}})).ok());
  EXPECT_FALSE(
      parse_serve_config(
          {}, env_of({{"CADRE_JOB_TOKEN", "t"}, {"CADRE_PEERS", "a:1"}, {"CADRE_RANK", "1"}}))
          .ok());
  EXPECT_FALSE(parse_serve_config({"--port", "70000"}, env_of({{"CADRE_JOB_TOKEN", "t"}})).ok());
  EXPECT_FALSE(parse_serve_config({"--port"}, env_of({{"CADRE_JOB_TOKEN", "t"}})).ok());
  EXPECT_FALSE(parse_serve_config({"--verbose", "1"}, env_of({{"CADRE_JOB_TOKEN", "t"}})).ok());
}

}  // namespace
}  // namespace cadre::agent::rsh
