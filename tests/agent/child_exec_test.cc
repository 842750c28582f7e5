#include "agent/child_exec.h"
#include "tests/support/status_matchers.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace cadre::agent {
namespace {

// What a child printed, how it ended, and what await_exec said.
struct ChildRun {
  Status started;
  std::string output;
  int wait_status = 0;
  bool own_group = false;
};

// Starts argv through fork_child with stdout and stderr on a pipe, as both callers
// do, and collects the result. `overrides` may change the prepared ChildExec.
template <typename Override>
ChildRun run(const std::vector<std::string>& argv, std::vector<std::string> env, Override overrides,
             std::string_view stdio_name = {}) {
  int out[2];
  int status[2];
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(status, O_CLOEXEC), 0);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const ExecArrays arrays(argv, std::move(env));
  ChildExec exec;
  exec.parent_pid = ::getpid();
  exec.stdin_fd = null_fd;
  exec.stdout_fd = out[1];
  exec.stderr_fd = out[1];
  exec.status_fd = status[1];
  exec.argv = arrays.argv();
  exec.envp = arrays.envp();
  overrides(exec);

  ChildRun result;
  auto pid = fork_child(exec);
  EXPECT_OK(pid);
  result.own_group = ::getpgid(*pid) == *pid;
  ::close(out[1]);
  ::close(status[1]);
  ::close(null_fd);
  result.started = await_exec(status[0], exec, stdio_name);
  char buffer[256];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof(buffer))) > 0;)
    result.output.append(buffer, n);
  ::waitpid(*pid, &result.wait_status, 0);
  ::close(out[0]);
  ::close(status[0]);
  return result;
}

ChildRun run(const std::vector<std::string>& argv,
             std::vector<std::string> env = {"PATH=/usr/bin:/bin"}) {
  return run(argv, std::move(env), [](ChildExec&) {});
}

TEST(ChildExec, RunsTheProgramInItsOwnGroupWithExactlyTheGivenEnvironment) {
  const ChildRun r = run({"sh", "-c", "echo \"$GREETING ${HOME-unset}\""},
                         {"PATH=/usr/bin:/bin", "GREETING=hello"});
  EXPECT_OK(r.started);
  EXPECT_EQ(r.output, "hello unset\n");
  EXPECT_TRUE(r.own_group);
  EXPECT_TRUE(WIFEXITED(r.wait_status) && WEXITSTATUS(r.wait_status) == 0);
}

TEST(ChildExec, StartsInTheWorkingDir) {
  const ChildRun r =
      run({"pwd"}, {"PATH=/usr/bin:/bin"}, [](ChildExec& e) { e.working_dir = "/"; });
  EXPECT_OK(r.started);
  EXPECT_EQ(r.output, "/\n");
}

TEST(ChildExec, LeaksNoInheritableDescriptorIntoTheProgram) {
  const int leaked = ::open("/dev/null", O_RDONLY);  // deliberately not O_CLOEXEC
  ASSERT_GE(leaked, 3);
  const std::string fd = std::to_string(leaked);
  const ChildRun r = run({"sh", "-c", "[ -e /proc/$$/fd/" + fd + " ] && echo open || echo closed"});
  ::close(leaked);
  EXPECT_EQ(r.output, "closed\n");
}

TEST(ChildExec, RestoresTheDefaultDispositionOfAnIgnoredSignal) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGTERM, &ignore, &before), 0);
  const ChildRun r = run({"sh", "-c", "kill -TERM $$; echo survived"});
  ::sigaction(SIGTERM, &before, nullptr);
  EXPECT_TRUE(WIFSIGNALED(r.wait_status) && WTERMSIG(r.wait_status) == SIGTERM);
  EXPECT_EQ(r.output, "");
}

TEST(ChildExec, ReportsAMissingProgramAsAnExecFailureNamingIt) {
  const ChildRun r = run({"/nonexistent/cadre-no-such-binary"});
  EXPECT_EQ(r.started.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.started.message(),
            "execvp(/nonexistent/cadre-no-such-binary): No such file or directory");
  EXPECT_TRUE(WIFEXITED(r.wait_status) && WEXITSTATUS(r.wait_status) == 127);
}

TEST(ChildExec, ReportsAMissingWorkingDirAsAChdirFailure) {
  const ChildRun r = run({"true"}, {"PATH=/usr/bin:/bin"},
                         [](ChildExec& e) { e.working_dir = "/nonexistent/cadre-dir"; });
  EXPECT_EQ(r.started.message(), "chdir(/nonexistent/cadre-dir): No such file or directory");
}

TEST(ChildExec, ReportsABadStdioDescriptorWithOrWithoutItsName) {
  const auto bad_stdout = [](ChildExec& e) { e.stdout_fd = 1 << 20; };
  EXPECT_EQ(run({"true"}, {}, bad_stdout).started.message(), "dup2: Bad file descriptor");
  EXPECT_EQ(run({"true"}, {}, bad_stdout, "replica.log").started.message(),
            "dup2(replica.log): Bad file descriptor");
}

}  // namespace
}  // namespace cadre::agent
