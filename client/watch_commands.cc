#include "client/watch_commands.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <string_view>
#include <thread>

#include "client/listing.h"
#include "client/time_format.h"
#include "pipelines/json_text.h"

namespace cadre::client {
namespace {

using Clock = std::chrono::steady_clock;

// How far back to start reading for --tail N: generous per line, bounded so a huge
// N cannot ask the coordinator for an unbounded read.
int64_t tail_window_bytes(int64_t lines) {
  const int64_t wanted = std::max<int64_t>(lines, 1) * 1024;
  return std::min<int64_t>(std::max<int64_t>(wanted, 64 * 1024), 8 << 20);
}

// The last `lines` lines of `data`; when `data` starts mid-file, its first line
// may be partial and is never counted as one of them.
std::string last_lines(std::string data, int64_t lines, bool starts_mid_file) {
  if (starts_mid_file) {
    const size_t first_newline = data.find('\n');
    data = first_newline == std::string::npos ? "" : data.substr(first_newline + 1);
  }
  if (lines <= 0) return "";
  size_t end = data.size();
  if (end > 0 && data[end - 1] == '\n') --end;  // a trailing newline ends the last line
  int64_t found = 0;
  for (size_t pos = end; pos > 0; --pos) {
    if (data[pos - 1] == '\n' && ++found == lines) return data.substr(pos);
  }
  return data;
}

// Errors a follower outlives: the job may not have a replica (or a log) yet.
bool worth_retrying(const Status& status) {
  return status.code() == StatusCode::kFailedPrecondition ||
         status.code() == StatusCode::kUnavailable;
}

std::string seconds_text(std::chrono::milliseconds span) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%gs", span.count() / 1000.0);
  return buffer;
}

// A table's rows by their first column (the item's name), the header skipped.
std::map<std::string, std::string> rows_by_name(const std::string& table) {
  std::map<std::string, std::string> rows;
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) rows[line.substr(0, line.find(' '))] = line;
  return rows;
}

// A row with its padding collapsed: two renders of one item differ in column
// widths whenever another item's cells are longer.
std::string without_padding(const std::string& row) {
  std::string out;
  for (char c : row) {
    if (c != ' ' || out.empty() || out.back() != ' ') out += c;
  }
  return out;
}

// What a watch compares: each row as it reads at a clock frozen at 0, where every
// age, duration and time-since is "0s", so only a change in the item shows.
std::map<std::string, std::string> row_signatures(const WatchListOptions& options,
                                                  const protocol::GetReply& reply) {
  auto rows = rows_by_name(listing_table(options.ref, reply, 0, options.wide));
  for (auto& [name, row] : rows) row = without_padding(row);
  return rows;
}

// One fetch of a watched listing. A named item deleted while watched lists as
// nothing, not as an error; at the first fetch, a name that matches nothing is.
Result<protocol::GetReply> fetch_watched(Coordinator& coordinator, const WatchListOptions& options,
                                         bool first) {
  auto reply = fetch_listing(coordinator, options.ref, options.experiment);
  if (!first && reply.status().code() == StatusCode::kNotFound && !options.ref.name.empty()) {
    return protocol::GetReply{};
  }
  return reply;
}

Status watch_table(Coordinator& coordinator, const WatchListOptions& options, std::ostream& out) {
  std::map<std::string, std::string> seen;  // row signatures at the last fetch
  bool first = true;
  bool header_shown = false;  // not while the listing has been empty from the start
  while (true) {
    auto reply = fetch_watched(coordinator, options, first);
    if (!reply.ok()) return reply.status();
    const std::string table = listing_table(options.ref, *reply, now_unix_ms(), options.wide);
    auto signatures = row_signatures(options, *reply);
    if (first) {
      out << (table.empty() ? empty_listing_text(options.ref) : table);
      header_shown = !table.empty();
    } else {
      for (const auto& [name, row] : rows_by_name(table)) {
        const auto before = seen.find(name);
        if (before != seen.end() && before->second == signatures[name]) continue;
        if (!header_shown) out << table.substr(0, table.find('\n') + 1);
        header_shown = true;
        out << row << "\n";
      }
      for (const auto& [name, signature] : seen) {
        if (signatures.count(name) == 0) out << name << "   (deleted)\n";
      }
    }
    out.flush();
    seen = std::move(signatures);
    first = false;
    std::this_thread::sleep_for(options.poll_interval);
  }
}

// An item's key in a watch: its name (a token's id).
std::string item_key(const nlohmann::json& item) {
  const auto name = item.find("name");
  if (name != item.end() && name->is_string()) return name->get<std::string>();
  const auto id = item.find("id");
  return id != item.end() && id->is_string() ? id->get<std::string>() : item.dump();
}

// What a JSON watch compares: the item without the field that changes every
// second while nothing else does.
std::string item_signature(nlohmann::json item) {
  item.erase("lastHeartbeat");
  return pipelines::json_text(item);
}

void print_event(const char* type, const nlohmann::json& object, std::ostream& out) {
  // Written by hand so "type" leads, as kubectl prints it (nlohmann sorts keys).
  out << "{\"type\":\"" << type << "\",\"object\":" << pipelines::json_text(object) << "}\n";
}

Status watch_json(Coordinator& coordinator, const WatchListOptions& options, std::ostream& out) {
  struct Seen {
    nlohmann::json object;
    std::string signature;
  };
  std::map<std::string, Seen> seen;  // each item as of the last fetch
  for (bool first = true;; first = false) {
    ASSIGN_OR_RETURN(protocol::GetReply reply, fetch_watched(coordinator, options, first));
    std::map<std::string, Seen> now;
    for (auto& item : listing_items(options.ref, reply)) {
      std::string signature = item_signature(item);
      const std::string key = item_key(item);
      const auto before = seen.find(key);
      if (before == seen.end()) {
        print_event("ADDED", item, out);
      } else if (before->second.signature != signature) {
        print_event("MODIFIED", item, out);
      }
      now[key] = Seen{std::move(item), std::move(signature)};
    }
    for (const auto& [key, item] : seen) {
      if (now.count(key) == 0) print_event("DELETED", item.object, out);
    }
    out.flush();
    seen = std::move(now);
    std::this_thread::sleep_for(options.poll_interval);
  }
}

}  // namespace

Status watch_listing(Coordinator& coordinator, const WatchListOptions& options, std::ostream& out) {
  return options.json ? watch_json(coordinator, options, out)
                      : watch_table(coordinator, options, out);
}

Status print_logs(Coordinator& coordinator, const LogsOptions& options, std::ostream& out) {
  protocol::LogsRequest request;
  request.resource = options.ref.type.resource;
  request.name = options.ref.name;
  request.replica = options.replica;
  request.offset = options.tail ? -tail_window_bytes(*options.tail) : 0;
  bool first = true;
  while (true) {
    auto reply = coordinator.logs(request);
    if (!reply.ok()) {
      if (!options.follow || !worth_retrying(reply.status())) return reply.status();
      std::this_thread::sleep_for(options.poll_interval);
      continue;
    }
    if (first && options.tail) {
      out << last_lines(reply->data, *options.tail, reply->offset > 0);
    } else {
      out << reply->data;
    }
    out.flush();
    first = false;
    request.offset = reply->next_offset;
    if (reply->finished) return Status::Ok();
    if (!reply->data.empty()) continue;  // more may be waiting right now
    if (!options.follow) return Status::Ok();
    std::this_thread::sleep_for(options.poll_interval);
  }
}

namespace {

// One replica's log as --all-replicas reads it.
struct ReplicaLog {
  protocol::LogsRequest request;
  std::string prefix;    // "[worker-1] "
  std::string partial;   // a line begun but not yet ended
  bool first = true;     // no chunk read yet (--tail applies to it)
  bool waiting = false;  // following a replica that has no log yet
  bool done = false;
};

// An unended line held back longer than this is printed as it stands: a replica
// drawing a progress bar with carriage returns may never end one.
constexpr size_t kMaxHeldLine = 64 * 1024;

// Prints each whole line of `data` after the replica's prefix; an unended last
// line waits for the rest, unless the log is at its end or the line is too long.
void print_lines(ReplicaLog& log, const std::string& data, bool at_end, std::ostream& out) {
  log.partial += data;
  size_t start = 0;
  for (size_t newline; (newline = log.partial.find('\n', start)) != std::string::npos;
       start = newline + 1) {
    out << log.prefix << std::string_view(log.partial).substr(start, newline + 1 - start);
  }
  log.partial.erase(0, start);
  if ((at_end || log.partial.size() > kMaxHeldLine) && !log.partial.empty()) {
    out << log.prefix << log.partial << "\n";
    log.partial.clear();
  }
}

// Reads the next chunk of one replica's log; whether anything new was printed.
Result<bool> read_replica_log(Coordinator& coordinator, const LogsOptions& options, ReplicaLog& log,
                              std::ostream& out) {
  auto reply = coordinator.logs(log.request);
  if (!reply.ok()) {
    if (!worth_retrying(reply.status())) return reply.status();
    log.done = !options.follow;  // no log yet: skipped, or waited for while following
    log.waiting = options.follow;
    return false;
  }
  log.waiting = false;
  std::string data = reply->data;
  if (log.first && options.tail) data = last_lines(data, *options.tail, reply->offset > 0);
  log.first = false;
  log.request.offset = reply->next_offset;
  log.done = reply->finished || (!options.follow && reply->data.empty());
  print_lines(log, data, log.done, out);
  return !reply->data.empty();
}

}  // namespace

Status print_all_replica_logs(Coordinator& coordinator, const LogsOptions& options,
                              std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::GetReply job, coordinator.get(protocol::GetRequest{
                                               options.ref.type.resource, options.ref.name}));
  if (job.jobs.empty()) return NotFound(options.ref.display() + " not found");
  std::vector<ReplicaLog> logs;
  for (const auto& replica : job.jobs[0].replicas) {
    ReplicaLog log;
    log.request.resource = options.ref.type.resource;
    log.request.name = options.ref.name;
    log.request.replica = replica.name;
    log.request.offset = options.tail ? -tail_window_bytes(*options.tail) : 0;
    log.prefix = "[" + replica.name + "] ";
    logs.push_back(std::move(log));
  }
  while (true) {
    bool printed = false, all_done = true;
    for (auto& log : logs) {
      // Without follow, one replica at a time: its whole log before the next's.
      while (!log.done) {
        ASSIGN_OR_RETURN(const bool more, read_replica_log(coordinator, options, log, out));
        printed = printed || more;
        if (options.follow) break;
      }
      all_done = all_done && log.done;
    }
    out.flush();
    if (all_done) return Status::Ok();
    if (printed) continue;
    // A replica that never started has no log to wait for once its job has ended.
    if (std::any_of(logs.begin(), logs.end(), [](const ReplicaLog& l) { return l.waiting; })) {
      ASSIGN_OR_RETURN(protocol::GetReply now, coordinator.get(protocol::GetRequest{
                                                   options.ref.type.resource, options.ref.name}));
      if (now.jobs.empty() || protocol::is_terminal(now.jobs[0].phase)) {
        for (auto& log : logs) log.done = log.done || log.waiting;
        continue;
      }
    }
    std::this_thread::sleep_for(options.poll_interval);
  }
}

std::string describe_phase(const protocol::JobStatus& job) {
  std::string detail = job.message;
  if (detail.empty() && job.exit_code) detail = "exit code " + std::to_string(*job.exit_code);
  std::string why = job.reason;
  if (!detail.empty()) why += (why.empty() ? "" : ": ") + detail;
  return protocol::to_string(job.phase) + (why.empty() ? "" : " (" + why + ")");
}

// An experiment is Created, Running, Succeeded or Failed: the job phases of the
// same name are what can be waited for.
Status wait_for_experiment(Coordinator& coordinator, const WaitOptions& options) {
  const auto deadline = Clock::now() + options.timeout;
  const std::string what = options.ref.display();
  const auto wanted =
      protocol::parse_enum<protocol::ExperimentPhase>(protocol::to_string(options.condition));
  if (!wanted) {
    return InvalidArgument("an experiment is never " + protocol::to_string(options.condition) +
                           " (Running, Succeeded or Failed)");
  }
  while (true) {
    auto reply = coordinator.get(protocol::GetRequest{"experiments", options.ref.name});
    if (!reply.ok()) return reply.status();
    if (reply->experiments.empty()) return NotFound(what + " not found");
    const auto& e = reply->experiments[0];
    if (e.phase == *wanted) return Status::Ok();
    if (protocol::is_terminal(e.phase)) {
      return FailedPrecondition(what + " is " + protocol::to_string(e.phase) + " (" + e.reason +
                                (e.message.empty() ? "" : ": " + e.message) + "), not " +
                                protocol::to_string(*wanted));
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      return DeadlineExceeded("timed out after " + seconds_text(options.timeout) + " waiting for " +
                              what + " to be " + protocol::to_string(*wanted) + " (phase " +
                              protocol::to_string(e.phase) + ")");
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(options.poll_interval, deadline - now));
  }
}

Status wait_for_job(Coordinator& coordinator, const WaitOptions& options) {
  if (options.ref.type.resource == "experiments") return wait_for_experiment(coordinator, options);
  const auto deadline = Clock::now() + options.timeout;
  const std::string what = options.ref.display();
  std::optional<int32_t> first_restarts;  // the restart count at the first poll
  while (true) {
    auto reply = coordinator.get(protocol::GetRequest{options.ref.type.resource, options.ref.name});
    if (!reply.ok()) return reply.status();
    if (reply->jobs.empty()) return NotFound(what + " not found");
    const protocol::JobStatus& job = reply->jobs[0];
    if (!first_restarts) first_restarts = job.restarts;
    if (job.phase == options.condition) return Status::Ok();
    if (options.condition == protocol::JobPhase::kRestarting && job.restarts > *first_restarts) {
      return Status::Ok();
    }
    if (protocol::is_terminal(job.phase)) {
      return FailedPrecondition(what + " is " + describe_phase(job) + ", not " +
                                protocol::to_string(options.condition));
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      return DeadlineExceeded("timed out after " + seconds_text(options.timeout) + " waiting for " +
                              what + " to be " + protocol::to_string(options.condition) +
                              " (phase " + protocol::to_string(job.phase) + ")");
    }
    // The last poll lands on the deadline itself, so a job finishing just in time counts.
    std::this_thread::sleep_for(std::min<Clock::duration>(options.poll_interval, deadline - now));
  }
}

Result<std::chrono::milliseconds> parse_duration(const std::string& text) {
  if (text.empty()) return InvalidArgument("empty duration");
  double scale = 1000;
  std::string number = text;
  switch (text.back()) {
    case 's':
      number.pop_back();
      break;
    case 'm':
      scale = 60e3;
      number.pop_back();
      break;
    case 'h':
      scale = 3600e3;
      number.pop_back();
      break;
    default:
      break;
  }
  try {
    size_t used = 0;
    const double value = std::stod(number, &used);
    if (used != number.size() || value < 0) throw std::invalid_argument(text);
    return std::chrono::milliseconds(static_cast<int64_t>(value * scale));
  } catch (const std::exception&) {
    return InvalidArgument("'" + text + "' is not a duration (e.g. 60, 90s, 5m, 1h)");
  }
}

}  // namespace cadre::client
