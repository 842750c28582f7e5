#include "agent/replica_usage.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace cadre::agent {
namespace {

// The first `limit` bytes of a small kernel file; nullopt when it cannot be read.
std::optional<std::string> read_small(const std::string& path, size_t limit = 4096) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string text(limit, '\0');
  in.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

template <class T>
std::optional<T> number(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// `key value` lines (cpu.stat): the value of `key`.
std::optional<int64_t> keyed(const std::string& text, std::string_view key) {
  std::istringstream lines(text);
  std::string k;
  int64_t v = 0;
  while (lines >> k >> v) {
    if (k == key) return v;
  }
  return std::nullopt;
}

int64_t count_lines(const std::optional<std::string>& text) {
  return text ? std::count(text->begin(), text->end(), '\n') : 0;
}

}  // namespace

Result<ReplicaUsage> cgroup_usage(CgroupVersion version, const std::vector<std::string>& dirs) {
  ReplicaUsage usage;
  bool cpu = false;
  bool memory = false;
  for (const std::string& dir : dirs) {
    if (version == CgroupVersion::kV2) {
      if (auto stat = read_small(dir + "/cpu.stat")) {
        if (auto us = keyed(*stat, "usage_usec")) {
          usage.cpu_seconds = static_cast<double>(*us) / 1e6;
          cpu = true;
        }
      }
      if (auto current = read_small(dir + "/memory.current")) {
        if (auto bytes = number<int64_t>(*current)) {
          usage.memory_bytes = *bytes;
          memory = true;
        }
      }
      usage.processes = count_lines(read_small(dir + "/cgroup.procs", 1 << 16));
      continue;
    }
    // v1: each controller's folder holds its own files.
    if (auto ns = read_small(dir + "/cpuacct.usage")) {
      if (auto n = number<int64_t>(*ns)) {
        usage.cpu_seconds = static_cast<double>(*n) / 1e9;
        cpu = true;
      }
    }
    if (auto bytes = read_small(dir + "/memory.usage_in_bytes")) {
      if (auto n = number<int64_t>(*bytes)) {
        usage.memory_bytes = *n;
        memory = true;
        usage.processes = count_lines(read_small(dir + "/cgroup.procs", 1 << 16));
      }
    }
  }
  if (!cpu || !memory) {
    return NotFound(std::string("the replica's cgroup has no ") + (cpu ? "memory" : "CPU") +
                    " accounting");
  }
  return usage;
}

std::optional<ProcStat> parse_proc_stat(std::string_view line) {
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so
  // the fields start after the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string_view::npos || line.size() > 4096) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest = line.substr(close + 1);
  while (!rest.empty() && fields.size() < 24) {
    const size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  // After ')': state(0) ppid(1) pgrp(2) ... utime(11) stime(12) ... rss(21) (proc(5)).
  if (fields.size() < 22) return std::nullopt;
  auto pgrp = number<pid_t>(fields[2]);
  auto utime = number<uint64_t>(fields[11]);
  auto stime = number<uint64_t>(fields[12]);
  auto rss = number<int64_t>(fields[21]);
  if (!pgrp || !utime || !stime || !rss) return std::nullopt;
  return ProcStat{*pgrp, *utime + *stime, std::max<int64_t>(*rss, 0)};
}

std::map<pid_t, ReplicaUsage> process_group_usage(const std::set<pid_t>& pgids,
                                                  const std::string& proc_root) {
  std::map<pid_t, ReplicaUsage> usage;
  if (pgids.empty()) return usage;
  static const long ticks = std::max(1L, ::sysconf(_SC_CLK_TCK));
  static const long page = std::max(1L, ::sysconf(_SC_PAGESIZE));
  DIR* dir = ::opendir(proc_root.c_str());
  if (dir == nullptr) return usage;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name(entry->d_name);
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    auto line = read_small(proc_root + "/" + std::string(name) + "/stat");
    if (!line) continue;  // gone meanwhile
    auto stat = parse_proc_stat(*line);
    if (!stat || pgids.count(stat->pgrp) == 0) continue;
    ReplicaUsage& u = usage[stat->pgrp];
    u.cpu_seconds += static_cast<double>(stat->cpu_ticks) / static_cast<double>(ticks);
    u.memory_bytes += stat->rss_pages * page;
    u.processes++;
  }
  ::closedir(dir);
  return usage;
}

}  // namespace cadre::agent
