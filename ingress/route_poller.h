// Keeps the ingress's route table current: asks the coordinator's ingress port
// for the table every poll interval (an unchanged table costs a tiny reply) over
// the CURVE wire with the ingress's own key. While the coordinator is away the
// last table stays in force, so ready replicas keep answering. While the activator
// holds requests it polls every `held_interval` instead, and wakes the activator
// after each new table, so a replica started from zero is used once it is ready.
//
// Threading: one thread of its own; it only writes the table (RouteTable locks).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "client/coordinator_client.h"
#include "ingress/activator.h"
#include "ingress/load_meter.h"
#include "ingress/notebook_watcher.h"
#include "ingress/route_table.h"

namespace cadre::ingress {

struct RoutePollerOptions {
  client::CoordinatorClientOptions coordinator;
  std::string url;  // how users reach this ingress (sent with each poll)
  std::chrono::milliseconds interval{250};
  std::chrono::milliseconds held_interval{20};  // while requests are held
};

class RoutePoller {
 public:
  static Result<std::unique_ptr<RoutePoller>> Create(const RoutePollerOptions& options,
                                                     RouteTable& table, LoadMeter& load,
                                                     NotebookActivityBoard& activity,
                                                     Activator& activator);
  ~RoutePoller();

 private:
  RoutePoller(RoutePollerOptions options, RouteTable& table, LoadMeter& load,
              NotebookActivityBoard& activity, Activator& activator,
              std::unique_ptr<client::CoordinatorClient> client)
      : options_(std::move(options)),
        table_(table),
        load_(load),
        activity_(activity),
        activator_(activator),
        client_(std::move(client)) {}
  std::vector<protocol::RevisionLoad> load_report();
  void run();

  RoutePollerOptions options_;
  RouteTable& table_;
  LoadMeter& load_;                  // reported with each poll, for the autoscaler
  NotebookActivityBoard& activity_;  // reported with each poll, for culling
  Activator& activator_;             // woken by each new table
  std::unique_ptr<client::CoordinatorClient> client_;  // the poller thread's only
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cadre::ingress
