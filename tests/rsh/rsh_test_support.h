// Processes and scratch space for the cadre-rsh end-to-end tests: each test starts
// real `cadre-rsh serve` processes on 127.0.0.1 and drives them with the client.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/support/free_port.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/rsh/socket_io.h"

extern char** environ;

namespace cadre::testing {

using namespace std::chrono_literals;

// A temporary folder, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    char pattern[] = "/tmp/cadre-rsh-test-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls `condition` every 20 ms until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

inline bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// A child process: argv with our environment plus `env` (an empty value unsets),
// stdout and stderr together in `log_path`. Killed and reaped when destroyed.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
          const std::string& log_path)
      : log_path_(log_path) {
    std::map<std::string, std::string> merged;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string text(*entry);
      merged[text.substr(0, text.find('='))] = text.substr(text.find('=') + 1);
    }
    for (const auto& [name, value] : env) {
      if (value.empty()) {
        merged.erase(name);
      } else {
        merged[name] = value;
      }
    }
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
  ~Process() {
    if (!exit_code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  std::string output() const { return read_file(log_path_); }
  void signal(int sig) const { ::kill(pid_, sig); }

  // The exit code (128 + signal for a signal), or nullopt if still running at the timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = 30s) {
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
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// A `cadre-rsh serve` with `flags`, constructed once it logs that it is listening.
class ServeProcess : public Process {
 public:
  ServeProcess(const std::string& binary, const std::vector<std::string>& flags,
               const std::map<std::string, std::string>& env, const std::string& log_path)
      : Process(with_serve(binary, flags), env, log_path) {
    ready_ = eventually([&] { return output().find("serving on") != std::string::npos; });
  }
  bool ready() const { return ready_; }

 private:
  static std::vector<std::string> with_serve(const std::string& binary,
                                             const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {binary, "serve"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return argv;
  }
  bool ready_ = false;
};

}  // namespace cadre::testing
