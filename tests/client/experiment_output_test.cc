#include "client/experiment_output.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "client/table_output.h"

namespace cadre::client {
namespace {

protocol::ExperimentStatus sample_experiment() {
  protocol::ExperimentStatus e;
  e.name = "tune";
  e.phase = protocol::ExperimentPhase::kSucceeded;
  e.reason = "MaxTrialsReached";
  e.algorithm = "asha";
  e.objective_metric = "accuracy";
  e.objective_type = "maximize";
  e.trials_total = 2;
  e.trials_succeeded = 1;
  e.trials_failed = 1;
  e.epochs_consumed = 4;
  e.epochs_resumed = 1;
  protocol::TrialStatus good;
  good.name = "tune-1";
  good.parameters = {{"lr", "0.01"}};
  good.phase = protocol::TrialPhase::kSucceeded;
  good.objective = 0.9;
  good.metrics = {{"accuracy", 0.9}};
  good.curve = {{1, 0.5}, {2, 0.7}, {3, 0.9}};
  good.jobs = {"tune-1", "tune-1-r1"};
  good.epochs = 3;
  good.epochs_resumed = 1;
  protocol::TrialStatus bad;
  bad.name = "tune-2";
  bad.parameters = {{"lr", "0.5"}};
  bad.phase = protocol::TrialPhase::kFailed;
  bad.reason = "InvalidMetric";
  bad.curve = {{1, 0.2}};
  bad.metrics = {{"loss", std::numeric_limits<double>::quiet_NaN()}};
  bad.epochs = 1;
  e.trials = {good, bad};
  e.current_optimal_trial = {"tune-1", good.parameters, good.metrics};
  return e;
}

TEST(Sparkline, ScalesACurveBetweenItsOwnMinimumAndMaximum) {
  EXPECT_EQ(sparkline({{1, 0.0}, {2, 0.5}, {3, 1.0}}), "▁▅█");
  EXPECT_EQ(sparkline({{1, 2.0}}), "▄") << "a flat curve sits in the middle";
  EXPECT_EQ(sparkline({}), "");
  std::map<int64_t, double> long_curve;
  for (int i = 0; i < 100; ++i) long_curve[i] = i;
  const std::string line = sparkline(long_curve, 10);
  EXPECT_EQ(line.size(), 10u * 3) << "ten blocks of three bytes";
  EXPECT_EQ(line.substr(line.size() - 3), "█") << "the last point is kept";
}

TEST(ExperimentTables, ColumnsStayAlignedAroundSparklines) {
  const std::string table = render_table({"A", "B"}, {{"▁▅█", "x"}, {"abcd", "y"}});
  EXPECT_EQ(table, "A      B\n▁▅█    x\nabcd   y\n");
}

TEST(ExperimentTables, TrialsListEveryTrialWithItsObjectiveAndParameters) {
  const std::string table = trials_table({sample_experiment()}, /*wide=*/true);
  EXPECT_NE(table.find("tune-1   Succeeded   0.9"), std::string::npos) << table;
  EXPECT_NE(table.find("InvalidMetric"), std::string::npos) << table;
  EXPECT_NE(table.find("tune-1,tune-1-r1"), std::string::npos) << table;
  const std::string list = experiments_table({sample_experiment()}, 0, false);
  EXPECT_NE(list.find("0/1/1/0 of 2"), std::string::npos) << list;
}

TEST(ExperimentDescribe, ShowsTheBestTrialAndEachTrialsCurve) {
  const std::string page = describe_experiment(sample_experiment(), 0);
  EXPECT_NE(page.find("Best Trial:\n  Name:       tune-1"), std::string::npos) << page;
  EXPECT_NE(page.find("▁▄█"), std::string::npos) << page;
  EXPECT_NE(page.find("4 trained, 1 resumed"), std::string::npos) << page;
}

TEST(ExperimentJson, HasTheDocumentedKeysAndNaNReadsAsNull) {
  const auto json = experiment_to_json(sample_experiment(), true);
  EXPECT_EQ(json.at("phase"), "Succeeded");
  EXPECT_EQ(json.at("reason"), "MaxTrialsReached");
  EXPECT_EQ(json.at("bestTrial").at("name"), "tune-1");
  EXPECT_DOUBLE_EQ(json.at("bestTrial").at("objective").get<double>(), 0.9);
  EXPECT_EQ(json.at("epochsConsumed"), 4);
  ASSERT_EQ(json.at("trials").size(), 2u);
  const auto& trial = json.at("trials")[0];
  EXPECT_EQ(trial.at("parameters").at("lr"), "0.01");
  EXPECT_EQ(trial.at("curve")[2].at("step"), 3);
  EXPECT_EQ(trial.at("epochs"), 3);
  EXPECT_TRUE(json.at("trials")[1].at("objective").is_null());
  EXPECT_TRUE(json.at("trials")[1].at("metrics").at("loss").is_null());
  EXPECT_FALSE(experiment_to_json(sample_experiment(), false).contains("trials"));
}

}  // namespace
}  // namespace cadre::client
