#include "client/local_layout.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

namespace cadre::client {
namespace {

TEST(LocalLayout, MakesRelativeFoldersAbsolute) {
  const auto layout = LocalLayout::at("some/dir/");
  EXPECT_EQ(layout.root.front(), '/');
  EXPECT_NE(layout.root.find("some/dir"), std::string::npos);
  EXPECT_NE(layout.root.back(), '/');
  EXPECT_EQ(LocalLayout::at("/x/./y").root, "/x/y");
}

TEST(CoordinatorCommand, IsExactlyTheDocumentedCommandLine) {
  LocalUpOptions options;
  options.client_port = 7071;
  const auto argv = coordinator_command("/bin/cadre-coordinator", LocalLayout::at("/c"), options);
  const std::vector<std::string> expected = {"/bin/cadre-coordinator",
                                             "--config-dir",
                                             "/c/coordinator",
                                             "--state-dir",
                                             "/c/state",
                                             "--bind-address",
                                             "127.0.0.1",
                                             "--agent-port",
                                             "0",
                                             "--client-port",
                                             "7071",
                                             "--ingress-port",
                                             "0",
                                             "--metrics-port",
                                             "0",
                                             "--endpoints-file",
                                             "/c/endpoints.json"};
  EXPECT_EQ(argv, expected);
}

TEST(IngressCommand, PollsTheIngressPortWithItsOwnKeyAndWritesItsPorts) {
  LocalUpOptions options;
  options.http_port = 8080;
  options.grpc_port = 8081;
  const auto argv =
      ingress_command("/bin/cadre-ingress", LocalLayout::at("/c"), options, "tcp://127.0.0.1:7072");
  const std::vector<std::string> expected = {"/bin/cadre-ingress",
                                             "--coordinator",
                                             "tcp://127.0.0.1:7072",
                                             "--server-key",
                                             "/c/keys/server.pub",
                                             "--key",
                                             "/c/keys/ingress.key",
                                             "--host",
                                             "127.0.0.1",
                                             "--http-port",
                                             "8080",
                                             "--grpc-port",
                                             "8081",
                                             "--ports-file",
                                             "/c/ingress.json"};
  EXPECT_EQ(argv, expected);
}

TEST(IngressCommand, ServesHttpsWithTheCertificateItIsGiven) {
  LocalUpOptions options;
  options.tls = true;
  options.tls_cert = "/c/keys/ingress-tls.crt";
  options.tls_key = "/c/keys/ingress-tls.key";
  const auto argv =
      ingress_command("/bin/cadre-ingress", LocalLayout::at("/c"), options, "tcp://127.0.0.1:7072");
  const std::vector<std::string> tail(argv.end() - 4, argv.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"--tls-cert", "/c/keys/ingress-tls.crt", "--tls-key",
                                            "/c/keys/ingress-tls.key"}));
}

TEST(AgentCommand, NamesTheAgentAndDefaultsToNoGpus) {
  LocalUpOptions options;
  const auto argv =
      agent_command("/bin/cadre-agent", LocalLayout::at("/c"), options, 2, "tcp://127.0.0.1:5");
  const std::vector<std::string> expected = {"/bin/cadre-agent",
                                             "--coordinator",
                                             "tcp://127.0.0.1:5",
                                             "--server-key",
                                             "/c/keys/server.pub",
                                             "--key",
                                             "/c/keys/agent-2.key",
                                             "--name",
                                             "local-2",
                                             "--address",
                                             "127.0.0.1",
                                             "--work-dir",
                                             "/c/agents/agent-2",
                                             "--metrics-port",
                                             "0",
                                             "--metrics-token-file",
                                             "/c/coordinator/metrics.token",
                                             "--metrics-ports-file",
                                             "/c/agents/agent-2/metrics.json",
                                             "--gpus",
                                             "0"};
  EXPECT_EQ(argv, expected);
}

TEST(AgentCommand, PassesCpusOnlyWhenAsked) {
  LocalUpOptions options;
  options.cpus_per_agent = 1.5;
  options.gpus_per_agent = 1;
  const auto argv = agent_command("a", LocalLayout::at("/c"), options, 1, "tcp://h:1");
  const std::vector<std::string> tail(argv.end() - 4, argv.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"--cpus", "1.5", "--gpus", "1"}));
}

TEST(ParseEndpoints, ReadsWhatTheCoordinatorWrites) {
  const auto endpoints = parse_endpoints(
      R"({"agents":"tcp://127.0.0.1:40001","clients":"tcp://127.0.0.1:40002","metrics":)"
      R"("http://127.0.0.1:40003","pid":99})");
  ASSERT_OK(endpoints);
  EXPECT_EQ(endpoints->metrics, "http://127.0.0.1:40003");
  EXPECT_EQ(endpoints->agents, "tcp://127.0.0.1:40001");
  EXPECT_EQ(endpoints->clients, "tcp://127.0.0.1:40002");
  EXPECT_EQ(endpoints->pid, 99);
}

TEST(PrometheusConfig, ScrapesTheCoordinatorAndTheAgentsWithTheTokenAndTheIngress) {
  Endpoints endpoints;
  endpoints.metrics = "http://127.0.0.1:40003";
  const std::string config =
      render_prometheus_config(LocalLayout::at("/c"), endpoints, "http://127.0.0.1:8080", "",
                               {"127.0.0.1:40010", "127.0.0.1:40011"});
  EXPECT_NE(config.find("job_name: cadre-coordinator\n    authorization: {credentials_file: "
                        "/c/coordinator/metrics.token}\n    static_configs: [{targets: "
                        "[\"127.0.0.1:40003\"]}]"),
            std::string::npos)
      << config;
  EXPECT_NE(config.find("job_name: cadre-ingress\n    static_configs: [{targets: "
                        "[\"127.0.0.1:8080\"]}]"),
            std::string::npos)
      << config;
  EXPECT_NE(config.find("job_name: cadre-agent\n    authorization: {credentials_file: "
                        "/c/coordinator/metrics.token}\n    static_configs: [{targets: "
                        "[\"127.0.0.1:40010\", \"127.0.0.1:40011\"]}]"),
            std::string::npos)
      << config;
  // A coordinator without /metrics is left out, not scraped in vain.
  EXPECT_EQ(
      render_prometheus_config(LocalLayout::at("/c"), Endpoints{}, "", "", {}).find("job_name"),
      std::string::npos);
}

TEST(PrometheusConfig, ScrapesAnHttpsIngressCheckingItsCertificate) {
  const std::string config = render_prometheus_config(
      LocalLayout::at("/c"), Endpoints{}, "https://127.0.0.1:8443", "/c/keys/ingress-tls.crt", {});
  EXPECT_NE(config.find("job_name: cadre-ingress\n    scheme: https\n    tls_config: {ca_file: "
                        "/c/keys/ingress-tls.crt}\n    static_configs: [{targets: "
                        "[\"127.0.0.1:8443\"]}]"),
            std::string::npos)
      << config;
}

TEST(ParseEndpoints, RejectsPartialOrMalformedFiles) {
  EXPECT_FALSE(parse_endpoints(R"({"agents":"tcp://h:1"})").ok());
  EXPECT_FALSE(parse_endpoints("{").ok());
  EXPECT_FALSE(parse_endpoints(R"({"agents":1,"clients":"x"})").ok());
}

}  // namespace
}  // namespace cadre::client
