// Prometheus text exposition of every served model version, with Triton's metric
// names and labels (model, version; reason on failures), so dashboards and alerts
// written for Triton work unchanged; plus load time and per-instance busy time.
#pragma once

#include <string>

#include "serving/inference_server.h"

namespace cadre::serving {

std::string render_metrics(const InferenceServer& server);

}  // namespace cadre::serving
