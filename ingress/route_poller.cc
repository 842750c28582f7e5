#include "ingress/route_poller.h"

#include <spdlog/spdlog.h>

namespace cadre::ingress {

Result<std::unique_ptr<RoutePoller>> RoutePoller::Create(const RoutePollerOptions& options,
                                                         RouteTable& table, LoadMeter& load,
                                                         NotebookActivityBoard& activity) {
  ASSIGN_OR_RETURN(auto client, client::CoordinatorClient::Create(options.coordinator));
  std::unique_ptr<RoutePoller> poller(
      new RoutePoller(options, table, load, activity, std::move(client)));
  poller->thread_ = std::thread([raw = poller.get()] { raw->run(); });
  return poller;
}

RoutePoller::~RoutePoller() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void RoutePoller::run() {
  bool connected = false;
  while (!stop_) {
    const auto started = std::chrono::steady_clock::now();
    protocol::RoutesRequest request;
    request.version = table_.version();
    request.url = options_.url;
    // A report the coordinator never answers is lost; its autoscaler keeps its count.
    request.load = load_.take(std::chrono::steady_clock::now());
    request.redeemed = table_.redeemed();
    request.notebooks = activity_.take();
    auto reply = client_->routes(request);
    if (reply.ok()) {
      if (!connected) spdlog::info("ingress: routes from {}", options_.coordinator.endpoint);
      connected = true;
      if (reply->changed) {
        table_.update(*reply);
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
    const auto next = started + options_.interval;
    while (!stop_ && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

}  // namespace cadre::ingress
