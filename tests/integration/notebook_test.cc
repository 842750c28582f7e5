// Notebooks on a real local cluster: Debian's jupyter-notebook started by an
// agent, pinned to its node, stopped and started with its workspace kept, its GPU
// reserved while it runs, and restarted when its server dies.
#include <httplib.h>

#include <fstream>

#include "tests/integration/local_cluster.h"

namespace cadre::testing {
namespace {

class NotebookTest : public LocalCluster {
 protected:
  std::string up_flags() const override { return "--agents 2 --gpus-per-agent 1"; }

  nlohmann::json notebook(const std::string& name) const { return get_json("notebook " + name); }

  void wait_for(const std::string& name, const std::string& state) const {
    auto waited = cadre("wait notebook/" + name + " --for " + state + " --timeout 90");
    ASSERT_EQ(waited.exit_code, 0) << waited.output << cadre("describe notebook " + name).output;
  }

  // The status code of GET path on the notebook's server (0: nothing answers).
  static int http_status(const nlohmann::json& nb, const std::string& path,
                         const std::string& token = "") {
    httplib::Client http(nb["address"].get<std::string>(), nb["port"].get<int>());
    http.set_connection_timeout(2);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "token " + token);
    auto res = http.Get(path, headers);
    return res ? res->status : 0;
  }

  // Test-only: the token Jupyter read, from the server's 0600 file in its replica
  // folder (users never see it; the ingress injects it).
  std::string jupyter_token(const std::string& job) const {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path("agents"))) {
      if (entry.path().filename() == "jupyter-token" &&
          entry.path().parent_path().filename().string().rfind(job + "-", 0) == 0 &&
          entry.path().parent_path().filename().string().find("-main-0-") != std::string::npos) {
        std::ifstream in(entry.path());
        return std::string(std::istreambuf_iterator<char>(in), {});
      }
    }
    return "";
  }
};

TEST_F(NotebookTest, RunsJupyterPinnedToItsNodeAndKeepsItsWorkspaceAcrossStopAndStart) {
  auto applied = apply(R"(apiVersion: cadre/v1
kind: Notebook
metadata: {name: alice}
spec:
  template:
    resources: {cpu: 500m, memory: 512Mi, gpu: 1}
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  wait_for("alice", "Running");
  auto nb = notebook("alice");
  const std::string node = nb["node"];
  EXPECT_FALSE(node.empty());
  EXPECT_EQ(nb["gpuIndices"], nlohmann::json::array({0}));
  // Its GPU is accounted on its node while it runs.
  auto gpus_held = [&](const std::string& n) {
    return get_json("node " + n)["allocated"]["gpus"].get<int>();
  };
  EXPECT_EQ(gpus_held(node), 1);
  // Jupyter answers under its base URL, and only with its token.
  EXPECT_EQ(http_status(nb, "/notebook/default/alice/api"), 200);
  EXPECT_EQ(http_status(nb, "/notebook/default/alice/api/kernels"), 403);
  const std::string token = jupyter_token(nb["job"]);
  ASSERT_EQ(token.size(), 64u);
  EXPECT_EQ(http_status(nb, "/notebook/default/alice/api/kernels", token), 200);
  // A file the user made in the workspace.
  const std::string workspace = nb["workspace"];
  std::ofstream(workspace + "/analysis.py") << "print(6 * 7)\n";

  auto stopped = cadre("notebook stop alice");
  ASSERT_EQ(stopped.exit_code, 0) << stopped.output;
  EXPECT_NE(stopped.output.find("stopping (its workspace is kept)"), std::string::npos);
  wait_for("alice", "Stopped");
  EXPECT_EQ(http_status(nb, "/notebook/default/alice/api"), 0);
  EXPECT_EQ(gpus_held(node), 0);  // released while stopped
  EXPECT_EQ(notebook("alice")["job"], "");

  ASSERT_EQ(cadre("notebook start alice").exit_code, 0);
  wait_for("alice", "Running");
  auto again = notebook("alice");
  EXPECT_EQ(again["node"], node);  // where its workspace is
  EXPECT_EQ(again["job"], "alice-2");
  const std::string token2 = jupyter_token(again["job"]);
  httplib::Client http(again["address"].get<std::string>(), again["port"].get<int>());
  auto listing = http.Get("/notebook/default/alice/api/contents",
                          httplib::Headers{{"Authorization", "token " + token2}});
  ASSERT_TRUE(listing);
  EXPECT_NE(listing->body.find("\"analysis.py\""), std::string::npos) << listing->body;

  auto described = cadre("describe notebook alice");
  EXPECT_NE(described.output.find("Pinned"), std::string::npos) << described.output;
  auto listed = cadre("get notebooks");
  EXPECT_NE(listed.output.find("alice   Running"), std::string::npos) << listed.output;

  ASSERT_EQ(cadre("delete notebook/alice").exit_code, 0);
  EXPECT_NE(cadre("get notebook alice").exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(workspace + "/analysis.py"));  // a delete keeps it
  EXPECT_EQ(gpus_held(node), 0);
}

TEST_F(NotebookTest, ACustomServerGetsItsOwnGpuAndTheContractAndIsRestartedWhenItDies) {
  // A user's own command: Cadre's launcher gives it the host, port and base URL.
  auto applied = apply(R"(apiVersion: cadre/v1
kind: Notebook
metadata: {name: bob}
spec:
  template:
    command: [sh, -c, 'echo "gpus=$CUDA_VISIBLE_DEVICES"; exec jupyter-notebook --no-browser --ip="$CADRE_NOTEBOOK_HOST" --port="$CADRE_NOTEBOOK_PORT" --NotebookApp.base_url="$CADRE_NOTEBOOK_BASE_URL"']
    resources: {cpu: 500m, memory: 512Mi, gpu: 1}
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  wait_for("bob", "Running");
  auto nb = notebook("bob");
  auto logs = cadre("logs notebook/bob");
  EXPECT_NE(logs.output.find("gpus=" + std::to_string(nb["gpuIndices"][0].get<int>())),
            std::string::npos)
      << logs.output;
  // Its server dies: a new one starts on the same node.
  auto killed = cadre("delete job/" + nb["job"].get<std::string>());
  ASSERT_EQ(killed.exit_code, 0) << killed.output;
  ASSERT_TRUE(
      eventually([&] { return notebook("bob")["job"] == "bob-2"; }, std::chrono::seconds(30)));
  wait_for("bob", "Running");
  EXPECT_EQ(notebook("bob")["node"], nb["node"]);
  EXPECT_EQ(notebook("bob")["restarts"], 1);
}

TEST_F(NotebookTest, AServerThatKeepsExitingBacksOffAndSaysSo) {
  auto applied = apply(R"(apiVersion: cadre/v1
kind: Notebook
metadata: {name: crashy}
spec:
  template:
    command: [sh, -c, 'echo "no jupyter here" >&2; exit 3']
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_TRUE(eventually([&] { return notebook("crashy")["reason"] == "CrashLoopBackOff"; },
                         std::chrono::seconds(30)))
      << cadre("describe notebook crashy").output;
  auto nb = notebook("crashy");
  EXPECT_EQ(nb["state"], "Pending");
  EXPECT_GE(nb["restarts"].get<int>(), 3);
  EXPECT_NE(nb["message"].get<std::string>().find("starting it again in"), std::string::npos);
}

TEST_F(NotebookTest, ASpecCadreCannotHonourIsRefusedWithItsPath) {
  auto sized = apply(R"(apiVersion: cadre/v1
kind: Notebook
metadata: {name: sized}
spec:
  workspace: {size: 10Gi}
)");
  EXPECT_NE(sized.exit_code, 0);
  EXPECT_NE(sized.output.find("spec.workspace.size: not supported"), std::string::npos)
      << sized.output;
  auto relative = apply(R"(apiVersion: cadre/v1
kind: Notebook
metadata: {name: rel}
spec:
  workspace: {path: data/mine}
)");
  EXPECT_NE(relative.output.find("spec.workspace.path: 'data/mine' is not an absolute"),
            std::string::npos)
      << relative.output;
}

}  // namespace
}  // namespace cadre::testing
