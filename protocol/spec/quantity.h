// Kubernetes-style resource quantities: cpu "2", "0.5", "500m"; memory "128Mi",
// "1Gi", "1G", "1048576". Parsed into integers (millicores, bytes) so arithmetic in
// the scheduler is exact.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/status.h"

namespace cadre::spec {

// "2" -> 2000, "0.5" -> 500, "250m" -> 250. Negative, empty or garbage: error.
Result<int64_t> parse_cpu_millis(const std::string& text);
// "128Mi" -> 134217728, "1G" -> 1e9, "4096" -> 4096.
Result<int64_t> parse_memory_bytes(const std::string& text);
// 134217728 -> "128Mi" (exact binary units when possible).
std::string format_memory(int64_t bytes);
// For people, not specs: the largest binary unit, to a tenth at most.
// 23128948736 -> "21.5Gi", 1536 -> "1.5Ki", 16Gi -> "16Gi", 900 -> "900".
std::string format_memory_rounded(int64_t bytes);
// 2500 -> "2.5", 500 -> "500m".
std::string format_cpu(int64_t millis);

}  // namespace cadre::spec
