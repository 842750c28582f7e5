// Running programs from tests: run_command() for a command line whose output is
// read when it ends, ChildProcess for a program that runs alongside the test.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/environment.h"
#include "tests/support/eventually.h"

namespace cadre::testing {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when a signal ended it
  std::string output;  // stdout and stderr together
};

// Runs `command` through sh and waits for it.
inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A child process: argv with the test's environment plus `env` (an empty value
// unsets), stdout and stderr together in `log_path`. When destroyed it is stopped —
// SIGTERM (and SIGCONT, in case a test froze it) with `stop_grace` to exit, then
// SIGKILL — and reaped.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
               const std::string& log_path,
               std::chrono::milliseconds stop_grace = std::chrono::milliseconds(0))
      : log_path_(log_path), stop_grace_(stop_grace) {
    std::map<std::string, std::string> merged = environment_map();
    for (const auto& [name, value] : env) {
      if (value.empty()) {
        merged.erase(name);
      } else {
        merged[name] = value;
      }
    }
    // Everything the child needs is built before fork: after it, only exec.
    std::vector<std::string> env_storage;
    for (const auto& [name, value] : merged) env_storage.push_back(name + "=" + value);
    std::vector<char*> envp, args;
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& a : argv_copy) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::execve(args[0], args.data(), envp.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() {
    if (pid_ <= 0 || exit_code_) return;
    if (stop_grace_.count() > 0) {
      ::kill(pid_, SIGTERM);
      ::kill(pid_, SIGCONT);
      if (wait(stop_grace_)) return;
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string output() const { return read_file(log_path_); }
  void signal(int sig) const { ::kill(pid_, sig); }

  // The exit code (128 + signal for a signal), or nullopt if still running at the timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (exit_code_) return exit_code_;
    eventually(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
          exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return true;
        },
        timeout);
    return exit_code_;
  }

 private:
  std::string log_path_;
  std::chrono::milliseconds stop_grace_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace cadre::testing
