#include "ingress/notebook_watcher.h"

#include <spdlog/spdlog.h>

#include "ingress/notebook_request.h"

namespace cadre::ingress {

void NotebookActivityBoard::record(protocol::NotebookActivity activity) {
  std::lock_guard<std::mutex> lock(mutex_);
  latest_[activity.name] = std::move(activity);
}

std::vector<protocol::NotebookActivity> NotebookActivityBoard::take() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<protocol::NotebookActivity> out;
  for (auto& [name, a] : latest_) out.push_back(std::move(a));
  latest_.clear();
  return out;
}

Result<std::unique_ptr<NotebookWatcher>> NotebookWatcher::Create(
    const NotebookWatcherOptions& options, const RouteTable& table, UpstreamClient& upstream,
    NotebookActivityBoard& board) {
  if (options.interval.count() <= 0) {
    return InvalidArgument("the notebook activity interval must be > 0");
  }
  std::unique_ptr<NotebookWatcher> w(new NotebookWatcher(options, table, upstream, board));
  w->thread_ = std::thread([raw = w.get()] { raw->run(); });
  return w;
}

NotebookWatcher::~NotebookWatcher() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void NotebookWatcher::run() {
  while (!stop_) {
    const auto next = std::chrono::steady_clock::now() + options_.interval;
    for (const auto& route : table_.ready_notebooks()) read(route);
    while (!stop_ && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

void NotebookWatcher::read(const protocol::NotebookRoute& route) {
  UpstreamRequest request;
  request.address = route.address;
  request.port = route.port;
  request.method = "GET";
  request.target = std::string(kNotebookPrefix) + route.ns + "/" + route.name + "/api/status";
  request.authorization = "token " + route.token;
  request.timeout = options_.timeout;
  UpstreamRequest kernels = request;
  kernels.target = std::string(kNotebookPrefix) + route.ns + "/" + route.name +
                   "/api/kernels?no_track_activity=1";
  // The second read starts from the first's answer; both run on upstream threads.
  // The answers may outlive this watcher at shutdown: they hold the client and the
  // board, which outlive it, not the watcher.
  UpstreamClient* upstream = &upstream_;
  NotebookActivityBoard* board = &board_;
  upstream_.send(std::move(request), [upstream, board, route,
                                      kernels](UpstreamResult status) mutable {
    if (!status.status.ok() || status.response.status != 200) return;
    upstream->send(std::move(kernels), [board, route, status](UpstreamResult k) {
      if (!k.status.ok() || k.response.status != 200) return;
      auto activity = parse_jupyter_activity(status.response.body, k.response.body);
      if (!activity.ok()) {
        spdlog::debug("notebook={} activity not read: {}", route.name, activity.status().message());
        return;
      }
      activity->name = route.name;
      activity->job = route.job;
      board->record(std::move(*activity));
    });
  });
}

}  // namespace cadre::ingress
