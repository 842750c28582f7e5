#include "agent/metric_line_parser.h"
#include "protocol/spec/experiment_spec.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>

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

TEST(ParseMetricLine, ReportsNanAndInfinitySpeltOutSoADivergedRunIsSeen) {
  auto nan = parse_metric_line("epoch=3 loss=nan");
  ASSERT_TRUE(nan);
  EXPECT_TRUE(std::isnan(nan->values[1].second));
  EXPECT_EQ(nan->step, 3);
  auto upper = parse_metric_line("loss=NaN");
  ASSERT_TRUE(upper);
  EXPECT_TRUE(std::isnan(upper->values[0].second));
  auto inf = parse_metric_line("loss=inf grad=-Infinity");
  ASSERT_TRUE(inf);
  EXPECT_EQ(inf->values[0].second, std::numeric_limits<double>::infinity());
  EXPECT_EQ(inf->values[1].second, -std::numeric_limits<double>::infinity());
  auto step = parse_metric_line("epoch=nan loss=1");
  ASSERT_TRUE(step);
  EXPECT_FALSE(step->step) << "a NaN is no step";
}

TEST(ParseMetricLine, RejectsNonDecimalValues) {
  EXPECT_FALSE(parse_metric_line("loss=nanx"));
  EXPECT_FALSE(parse_metric_line("loss=nan(1)"));
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

TEST(MetricFormats, KatibsJsonLikeFormatTakesEveryMatchOfEveryRegex) {
  // Katib's example for a custom format (examples/v1beta1/metrics-collector).
  auto formats =
      compile_metric_formats({R"(\{metricName: ([\w|-]+), metricValue: ((-?\d+)(\.\d+)?)\})"});
  ASSERT_TRUE(formats.ok()) << formats.status().to_string();
  auto line = parse_with_formats(
      "epoch 3: {metricName: loss, metricValue: 0.25} {metricName: accuracy, metricValue: 0.9}",
      *formats);
  ASSERT_TRUE(line);
  ASSERT_EQ(line->values.size(), 2u);
  EXPECT_EQ(line->values[0].first, "loss");
  EXPECT_DOUBLE_EQ(line->values[1].second, 0.9);
  EXPECT_FALSE(parse_with_formats("no metrics here", *formats));
}

TEST(MetricFormats, KatibsDefaultFormatFindsMetricsInsideOtherTextAndItsStep) {
  auto formats = compile_metric_formats({R"(([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?))"});
  ASSERT_TRUE(formats.ok());
  MetricLineParser parser(*formats);
  auto samples = parser.parse("INFO epoch = 4 accuracy=0.75 (best)", 7);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[1].name, "accuracy");
  EXPECT_EQ(samples[1].step, 4);
  EXPECT_EQ(samples[1].time_ms, 7);
}

TEST(MetricFormats, RefusesAFormatWithoutTwoGroupsAndSkipsOverlongLines) {
  EXPECT_FALSE(compile_metric_formats({"([a-z]+)=.*"}).ok());
  EXPECT_FALSE(compile_metric_formats({"(unclosed"}).ok());
  auto formats = compile_metric_formats({R"((\w+)=(\d+))"});
  ASSERT_TRUE(formats.ok());
  EXPECT_FALSE(parse_with_formats(std::string(kMaxFormatLineBytes + 1, 'a') + " x=1", *formats));
}

}  // namespace
}  // namespace cadre::agent

namespace cadre::agent {
namespace {

// An experiment's default format: Katib's, taking nan and inf as values too.
TEST(MetricFormats, TheExperimentDefaultReadsKatibStyleLinesAndANaN) {
  auto formats = compile_metric_formats({spec::kDefaultMetricsFormat});
  ASSERT_TRUE(formats.ok()) << formats.status().to_string();
  auto katib = parse_with_formats("Epoch[3] Validation-accuracy=0.91", *formats);
  ASSERT_TRUE(katib);
  ASSERT_EQ(katib->values.size(), 1u);
  EXPECT_EQ(katib->values[0].first, "Validation-accuracy");
  EXPECT_DOUBLE_EQ(katib->values[0].second, 0.91);
  auto ours = parse_with_formats("epoch=3 loss=0.31 accuracy=0.88", *formats);
  ASSERT_TRUE(ours);
  EXPECT_EQ(ours->step, 3);
  auto diverged = parse_with_formats("epoch=4 loss=nan accuracy=-inf", *formats);
  ASSERT_TRUE(diverged);
  EXPECT_TRUE(std::isnan(diverged->values[1].second));
  EXPECT_EQ(diverged->values[2].second, -std::numeric_limits<double>::infinity());
  auto word = parse_with_formats("unit=nanometer", *formats);
  EXPECT_FALSE(word && !word->values.empty() && std::isnan(word->values[0].second))
      << "a word that starts with nan is no NaN";
}

}  // namespace
}  // namespace cadre::agent

namespace cadre::agent {
namespace {

TEST(MetricFormats, APatternBuiltToBacktrackFinishesQuicklyOnALineBuiltToDefeatIt) {
  auto formats = compile_metric_formats({"((a+)+)=(\\d)"});
  ASSERT_TRUE(formats.ok()) << formats.status().to_string();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(parse_with_formats(std::string(kMaxFormatLineBytes - 1, 'a') + "!", *formats));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace cadre::agent
