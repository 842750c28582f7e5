#include "agent/metric_line_parser.h"

#include <gtest/gtest.h>

namespace cadre::agent {
namespace {

TEST(ParseMetricLine, ReadsEveryNameValuePairInOrder) {
  auto line = parse_metric_line("epoch=3 loss=0.3123 accuracy=0.8841");
  ASSERT_TRUE(line.has_value());
  ASSERT_EQ(line->values.size(), 3u);
  EXPECT_EQ(line->values[0].first, "epoch");
  EXPECT_DOUBLE_EQ(line->values[1].second, 0.3123);
  EXPECT_EQ(line->values[2].first, "accuracy");
  EXPECT_DOUBLE_EQ(line->values[2].second, 0.8841);
}

TEST(ParseMetricLine, TakesTheStepFromEpochStepOrIteration) {
  EXPECT_EQ(parse_metric_line("epoch=3 loss=1")->step, 3);
  EXPECT_EQ(parse_metric_line("iter=12 loss=1")->step, 12);
  EXPECT_EQ(parse_metric_line("loss=1 iteration=7")->step, 7);
  // The finest counter wins: many steps share one epoch.
  EXPECT_EQ(parse_metric_line("epoch=1 step=500 loss=1")->step, 500);
  EXPECT_FALSE(parse_metric_line("loss=1 accuracy=0.5")->step.has_value());
}

TEST(ParseMetricLine, IgnoresLinesWithoutMetrics) {
  EXPECT_FALSE(parse_metric_line(""));
  EXPECT_FALSE(parse_metric_line("   \t "));
  EXPECT_FALSE(parse_metric_line("hello-cadre"));
  EXPECT_FALSE(parse_metric_line("Epoch 3 done"));
}

TEST(ParseMetricLine, RejectsLinesMixingTextWithMetrics) {
  EXPECT_FALSE(parse_metric_line("using lr=0.1 for warmup"));
  EXPECT_FALSE(parse_metric_line("loss=0.5 (best so far)"));
  EXPECT_FALSE(parse_metric_line("INFO accuracy=0.5"));
}

TEST(ParseMetricLine, RejectsNanInfinityAndNonDecimalValues) {
  EXPECT_FALSE(parse_metric_line("loss=nan"));
  EXPECT_FALSE(parse_metric_line("loss=NaN"));
  EXPECT_FALSE(parse_metric_line("loss=inf"));
  EXPECT_FALSE(parse_metric_line("loss=-Infinity"));
  EXPECT_FALSE(parse_metric_line("loss=1e999"));  // overflows to infinity
  EXPECT_FALSE(parse_metric_line("loss=0x10"));
  EXPECT_FALSE(parse_metric_line("loss="));
  EXPECT_FALSE(parse_metric_line("loss=1.2.3"));
  EXPECT_FALSE(parse_metric_line("loss=abc"));
}

TEST(ParseMetricLine, AcceptsSignsExponentsAndPathLikeNames) {
  auto line = parse_metric_line("train/loss=-1.5e-3 val.acc=+2 top-5_err=.25");
  ASSERT_TRUE(line.has_value());
  EXPECT_DOUBLE_EQ(line->values[0].second, -1.5e-3);
  EXPECT_EQ(line->values[1].first, "val.acc");
  EXPECT_DOUBLE_EQ(line->values[2].second, 0.25);
}

TEST(ParseMetricLine, RejectsBadNames) {
  EXPECT_FALSE(parse_metric_line("=1"));
  EXPECT_FALSE(parse_metric_line("1loss=1"));
  EXPECT_FALSE(parse_metric_line("lo:ss=1"));
}

TEST(ParseMetricLine, ToleratesSurroundingWhitespaceAndCarriageReturn) {
  auto line = parse_metric_line("  \taccuracy=0.5  loss=1\r");
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->values.size(), 2u);
}

TEST(MetricLineParser, NumbersLinesWithoutAStepByMetricLineCount) {
  MetricLineParser parser;
  EXPECT_EQ(parser.parse("accuracy=0.1", 5)[0].step, 0);
  EXPECT_TRUE(parser.parse("not a metric", 5).empty());
  EXPECT_EQ(parser.parse("accuracy=0.2", 5)[0].step, 1);
  auto with_epoch = parser.parse("epoch=9 accuracy=0.3", 7);
  ASSERT_EQ(with_epoch.size(), 2u);
  EXPECT_EQ(with_epoch[1].name, "accuracy");
  EXPECT_EQ(with_epoch[1].step, 9);
  EXPECT_EQ(with_epoch[1].time_ms, 7);
  EXPECT_EQ(parser.parse("accuracy=0.4", 5)[0].step, 3);
}

}  // namespace
}  // namespace cadre::agent
