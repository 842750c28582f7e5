// Reads how busy each running notebook's Jupyter server is, as Kubeflow's culler
// does: api/status (its latest activity: requests, kernels, terminals; reading it
// is not activity) and api/kernels?no_track_activity=1 (whether a kernel is
// executing). What it read goes to the coordinator with the next route poll; the
// notebook's supervisor shows it and culls on it.
//
// Threading: one thread of its own starts the reads; their answers arrive on the
// upstream client's threads. The board is guarded by a mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingress/route_table.h"
#include "ingress/upstream_client.h"
#include "protocol/messages.h"

namespace cadre::ingress {

// The latest reading per notebook, until the route poller takes them.
class NotebookActivityBoard {
 public:
  void record(protocol::NotebookActivity activity);
  std::vector<protocol::NotebookActivity> take();

 private:
  std::mutex mutex_;
  std::map<std::string, protocol::NotebookActivity> latest_;  // by notebook
};

struct NotebookWatcherOptions {
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds timeout{5000};  // per read
};

class NotebookWatcher {
 public:
  static Result<std::unique_ptr<NotebookWatcher>> Create(const NotebookWatcherOptions& options,
                                                         const RouteTable& table,
                                                         UpstreamClient& upstream,
                                                         NotebookActivityBoard& board);
  ~NotebookWatcher();

 private:
  NotebookWatcher(NotebookWatcherOptions options, const RouteTable& table, UpstreamClient& upstream,
                  NotebookActivityBoard& board)
      : options_(options), table_(table), upstream_(upstream), board_(board) {}
  void run();
  void read(const protocol::NotebookRoute& route);

  NotebookWatcherOptions options_;
  const RouteTable& table_;
  UpstreamClient& upstream_;
  NotebookActivityBoard& board_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cadre::ingress
