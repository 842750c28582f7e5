// A process launcher over a fresh work folder, with the helpers its tests share:
// a shell replica's spec, and reaping until a replica exits.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "agent/process_launcher.h"
#include "tests/support/status_matchers.h"

namespace cadre::agent {

class LauncherFixture : public ::testing::Test {
 protected:
  // A fresh folder named after the test, and a launcher with `options`.
  void start(const ProcessLauncherOptions& options = {}) {
    work_ = std::filesystem::temp_directory_path() /
            ("cadre-launcher-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(work_);
    std::filesystem::create_directories(work_);
    std::filesystem::permissions(work_, std::filesystem::perms(0755));  // other users traverse
    auto launcher = ProcessLauncher::Create(options);
    ASSERT_OK(launcher);
    launcher_ = std::move(*launcher);
  }
  void TearDown() override {
    launcher_.reset();
    if (!work_.empty()) std::filesystem::remove_all(work_);
  }

  LaunchSpec shell(const std::string& uid, const std::string& script,
                   protocol::LaunchReplica msg = {}) {
    msg.uid = uid;
    msg.job = "job";
    msg.command = {"sh", "-c", script};
    auto spec = make_launch_spec(msg, work_.string(), current_environment());
    EXPECT_OK(spec);
    return *spec;
  }

  // Reaps until `uid` exits or `timeout` passes.
  std::optional<ProcessExit> wait_exit(const std::string& uid, std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      launcher_->escalate(SteadyClock::now());
      for (auto& exit : launcher_->reap()) {
        if (exit.uid == uid) return exit;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path work_;
  std::unique_ptr<ProcessLauncher> launcher_;
};

}  // namespace cadre::agent
