// A real local cluster for integration tests: `cadre local up` in a fresh folder,
// the real client for every request, `cadre local down` afterwards. Nothing is
// mocked; only 127.0.0.1 is used.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/free_port.h"

namespace cadre::testing {

class LocalCluster : public ::testing::Test {
 protected:
  // Extra coordinator settings (YAML), e.g. shorter node timeouts; empty: defaults.
  virtual std::string coordinator_yaml() const { return ""; }
  virtual std::string up_flags() const { return "--agents 2"; }

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("cadre-it-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "coordinator");
    if (!coordinator_yaml().empty()) {
      std::ofstream(dir_ / "coordinator" / "coordinator.yaml") << coordinator_yaml();
    }
    auto up = run_command(bin("cadre") + " local up --dir " + dir_.string() + " " + up_flags());
    ASSERT_EQ(up.exit_code, 0) << up.output;
  }

  void TearDown() override {
    auto down = run_command(bin("cadre") + " local down --dir " + dir_.string());
    EXPECT_EQ(down.exit_code, 0) << down.output;
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  static std::string bin(const std::string& name) {
    return std::string(CADRE_BIN_DIR) + "/" + name;
  }
  std::string path(const std::string& relative) const { return (dir_ / relative).string(); }

  // Runs the real client against this cluster.
  CommandResult cadre(const std::string& args) const {
    return run_command(bin("cadre") + " --config " + path("config") + " " + args);
  }

  // Applies a manifest given inline.
  CommandResult apply(const std::string& yaml) const {
    const std::string file = path("manifest-" + std::to_string(++manifests_) + ".yaml");
    std::ofstream(file) << yaml;
    return cadre("apply -f " + file);
  }

  nlohmann::json get_json(const std::string& what) const {
    auto result = cadre("get " + what + " -o json");
    EXPECT_EQ(result.exit_code, 0) << result.output;
    try {
      return nlohmann::json::parse(result.output);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << result.output;
      return {};
    }
  }

  std::string job_phase(const std::string& name) const {
    auto result = cadre("get jobs " + name + " -o json");
    if (result.exit_code != 0) return "";
    try {
      return nlohmann::json::parse(result.output).value("phase", "");
    } catch (...) {
      return "";
    }
  }

  // Where a job's replica keeps its log: the node, that node's agent ("agent-N"),
  // the replica's uid and the log file's path.
  struct ReplicaLogFile {
    std::string node, agent, uid;
    std::filesystem::path log;
  };
  ReplicaLogFile log_file_of(const std::string& job) const {
    const auto status = get_json("jobs " + job);
    ReplicaLogFile out{status.value("node", ""), "", status.value("replica", ""), {}};
    out.agent = "agent-" + out.node.substr(out.node.rfind('-') + 1);
    out.log = path("agents/" + out.agent + "/logs/" + out.uid + ".log");
    return out;
  }

  // A node's state ("Ready", "NotReady", "Lost"); "" while it cannot be read.
  std::string node_state(const std::string& name) const {
    auto result = cadre("get nodes " + name + " -o json");
    if (result.exit_code != 0) return "";
    try {
      return nlohmann::json::parse(result.output).value("state", "");
    } catch (...) {
      return "";
    }
  }

  int pid_of(const std::string& process) const {
    return std::stoi(read_file(path("pids/" + process + ".pid")));
  }

  // Fixed ports, so a restarted coordinator is where agents and clients expect it.
  std::string fixed_ports_flags() const {
    return "--agents 2 --agent-port " + std::to_string(agent_port_) + " --client-port " +
           std::to_string(client_port_);
  }
  // kill -9 of the coordinator, then the same command line again (as systemd would).
  void kill9_and_restart_coordinator() { kill9_and_restart("coordinator"); }

  // kill -9 of `process` ("coordinator", "agent-1", ...), then its command line again
  // with `extra_flags` appended (a later flag wins over an earlier one).
  void kill9_and_restart(const std::string& process, const std::string& extra_flags = "") {
    const std::string command = kill9(process);
    ASSERT_FALSE(command.empty());
    restart(process, command + extra_flags);
  }

  // kill -9 of `process`; its command line (for restart), or "" if it did not die.
  std::string kill9(const std::string& process) {
    const int pid = pid_of(process);
    std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::string command;
    for (size_t at = 0; at < cmdline.size();) {
      const auto end = cmdline.find('\0', at);
      command += "'" + cmdline.substr(at, end - at) + "' ";
      at = end + 1;
    }
    EXPECT_EQ(::kill(pid, SIGKILL), 0);
    const bool died = eventually([&] { return ::kill(pid, 0) != 0; }, std::chrono::seconds(5));
    EXPECT_TRUE(died) << process << " survived kill -9";
    return died ? command : "";
  }

  // Starts `process` again with `command` (kill9's), as systemd would.
  void restart(const std::string& process, const std::string& command) {
    auto restarted =
        run_command("setsid " + command + " >> " + path("logs/" + process + ".log") +
                    " 2>&1 < /dev/null & echo $! > " + path("pids/" + process + ".pid"));
    ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
  }

  std::filesystem::path dir_;
  mutable int manifests_ = 0;
  int agent_port_ = free_port();
  int client_port_ = free_port();
};

// A one-replica Job manifest running `sh -c SCRIPT`.
inline std::string shell_job(const std::string& name, const std::string& script,
                             const std::string& extra_spec = "") {
  return "apiVersion: cadre/v1\nkind: Job\nmetadata:\n  name: " + name + "\nspec:\n" + extra_spec +
         "  template:\n    command: [sh, -c]\n    args: ['" + script + "']\n";
}

}  // namespace cadre::testing
