// Commands that poll until something happens: logs (-f) and wait.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

#include "client/coordinator.h"
#include "client/resource_ref.h"

namespace cadre::client {

struct LogsOptions {
  ResourceRef ref;              // job/NAME or trainjob/NAME
  std::string replica;          // replica name ("worker-1"); empty: rank 0
  bool follow = false;          // keep polling until the replica has ended
  std::optional<int64_t> tail;  // print only the last N lines of what exists now
  // Between polls while following; a log has no push channel, and 250 ms keeps
  // output prompt without loading the coordinator.
  std::chrono::milliseconds poll_interval{250};
};

// Prints the log from the start (or the last `tail` lines). Without follow it
// stops at the current end; with follow it stops once the coordinator says the
// replica finished and all of its log was returned.
Status print_logs(Coordinator& coordinator, const LogsOptions& options, std::ostream& out);

// --all-replicas: every replica's log, each line led by "[worker-1] ". Without
// follow, each replica's log up to its current end (or its last `tail` lines), in
// rank order; with follow, lines as they come from any replica, until every
// replica has ended. A replica that has no log yet is skipped (or, following,
// waited for). Only whole lines are printed while following, so lines from two
// replicas never mix.
Status print_all_replica_logs(Coordinator& coordinator, const LogsOptions& options,
                              std::ostream& out);

struct WaitOptions {
  ResourceRef ref;                                                // job/NAME or trainjob/NAME
  protocol::JobPhase condition = protocol::JobPhase::kSucceeded;  // phase to wait for
  std::chrono::milliseconds timeout{300000};
  std::chrono::milliseconds poll_interval{200};
};

// Ok once the job's (or experiment's) phase equals the condition; an error naming the phase when it
// ends in another terminal phase, is not found, or time runs out. "Restarting" is
// also reached when the job's restart count rose since the first poll, since a
// restart can begin and end between two polls.
Status wait_for_job(Coordinator& coordinator, const WaitOptions& options);

struct WatchListOptions {
  ResourceRef ref;         // what `get` lists: jobs, trainjob/NAME, trials, ...
  std::string experiment;  // of trials: -l experiment=NAME
  bool wide = false;       // -o wide
  bool json = false;       // -o json: watch events as JSON lines instead of rows
  // Between fetches: a listing has no push channel, and a second is prompt for a
  // person reading along while light on the coordinator.
  std::chrono::milliseconds poll_interval{1000};
};

// `cadre get -w`, kubectl's --watch: prints the table, then at each later fetch
// the row of every item that appeared or changed in more than elapsed time (an
// age, a duration, a node's last heartbeat, a notebook's idle time change every
// second and print nothing on their own), and "NAME   (deleted)" for one that
// went away (it is watched for coming back). Runs until interrupted; returns the
// error of a fetch that failed (a name that matches nothing at the first fetch is
// NotFound).
//
// With `json`, one line of JSON per event instead, in the shape of a Kubernetes
// watch event (kubectl's --output-watch-events): {"type": "ADDED", "object": {...}}
// for every item at the first fetch and each that appears later, "MODIFIED" with
// the whole object when it changes ("lastHeartbeat" alone does not count, as a
// heartbeat alone changes no row), "DELETED" with its last object.
Status watch_listing(Coordinator& coordinator, const WatchListOptions& options, std::ostream& out);

// "Failed (Error: exit code 3)": the phase and why, for wait's messages.
std::string describe_phase(const protocol::JobStatus& job);

// "60", "1.5s", "5m", "2h" → milliseconds; a bare number means seconds.
Result<std::chrono::milliseconds> parse_duration(const std::string& text);

}  // namespace cadre::client
