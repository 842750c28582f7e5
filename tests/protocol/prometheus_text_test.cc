#include "protocol/prometheus_text.h"

#include <gtest/gtest.h>

namespace cadre::protocol::prometheus_text_test {
namespace {

TEST(PrometheusText, WritesAFamilyOnceAndEscapesLabelValues) {
  PrometheusText out;
  out.family("cadre_jobs", "gauge", "Jobs by phase.\nSecond line.");
  out.sample("cadre_jobs", {{"phase", "Running"}}, 3);
  out.sample("cadre_jobs", {{"name", "a\"b\\c\nd"}}, 0.5);
  out.sample("cadre_up", {}, 1);
  EXPECT_EQ(out.str(),
            "# HELP cadre_jobs Jobs by phase. Second line.\n"
            "# TYPE cadre_jobs gauge\n"
            "cadre_jobs{phase=\"Running\"} 3\n"
            "cadre_jobs{name=\"a\\\"b\\\\c\\nd\"} 0.5\n"
            "cadre_up 1\n");
}

TEST(PrometheusText, WritesHistogramsAsCumulativeBucketsWithInfSumAndCount) {
  PrometheusText out;
  out.histogram("lat_seconds", {{"op", "put"}}, {0.1, 1}, {2, 3}, 4, 7.5);
  EXPECT_EQ(out.str(),
            "lat_seconds_bucket{op=\"put\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{op=\"put\",le=\"1\"} 3\n"
            "lat_seconds_bucket{op=\"put\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{op=\"put\"} 7.5\n"
            "lat_seconds_count{op=\"put\"} 4\n");
}

}  // namespace
}  // namespace cadre::protocol::prometheus_text_test
