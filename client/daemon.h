// Background processes for `cadre local`: start detached, find, stop.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace cadre::client {

// Starts argv[0] with argv as a daemon: its own session (so the terminal's Ctrl-C
// and our exit do not reach it), stdin from /dev/null, stdout and stderr appended
// to `log_file`, and no other descriptor of ours (a caller capturing our output
// through a pipe would otherwise wait for the daemon to close it).
Result<pid_t> spawn_daemon(const std::vector<std::string>& argv, const std::string& log_file);

// For a child of this process: reaps it if it has ended and says how
// ("exited with code 1", "killed by signal 9"); nullopt while it runs.
std::optional<std::string> reap_child(pid_t pid);

// True while `pid` exists and is not a zombie.
bool process_alive(pid_t pid);

// True when `pid` runs a program whose name is `program` (guards against a pid
// file naming a pid that has since been reused by something else).
bool process_runs(pid_t pid, const std::string& program);

// SIGTERM, then SIGKILL after `grace`; true once the process is gone.
bool stop_process(pid_t pid, std::chrono::milliseconds grace, bool* killed);

Status write_pid_file(const std::string& path, pid_t pid);
std::optional<pid_t> read_pid_file(const std::string& path);

// The last `lines` lines of a text file (empty if unreadable).
std::string tail_file(const std::string& path, size_t lines);

// `name` next to this executable (/proc/self/exe), else on $PATH.
Result<std::string> find_sibling_binary(const std::string& name);

}  // namespace cadre::client
