#include "client/watch_commands.h"

#include <cmath>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client/commands.h"
#include "client/listing.h"
#include "client/metrics_commands.h"
#include "client/time_format.h"
#include "tests/client/fake_coordinator.h"
#include "tests/support/status_matchers.h"

namespace cadre::client {
namespace {

protocol::GetReply job_in(protocol::JobPhase phase, std::optional<int32_t> exit_code = {},
                          const std::string& reason = "") {
  protocol::JobStatus job;
  job.name = "hello";
  job.phase = phase;
  job.exit_code = exit_code;
  job.reason = reason;
  protocol::GetReply reply;
  reply.jobs.push_back(job);
  return reply;
}

WaitOptions wait_for(protocol::JobPhase condition, int timeout_ms = 2000) {
  WaitOptions options;
  options.ref = *parse_resource_ref({"job/hello"});
  options.condition = condition;
  options.timeout = std::chrono::milliseconds(timeout_ms);
  options.poll_interval = std::chrono::milliseconds(1);
  return options;
}

TEST(WaitForJob, SucceedsOnceThePhaseIsReached) {
  FakeCoordinator fake;
  fake.gets = {job_in(protocol::JobPhase::kQueued), job_in(protocol::JobPhase::kRunning),
               job_in(protocol::JobPhase::kSucceeded, 0)};
  EXPECT_OK(wait_for_job(fake, wait_for(protocol::JobPhase::kSucceeded)));
  EXPECT_EQ(fake.get_calls, 3);
}

TEST(WaitForJob, FailsNamingThePhaseWhenTheJobEndsOtherwise) {
  FakeCoordinator fake;
  fake.gets = {job_in(protocol::JobPhase::kRunning),
               job_in(protocol::JobPhase::kFailed, 3, "Error")};
  const Status status = wait_for_job(fake, wait_for(protocol::JobPhase::kSucceeded));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "job/hello is Failed (Error: exit code 3), not Succeeded");
}

TEST(WaitForJob, WaitingForFailedSucceedsOnFailure) {
  FakeCoordinator fake;
  fake.gets = {job_in(protocol::JobPhase::kFailed, 3, "Error")};
  EXPECT_OK(wait_for_job(fake, wait_for(protocol::JobPhase::kFailed)));
}

TEST(WaitForJob, TimesOutReportingTheCurrentPhase) {
  FakeCoordinator fake;
  fake.gets = {job_in(protocol::JobPhase::kRunning)};
  const Status status = wait_for_job(fake, wait_for(protocol::JobPhase::kSucceeded, 50));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status.message(),
            "timed out after 0.05s waiting for job/hello to be Succeeded (phase Running)");
}

TEST(WaitForJob, FailsAtOnceWhenTheJobDoesNotExist) {
  FakeCoordinator fake;
  fake.gets = {Result<protocol::GetReply>(NotFound("job hello not found"))};
  const Status status = wait_for_job(fake, wait_for(protocol::JobPhase::kSucceeded));
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(fake.get_calls, 1);
  fake.gets = {protocol::GetReply{}};
  EXPECT_EQ(wait_for_job(fake, wait_for(protocol::JobPhase::kSucceeded)).code(),
            StatusCode::kNotFound);
}

protocol::LogsReply chunk(const std::string& data, int64_t offset, bool finished = false) {
  return protocol::LogsReply{data, offset, offset + static_cast<int64_t>(data.size()), finished};
}

LogsOptions logs_of(const std::string& resource, bool follow) {
  LogsOptions options;
  options.ref = *parse_resource_ref({resource});
  options.follow = follow;
  options.poll_interval = std::chrono::milliseconds(1);
  return options;
}

LogsOptions logs_of_hello(bool follow) { return logs_of("job/hello", follow); }

TEST(PrintLogs, PrintsUpToTheCurrentEndWithoutFollow) {
  FakeCoordinator fake;
  fake.logs_replies = {chunk("hello-", 0, false), chunk("cadre\n", 6, false), chunk("", 12, false)};
  std::ostringstream out;
  ASSERT_OK(print_logs(fake, logs_of_hello(false), out));
  EXPECT_EQ(out.str(), "hello-cadre\n");
  ASSERT_EQ(fake.logs_requests.size(), 3u);
  EXPECT_EQ(fake.logs_requests[1].offset, 6);
  EXPECT_EQ(fake.logs_requests[2].offset, 12);
}

TEST(PrintLogs, FollowKeepsPollingFromNextOffsetUntilFinished) {
  FakeCoordinator fake;
  fake.logs_replies = {chunk("a\n", 0, false), chunk("", 2, false), chunk("", 2, false),
                       chunk("b\n", 2, true)};
  std::ostringstream out;
  ASSERT_OK(print_logs(fake, logs_of_hello(true), out));
  EXPECT_EQ(out.str(), "a\nb\n");
  EXPECT_EQ(fake.logs_requests.size(), 4u);
}

TEST(PrintLogs, FollowWaitsOutAJobThatHasNoReplicaYet) {
  FakeCoordinator fake;
  fake.logs_replies = {Result<protocol::LogsReply>(FailedPrecondition("job hello is Queued")),
                       chunk("x\n", 0, true)};
  std::ostringstream out;
  ASSERT_OK(print_logs(fake, logs_of_hello(true), out));
  EXPECT_EQ(out.str(), "x\n");
  fake.logs_replies = {Result<protocol::LogsReply>(FailedPrecondition("job hello is Queued"))};
  EXPECT_FALSE(print_logs(fake, logs_of_hello(false), out).ok());
}

TEST(PrintLogs, TailPrintsOnlyTheLastWholeLines) {
  FakeCoordinator fake;
  fake.logs_replies = {chunk("tial line\nl2\nl3\nl4\n", 100, true)};
  LogsOptions options = logs_of_hello(false);
  options.tail = 2;
  std::ostringstream out;
  ASSERT_OK(print_logs(fake, options, out));
  EXPECT_EQ(out.str(), "l3\nl4\n");
  EXPECT_LT(fake.logs_requests[0].offset, 0);

  fake.logs_replies = {chunk("tial line\nl2\n", 100, true)};
  options.tail = 5;
  out.str("");
  ASSERT_OK(print_logs(fake, options, out));
  EXPECT_EQ(out.str(), "l2\n");  // the partial first line is not a line of the log
}

TEST(ApplyManifests, SendsEachDocumentAndStopsAtTheFirstRefusal) {
  const std::string path = ::testing::TempDir() + "/cadre-apply-test.yaml";
  {
    std::ofstream file(path);
    file << "kind: Job\nmetadata: {name: a}\n---\nkind: Job # bad\n---\nkind: Job\n";
  }
  FakeCoordinator fake;
  std::ostringstream out;
  const Status status = apply_manifests(fake, path, out);
  EXPECT_EQ(out.str(), "job/n1 created\n");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("document 2: spec.template.command"), std::string::npos);
  ASSERT_EQ(fake.applies.size(), 2u);
  EXPECT_EQ(fake.applies[0].manifest, "kind: Job\nmetadata: {name: a}\n");
}

protocol::GetReply train_job_in(protocol::JobPhase phase, int32_t restarts) {
  protocol::GetReply reply = job_in(phase);
  reply.jobs[0].kind = "TrainJob";
  reply.jobs[0].restarts = restarts;
  return reply;
}

WaitOptions wait_for_train_job(protocol::JobPhase condition, int timeout_ms = 2000) {
  WaitOptions options = wait_for(condition, timeout_ms);
  options.ref = *parse_resource_ref({"trainjob/hello"});
  return options;
}

TEST(WaitForTrainJob, AsksForTrainJobsAndSucceedsOnceThePhaseIsReached) {
  FakeCoordinator fake;
  fake.gets = {train_job_in(protocol::JobPhase::kQueued, 0),
               train_job_in(protocol::JobPhase::kRunning, 0)};
  EXPECT_OK(wait_for_job(fake, wait_for_train_job(protocol::JobPhase::kRunning)));
  ASSERT_EQ(fake.get_requests.size(), 2u);
  EXPECT_EQ(fake.get_requests[0].resource, "trainjobs");
  EXPECT_EQ(fake.get_requests[0].name, "hello");
}

TEST(WaitForTrainJob, RestartingIsReachedInThePhaseOrByARestartBetweenPolls) {
  FakeCoordinator fake;
  fake.gets = {train_job_in(protocol::JobPhase::kRunning, 1),
               train_job_in(protocol::JobPhase::kRestarting, 1)};
  EXPECT_OK(wait_for_job(fake, wait_for_train_job(protocol::JobPhase::kRestarting)));
  EXPECT_EQ(fake.get_calls, 2);

  // The restart began and ended between two polls: only the count shows it.
  fake.get_calls = 0;
  fake.gets = {train_job_in(protocol::JobPhase::kRunning, 1),
               train_job_in(protocol::JobPhase::kRunning, 1),
               train_job_in(protocol::JobPhase::kRunning, 2)};
  EXPECT_OK(wait_for_job(fake, wait_for_train_job(protocol::JobPhase::kRestarting)));
  EXPECT_EQ(fake.get_calls, 3);

  // Restarts from before the wait began do not count.
  fake.gets = {train_job_in(protocol::JobPhase::kRunning, 3)};
  EXPECT_EQ(wait_for_job(fake, wait_for_train_job(protocol::JobPhase::kRestarting, 20)).code(),
            StatusCode::kDeadlineExceeded);
}

TEST(WaitForTrainJob, FailsNamingTheTrainJobWhenItEndsOtherwise) {
  FakeCoordinator fake;
  protocol::GetReply failed = train_job_in(protocol::JobPhase::kFailed, 6);
  failed.jobs[0].reason = "BackoffLimitExceeded";
  failed.jobs[0].message = "7 restarts, backoffLimit 6";
  fake.gets = {failed};
  const Status status = wait_for_job(fake, wait_for_train_job(protocol::JobPhase::kSucceeded));
  EXPECT_EQ(status.message(),
            "trainjob/hello is Failed (BackoffLimitExceeded: 7 restarts, backoffLimit 6), "
            "not Succeeded");
}

TEST(PrintLogs, SendsTheTrainJobResourceAndTheReplicaName) {
  FakeCoordinator fake;
  fake.logs_replies = {chunk("w1\n", 0, true)};
  LogsOptions options = logs_of_hello(false);
  options.ref = *parse_resource_ref({"tj/hello"});
  options.replica = "worker-1";
  std::ostringstream out;
  ASSERT_OK(print_logs(fake, options, out));
  EXPECT_EQ(out.str(), "w1\n");
  ASSERT_EQ(fake.logs_requests.size(), 1u);
  EXPECT_EQ(fake.logs_requests[0].resource, "trainjobs");
  EXPECT_EQ(fake.logs_requests[0].name, "hello");
  EXPECT_EQ(fake.logs_requests[0].replica, "worker-1");
}

TEST(PrintLogs, LeavesTheReplicaEmptyForRankZeroByDefault) {
  FakeCoordinator fake;
  fake.logs_replies = {chunk("", 0, true)};
  std::ostringstream out;
  ASSERT_OK(print_logs(fake, logs_of_hello(false), out));
  EXPECT_EQ(fake.logs_requests[0].resource, "jobs");
  EXPECT_EQ(fake.logs_requests[0].replica, "");
}

TEST(DeleteResource, SendsTheTrainJobResourceAndPrintsTheSingularRef) {
  FakeCoordinator fake;
  std::ostringstream out;
  ASSERT_OK(delete_resource(fake, *parse_resource_ref({"trainjob/mnist"}), out));
  ASSERT_EQ(fake.delete_requests.size(), 1u);
  EXPECT_EQ(fake.delete_requests[0].resource, "trainjobs");
  EXPECT_EQ(fake.delete_requests[0].name, "mnist");
  EXPECT_EQ(out.str(), "trainjob/mnist deleted\n");
}

TEST(DeleteResource, SendsANodeDeleteAndNeedsAName) {
  FakeCoordinator fake;
  std::ostringstream out;
  ASSERT_OK(delete_resource(fake, *parse_resource_ref({"node/gpu-3"}), out));
  ASSERT_EQ(fake.delete_requests.size(), 1u);
  EXPECT_EQ(fake.delete_requests[0].resource, "nodes");
  EXPECT_EQ(fake.delete_requests[0].name, "gpu-3");
  EXPECT_EQ(out.str(), "node/gpu-3 deleted\n");
  EXPECT_FALSE(delete_resource(fake, *parse_resource_ref({"nodes"}), out).ok());
}

TEST(DeleteManifests, DeletesATrainJobByItsKind) {
  const std::string path = ::testing::TempDir() + "/cadre-delete-trainjob-test.yaml";
  {
    std::ofstream file(path);
    file << "kind: TrainJob\nmetadata:\n  name: mnist\n";
  }
  FakeCoordinator fake;
  std::ostringstream out;
  ASSERT_OK(delete_manifests(fake, path, out));
  ASSERT_EQ(fake.delete_requests.size(), 1u);
  EXPECT_EQ(fake.delete_requests[0].resource, "trainjobs");
  EXPECT_EQ(out.str(), "trainjob/mnist deleted\n");
}

TEST(GetResources, ListsTrainJobsWithTheirOwnTableAndJobsWithTheirs) {
  FakeCoordinator fake;
  fake.gets = {train_job_in(protocol::JobPhase::kRunning, 2)};
  std::ostringstream out;
  ASSERT_OK(get_resources(fake, *parse_resource_ref({"trainjobs"}), OutputFormat::kTable, out));
  EXPECT_EQ(fake.get_requests[0].resource, "trainjobs");
  EXPECT_EQ(out.str().rfind("NAME    STATE     REPLICAS   RESTARTS   AGE\n", 0), 0u) << out.str();

  out.str("");
  fake.gets = {job_in(protocol::JobPhase::kRunning)};
  fake.gets.front().value().jobs[0].kind = "Job";
  ASSERT_OK(get_resources(fake, *parse_resource_ref({"jobs"}), OutputFormat::kTable, out));
  EXPECT_EQ(fake.get_requests[1].resource, "jobs");
  EXPECT_EQ(out.str().rfind("NAME    KIND   PHASE     REASON", 0), 0u) << out.str();
}

TEST(GetResources, SaysWhichTrainJobWasNotFound) {
  FakeCoordinator fake;
  fake.gets = {protocol::GetReply{}};
  std::ostringstream out;
  const Status status =
      get_resources(fake, *parse_resource_ref({"tj", "nope"}), OutputFormat::kJson, out);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "trainjob/nope not found");
}

TEST(GetResources, SaysWhichNamedItemWasNotFoundWhateverItsKind) {
  for (const std::string kind : {"job", "experiment", "isvc", "pipeline", "run", "recurringrun",
                                 "notebook", "node", "trial"}) {
    FakeCoordinator fake;
    fake.gets = {protocol::GetReply{}};
    std::ostringstream out;
    const auto ref = *parse_resource_ref({kind, kind == "trial" ? "tune-3" : "nope"});
    for (const auto format : {OutputFormat::kJson, OutputFormat::kTable}) {
      const Status status = get_resources(fake, ref, format, out);
      EXPECT_EQ(status.code(), StatusCode::kNotFound) << kind;
      EXPECT_EQ(status.message(), ref.display() + " not found");
    }
  }
}

TEST(GetResources, AnEmptyListingSaysSoInWords) {
  FakeCoordinator fake;
  fake.gets = {protocol::GetReply{}};
  std::ostringstream out;
  ASSERT_OK(get_resources(fake, *parse_resource_ref({"recurringruns"}), OutputFormat::kTable, out));
  ASSERT_OK(get_resources(fake, *parse_resource_ref({"isvc"}), OutputFormat::kTable, out));
  EXPECT_EQ(out.str(), "No recurring runs found.\nNo inferenceservices found.\n");
}

protocol::JobStatus listed_job(const std::string& name, protocol::JobPhase phase,
                               int64_t created_ms) {
  protocol::JobStatus job;
  job.name = name;
  job.kind = "Job";
  job.phase = phase;
  job.created_ms = created_ms;
  return job;
}

WatchListOptions watching(const std::vector<std::string>& args) {
  WatchListOptions options;
  options.ref = *parse_resource_ref(args);
  options.poll_interval = std::chrono::milliseconds(0);
  return options;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(WatchListing, PrintsTheTableThenOnlyTheRowsThatChangeOrAppear) {
  const int64_t t = now_unix_ms() - 5000;
  protocol::GetReply first, second, third;
  first.jobs = {listed_job("a", protocol::JobPhase::kRunning, t),
                listed_job("b", protocol::JobPhase::kQueued, t)};
  second = first;
  third = first;
  third.jobs[0].phase = protocol::JobPhase::kSucceeded;
  third.jobs.push_back(listed_job("c", protocol::JobPhase::kQueued, t + 1000));
  FakeCoordinator fake;
  fake.gets = {first, second, third, Result<protocol::GetReply>(Unavailable("gone"))};
  std::ostringstream out;
  const Status status = watch_listing(fake, watching({"jobs"}), out);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 5u) << out.str();
  EXPECT_EQ(lines[0].rfind("NAME", 0), 0u);
  EXPECT_EQ(lines[1].rfind("a ", 0), 0u);
  EXPECT_NE(lines[1].find("Running"), std::string::npos);
  EXPECT_EQ(lines[2].rfind("b ", 0), 0u);
  EXPECT_EQ(lines[3].rfind("a ", 0), 0u);
  EXPECT_NE(lines[3].find("Succeeded"), std::string::npos);
  EXPECT_EQ(lines[4].rfind("c ", 0), 0u);
}

TEST(WatchListing, ElapsedTimeAloneChangesNoRow) {
  const int64_t now = now_unix_ms();
  protocol::NodeStatus node;
  node.name = "node-1";
  node.state = protocol::NodeState::kReady;
  protocol::GetReply first, later;
  node.last_heartbeat_ms = now - 1000;
  first.nodes = {node};
  node.last_heartbeat_ms = now - 40000;  // reads "40s ago" instead of "1s ago"
  later.nodes = {node};
  FakeCoordinator fake;
  fake.gets = {first, later, Result<protocol::GetReply>(Unavailable("gone"))};
  std::ostringstream out;
  EXPECT_EQ(watch_listing(fake, watching({"nodes"}), out).code(), StatusCode::kUnavailable);
  EXPECT_EQ(lines_of(out.str()).size(), 2u) << out.str();
}

TEST(WatchListing, SaysWhenAnItemIsDeletedAndShowsANamedOneComingBack) {
  const int64_t t = now_unix_ms();
  protocol::GetReply there;
  there.jobs = {listed_job("hello", protocol::JobPhase::kRunning, t)};
  protocol::GetReply back;
  back.jobs = {listed_job("hello", protocol::JobPhase::kQueued, t + 9000)};
  FakeCoordinator fake;
  fake.gets = {there, Result<protocol::GetReply>(NotFound("job/hello not found")), back,
               Result<protocol::GetReply>(Unavailable("gone"))};
  std::ostringstream out;
  EXPECT_EQ(watch_listing(fake, watching({"job/hello"}), out).code(), StatusCode::kUnavailable);
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 4u) << out.str();
  EXPECT_EQ(lines[2], "hello   (deleted)");
  EXPECT_NE(lines[3].find("Queued"), std::string::npos);
}

TEST(WatchListing, AListingEmptyAtFirstPrintsTheHeaderWithItsFirstRow) {
  protocol::GetReply some;
  some.jobs = {listed_job("first", protocol::JobPhase::kQueued, now_unix_ms())};
  FakeCoordinator fake;
  fake.gets = {protocol::GetReply{}, protocol::GetReply{}, some,
               Result<protocol::GetReply>(Unavailable("gone"))};
  std::ostringstream out;
  EXPECT_EQ(watch_listing(fake, watching({"jobs"}), out).code(), StatusCode::kUnavailable);
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 3u) << out.str();
  EXPECT_EQ(lines[0], "No jobs found.");
  EXPECT_EQ(lines[1].rfind("NAME", 0), 0u);
  EXPECT_EQ(lines[2].rfind("first ", 0), 0u);
}

TEST(WatchListing, ANameThatMatchesNothingAtTheStartIsNotFound) {
  FakeCoordinator fake;
  fake.gets = {protocol::GetReply{}};
  std::ostringstream out;
  const Status status = watch_listing(fake, watching({"job/nope"}), out);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "job/nope not found");
  EXPECT_EQ(out.str(), "");
}

WatchListOptions watching_json(const std::vector<std::string>& args) {
  WatchListOptions options = watching(args);
  options.json = true;
  return options;
}

std::vector<nlohmann::json> events_of(const std::string& text) {
  std::vector<nlohmann::json> events;
  for (const auto& line : lines_of(text)) events.push_back(nlohmann::json::parse(line));
  return events;
}

TEST(WatchListingAsJson, PrintsOneEventPerLineForEachItemThatAppearsChangesOrGoes) {
  const int64_t t = now_unix_ms() - 5000;
  protocol::GetReply first, same, changed, gone;
  first.jobs = {listed_job("a", protocol::JobPhase::kRunning, t),
                listed_job("b", protocol::JobPhase::kQueued, t)};
  same = first;
  changed = first;
  changed.jobs[0].phase = protocol::JobPhase::kSucceeded;
  changed.jobs.push_back(listed_job("c", protocol::JobPhase::kQueued, t + 1000));
  gone.jobs = {changed.jobs[0], changed.jobs[2]};
  FakeCoordinator fake;
  fake.gets = {first, same, changed, gone, Result<protocol::GetReply>(Unavailable("gone"))};
  std::ostringstream out;
  EXPECT_EQ(watch_listing(fake, watching_json({"jobs"}), out).code(), StatusCode::kUnavailable);
  const auto events = events_of(out.str());
  ASSERT_EQ(events.size(), 5u) << out.str();
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[0]["object"]["name"], "a");
  EXPECT_EQ(events[0]["object"]["phase"], "Running");
  EXPECT_EQ(events[1]["type"], "ADDED");
  EXPECT_EQ(events[1]["object"]["name"], "b");
  EXPECT_EQ(events[2]["type"], "MODIFIED");
  EXPECT_EQ(events[2]["object"]["phase"], "Succeeded");
  EXPECT_EQ(events[3]["type"], "ADDED");
  EXPECT_EQ(events[3]["object"]["name"], "c");
  EXPECT_EQ(events[4]["type"], "DELETED");
  EXPECT_EQ(events[4]["object"]["name"], "b");
  EXPECT_EQ(events[4]["object"]["phase"], "Queued");
}

TEST(WatchListingAsJson, ANodesHeartbeatAloneIsNoChangeButItsStateIs) {
  protocol::NodeStatus node;
  node.name = "node-1";
  node.state = protocol::NodeState::kReady;
  node.last_heartbeat_ms = now_unix_ms() - 1000;
  protocol::GetReply first, beat, lost;
  first.nodes = {node};
  node.last_heartbeat_ms += 1000;
  beat.nodes = {node};
  node.state = protocol::NodeState::kLost;
  lost.nodes = {node};
  FakeCoordinator fake;
  fake.gets = {first, beat, lost, Result<protocol::GetReply>(Unavailable("gone"))};
  std::ostringstream out;
  EXPECT_EQ(watch_listing(fake, watching_json({"nodes"}), out).code(), StatusCode::kUnavailable);
  const auto events = events_of(out.str());
  ASSERT_EQ(events.size(), 2u) << out.str();
  EXPECT_EQ(events[1]["type"], "MODIFIED");
  EXPECT_EQ(events[1]["object"]["state"], "Lost");
}

TEST(WatchListingAsJson, ANamedItemDeletedAndBackIsDeletedThenAdded) {
  const int64_t t = now_unix_ms();
  protocol::GetReply there;
  there.jobs = {listed_job("hello", protocol::JobPhase::kRunning, t)};
  FakeCoordinator fake;
  fake.gets = {there, Result<protocol::GetReply>(NotFound("job/hello not found")), there,
               Result<protocol::GetReply>(Unavailable("gone"))};
  std::ostringstream out;
  EXPECT_EQ(watch_listing(fake, watching_json({"job/hello"}), out).code(),
            StatusCode::kUnavailable);
  const auto events = events_of(out.str());
  ASSERT_EQ(events.size(), 3u) << out.str();
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[1]["type"], "DELETED");
  EXPECT_EQ(events[2]["type"], "ADDED");
  EXPECT_EQ(events[2]["object"]["name"], "hello");
}

TEST(WatchListingAsJson, AnEmptyListingPrintsNothingUntilSomethingAppears) {
  protocol::GetReply some;
  some.jobs = {listed_job("first", protocol::JobPhase::kQueued, now_unix_ms())};
  FakeCoordinator fake;
  fake.gets = {protocol::GetReply{}, some, Result<protocol::GetReply>(Unavailable("gone"))};
  std::ostringstream out;
  EXPECT_EQ(watch_listing(fake, watching_json({"jobs"}), out).code(), StatusCode::kUnavailable);
  const auto events = events_of(out.str());
  ASSERT_EQ(events.size(), 1u) << out.str();
  EXPECT_EQ(events[0]["object"]["name"], "first");
}

protocol::GetReply job_with_replicas(const std::vector<std::string>& names,
                                     protocol::JobPhase phase = protocol::JobPhase::kRunning) {
  protocol::GetReply reply;
  protocol::JobStatus job;
  job.name = "mnist";
  job.kind = "TrainJob";
  job.phase = phase;
  for (const auto& name : names) {
    protocol::ReplicaStatus replica;
    replica.name = name;
    job.replicas.push_back(replica);
  }
  reply.jobs.push_back(job);
  return reply;
}

LogsOptions all_replicas_of_mnist(bool follow) { return logs_of("trainjob/mnist", follow); }

TEST(PrintAllReplicaLogs, PrintsEachReplicasLinesUnderItsNameOneReplicaAfterTheOther) {
  FakeCoordinator fake;
  fake.gets = {job_with_replicas({"ps-0", "worker-0"})};
  fake.logs_by_replica["ps-0"] = {chunk("a\nb\n", 0), chunk("", 4)};
  fake.logs_by_replica["worker-0"] = {chunk("c\nlast without newline", 0), chunk("", 23)};
  std::ostringstream out;
  ASSERT_OK(print_all_replica_logs(fake, all_replicas_of_mnist(false), out));
  EXPECT_EQ(out.str(), "[ps-0] a\n[ps-0] b\n[worker-0] c\n[worker-0] last without newline\n");
  EXPECT_EQ(fake.logs_requests[1].offset, 4);  // ps-0 read on from where it stopped
}

TEST(PrintAllReplicaLogs, FollowingPrintsOnlyWholeLinesSoTwoReplicasNeverMix) {
  FakeCoordinator fake;
  fake.gets = {job_with_replicas({"worker-0", "worker-1"})};
  fake.logs_by_replica["worker-0"] = {chunk("hel", 0), chunk("lo\n", 3, true)};
  fake.logs_by_replica["worker-1"] = {chunk("x\n", 0), chunk("y\n", 2, true)};
  std::ostringstream out;
  ASSERT_OK(print_all_replica_logs(fake, all_replicas_of_mnist(true), out));
  EXPECT_EQ(out.str(), "[worker-1] x\n[worker-0] hello\n[worker-1] y\n");
}

TEST(PrintAllReplicaLogs, FollowingPrintsALineThatNeverEndsOnceItIsLongInsteadOfHoldingIt) {
  const std::string bar(70 * 1024, '#');  // a progress bar redrawn with carriage returns
  FakeCoordinator fake;
  fake.gets = {job_with_replicas({"worker-0"})};
  fake.logs_by_replica["worker-0"] = {chunk(bar, 0), chunk("", 70 * 1024),
                                      chunk("done\n", 70 * 1024, true)};
  std::ostringstream out;
  ASSERT_OK(print_all_replica_logs(fake, all_replicas_of_mnist(true), out));
  EXPECT_EQ(out.str(), "[worker-0] " + bar + "\n[worker-0] done\n");
}

TEST(PrintAllReplicaLogs, AReplicaWithNoLogIsWaitedForOnlyUntilItsJobHasEnded) {
  FakeCoordinator fake;
  fake.gets = {job_with_replicas({"worker-0", "worker-1"}),
               job_with_replicas({"worker-0", "worker-1"}),
               job_with_replicas({"worker-0", "worker-1"}, protocol::JobPhase::kFailed)};
  fake.logs_by_replica["worker-0"] = {chunk("done\n", 0, true)};
  fake.logs_by_replica["worker-1"] = {
      Result<protocol::LogsReply>(FailedPrecondition("worker-1 has not started"))};
  std::ostringstream out;
  ASSERT_OK(print_all_replica_logs(fake, all_replicas_of_mnist(true), out));
  EXPECT_EQ(out.str(), "[worker-0] done\n");
  EXPECT_EQ(fake.get_calls, 3);
}

TEST(PrintAllReplicaLogs, TailKeepsTheLastLinesOfEachReplica) {
  FakeCoordinator fake;
  fake.gets = {job_with_replicas({"worker-0", "worker-1"})};
  fake.logs_by_replica["worker-0"] = {chunk("1\n2\n3\n", 0), chunk("", 6)};
  fake.logs_by_replica["worker-1"] = {chunk("partial\n4\n", 90), chunk("", 100)};
  LogsOptions options = all_replicas_of_mnist(false);
  options.tail = 1;
  std::ostringstream out;
  ASSERT_OK(print_all_replica_logs(fake, options, out));
  EXPECT_EQ(out.str(), "[worker-0] 3\n[worker-1] 4\n");
  EXPECT_LT(fake.logs_requests[0].offset, 0);  // read from near the end
}

TEST(PrintAllReplicaLogs, SaysWhichJobWasNotFound) {
  FakeCoordinator fake;
  fake.gets = {protocol::GetReply{}};
  std::ostringstream out;
  EXPECT_EQ(print_all_replica_logs(fake, all_replicas_of_mnist(false), out).message(),
            "trainjob/mnist not found");
}

TEST(DescribePhase, PrefersTheMessageOverTheExitCode) {
  protocol::JobStatus job;
  job.phase = protocol::JobPhase::kFailed;
  job.reason = "DeadlineExceeded";
  job.message = "ran longer than 10s";
  job.exit_code = 137;
  EXPECT_EQ(describe_phase(job), "Failed (DeadlineExceeded: ran longer than 10s)");
  job.reason.clear();
  job.message.clear();
  job.exit_code.reset();
  EXPECT_EQ(describe_phase(job), "Failed");
}

TEST(PrintMetrics, PrintsThePointsOldestFirstAndSaysWhenOlderOnesWereLeftOut) {
  FakeCoordinator fake;
  protocol::MetricsHistoryReply reply;
  reply.name = "fmnist";
  reply.points = {{"fmnist-worker-0-1", "loss", 0.5, 1, 0},
                  {"fmnist-worker-0-1", "loss", 0.25, 2, 0}};
  reply.truncated = true;
  fake.metrics_replies = {reply};
  MetricsOptions options{*parse_named_ref({"tj/fmnist"}, kJobResources), "loss", 2, false};
  std::ostringstream out;
  ASSERT_OK(print_metrics(fake, options, out));
  EXPECT_EQ(fake.metrics_requests[0].resource, "trainjobs");
  EXPECT_EQ(fake.metrics_requests[0].metric, "loss");
  EXPECT_EQ(fake.metrics_requests[0].max_points, 2);
  const std::string text = out.str();
  EXPECT_LT(text.find("0.5"), text.find("0.25")) << text;
  EXPECT_NE(text.find("worker-0 #1"), std::string::npos) << "the replica, not its uid: " << text;
  EXPECT_NE(text.find("only the newest 2 points"), std::string::npos) << text;
}

TEST(PrintMetrics, WritesANaNAsNullInJson) {
  FakeCoordinator fake;
  protocol::MetricsHistoryReply reply;
  reply.name = "j";
  reply.points = {{"j-main-0-1", "loss", std::nan(""), 3, 0}};
  fake.metrics_replies = {reply};
  MetricsOptions options{*parse_named_ref({"job/j"}, kJobResources), "", 10, true};
  std::ostringstream out;
  ASSERT_OK(print_metrics(fake, options, out));
  const auto json = nlohmann::json::parse(out.str());
  EXPECT_TRUE(json["points"][0]["value"].is_null());
  EXPECT_EQ(json["points"][0]["step"], 3);
  EXPECT_EQ(json["truncated"], false);
}

TEST(PrintMetrics, PassesTheCoordinatorsErrorOn) {
  FakeCoordinator fake;
  fake.metrics_replies = {Result<protocol::MetricsHistoryReply>(NotFound("job/x not found"))};
  MetricsOptions options{*parse_named_ref({"job/x"}, kJobResources), "", 10, false};
  std::ostringstream out;
  EXPECT_EQ(print_metrics(fake, options, out).message(), "job/x not found");
}

}  // namespace
}  // namespace cadre::client
