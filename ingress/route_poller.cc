#include "ingress/route_poller.h"

#include <spdlog/spdlog.h>

#include <set>

namespace cadre::ingress {

Result<std::unique_ptr<RoutePoller>> RoutePoller::Create(const RoutePollerOptions& options,
                                                         RouteTable& table, LoadMeter& load,
                                                         NotebookActivityBoard& activity,
                                                         Activator& activator) {
  ASSIGN_OR_RETURN(auto client, client::CoordinatorClient::Create(options.coordinator));
  std::unique_ptr<RoutePoller> poller(
      new RoutePoller(options, table, load, activity, activator, std::move(client)));
  poller->thread_ = std::thread([raw = poller.get()] { raw->run(); });
  return poller;
}

RoutePoller::~RoutePoller() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

// What the meter saw, and a 0 for every revision that may scale to zero and saw
// nothing: its autoscaler needs a whole idle window of samples to take it to zero.
std::vector<protocol::RevisionLoad> RoutePoller::load_report() {
  auto report = load_.take(std::chrono::steady_clock::now());
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& l : report) seen.emplace(l.service, l.revision);
  for (const auto& [service, revision] : table_.scale_to_zero_revisions()) {
    if (!seen.count({service, revision})) report.push_back({service, revision, 0, 0});
  }
  return report;
}

void RoutePoller::run() {
  bool connected = false;
  while (!stop_) {
    const auto started = std::chrono::steady_clock::now();
    protocol::RoutesRequest request;
    request.version = table_.version();
    request.url = options_.url;
    // A report the coordinator never answers is lost; its autoscaler keeps its count.
    request.load = load_report();
    request.redeemed = table_.redeemed();
    request.notebooks = activity_.take();
    auto reply = client_->routes(request);
    if (reply.ok()) {
      if (!connected) spdlog::info("ingress: routes from {}", options_.coordinator.endpoint);
      connected = true;
      if (reply->changed) {
        table_.update(*reply);
        activator_.wake();
        spdlog::debug("ingress: routes version {} ({} services)", reply->version,
                      reply->services.size());
      }
    } else if (connected || table_.version() == 0) {
      // Once per outage: the last table stays in force meanwhile.
      spdlog::warn("ingress: no routes from the coordinator ({}); serving on the last table",
                   reply.status().message());
      connected = false;
      if (table_.version() == 0) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    // A request held at zero replicas shortens the wait at once.
    while (!stop_) {
      const auto interval = activator_.held() > 0 ? options_.held_interval : options_.interval;
      if (std::chrono::steady_clock::now() >= started + interval) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

}  // namespace cadre::ingress
