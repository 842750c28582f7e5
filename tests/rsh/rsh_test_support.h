// Processes and scratch space for the cadre-rsh end-to-end tests: each test starts
// real `cadre-rsh serve` processes on 127.0.0.1 and drives them with the client.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

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
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/free_port.h"
#include "tests/support/temp_dir.h"

namespace cadre::testing {

using namespace std::chrono_literals;

using ScratchDir = TempDir;

inline bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// A `cadre-rsh serve` with `flags`, constructed once it logs that it is listening.
class ServeProcess : public ChildProcess {
 public:
  ServeProcess(const std::string& binary, const std::vector<std::string>& flags,
               const std::map<std::string, std::string>& env, const std::string& log_path)
      : ChildProcess(with_serve(binary, flags), env, log_path) {
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
