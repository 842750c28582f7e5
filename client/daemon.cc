#include "client/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "protocol/atomic_file.h"

namespace cadre::client {
namespace fs = std::filesystem;

Result<pid_t> spawn_daemon(const std::vector<std::string>& argv, const std::string& log_file) {
  if (argv.empty()) return InvalidArgument("spawn_daemon: empty command line");
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls are allowed.
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Internal("cannot open " + log_file + ": " + std::strerror(errno));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const long max_fd = ::sysconf(_SC_OPEN_MAX);

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return Internal(std::string("fork failed: ") + std::strerror(error));
  }
  if (pid == 0) {
    ::setsid();
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
#ifdef SYS_close_range
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
      for (long fd = 3; fd < max_fd && fd < 65536; ++fd) ::close(static_cast<int>(fd));
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(args[0], args.data());
    const char* message = "cadre: exec failed\n";
    (void)!::write(STDERR_FILENO, message, std::strlen(message));
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  return pid;
}

std::optional<std::string> reap_child(pid_t pid) {
  int status = 0;
  const pid_t done = ::waitpid(pid, &status, WNOHANG);
  if (done == 0) return std::nullopt;
  if (done < 0) return process_alive(pid) ? std::nullopt : std::optional<std::string>("ended");
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return std::nullopt;
}

bool process_alive(pid_t pid) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) return false;
  // A zombie (ended, not yet reaped by its parent) answers kill(0) but is gone.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto close_paren = line.rfind(')');
  return close_paren == std::string::npos || close_paren + 2 >= line.size() ||
         line[close_paren + 2] != 'Z';
}

bool process_runs(pid_t pid, const std::string& program) {
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  if (!std::getline(cmdline, argv0, '\0')) return false;
  return fs::path(argv0).filename() == program;
}

bool stop_process(pid_t pid, std::chrono::milliseconds grace, bool* killed) {
  *killed = false;
  if (!process_alive(pid)) return true;
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    (void)reap_child(pid);
    if (!process_alive(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  *killed = true;
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 40 && process_alive(pid); ++i) {
    (void)reap_child(pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !process_alive(pid);
}

Status write_pid_file(const std::string& path, pid_t pid) {
  return write_file_atomically(path, std::to_string(pid) + "\n");
}

std::optional<pid_t> read_pid_file(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::string tail_file(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const std::string& l : last) out += l + "\n";
  return out;
}

Result<std::string> find_sibling_binary(const std::string& name) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path sibling = self.parent_path() / name;
    if (::access(sibling.c_str(), X_OK) == 0) return sibling.string();
  }
  // Then the search path a shell would use (local_cluster.cc also hands PATH to the
  // agents it starts, with this binary's folder first).
  const char* path_env = std::getenv("PATH");
  std::istringstream dirs(path_env != nullptr ? path_env : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return NotFound(name + " not found next to this cadre binary (" +
                  (ec ? std::string("?") : self.parent_path().string()) + ") nor on PATH");
}

}  // namespace cadre::client
