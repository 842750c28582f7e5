#include "actors/job_page.h"

#include <gtest/gtest.h>

namespace cadre::actors::job_page_test {
namespace {

// 1,000 jobs: job-000..job-999, every tenth a TrainJob, odd ones Failed, those
// ending in 5 made by an experiment, every third in team-b.
std::map<std::string, protocol::JobStatus> summary() {
  std::map<std::string, protocol::JobStatus> out;
  for (int i = 0; i < 1000; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "job-%03d", i);
    protocol::JobStatus j;
    j.name = name;
    j.kind = i % 10 == 0 ? "TrainJob" : "Job";
    j.phase = i % 2 ? protocol::JobPhase::kFailed : protocol::JobPhase::kSucceeded;
    j.owner = i % 10 == 5 ? "experiment/tune" : "";
    j.ns = i % 3 == 0 ? "team-b" : "default";
    out[j.name] = j;
  }
  return out;
}

std::vector<std::string> names(const std::vector<protocol::JobStatus>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.name);
  return out;
}

protocol::GetRequest page(const std::string& resource, int32_t limit) {
  protocol::GetRequest r;
  r.resource = resource;
  r.limit = limit;
  return r;
}

TEST(JobPage, IsTheFirstJobsOfTheKindByNameAfterTheMark) {
  const auto jobs = summary();
  auto r = page("jobs", 3);
  EXPECT_EQ(names(job_page(jobs, r, "")),
            (std::vector<std::string>{"job-001", "job-002", "job-003"}));
  r.after = "job-003";
  EXPECT_EQ(names(job_page(jobs, r, "")),
            (std::vector<std::string>{"job-004", "job-005", "job-006"}));
  r = page("trainjobs", 2);
  r.after = "job-015";
  EXPECT_EQ(names(job_page(jobs, r, "")), (std::vector<std::string>{"job-020", "job-030"}));
  r.after = "job-990";
  EXPECT_TRUE(job_page(jobs, r, "").empty()) << "nothing after the last";
}

TEST(JobPage, FiltersByPrefixPhaseOwnerAndTheCallersNamespace) {
  const auto jobs = summary();
  auto r = page("jobs", 100);
  r.prefix = "job-12";
  EXPECT_EQ(job_page(jobs, r, "").size(), 9u) << "job-120 is a TrainJob";
  r.phase = "Failed";
  EXPECT_EQ(names(job_page(jobs, r, "")),
            (std::vector<std::string>{"job-121", "job-123", "job-125", "job-127", "job-129"}));
  r.by_owner = true;
  r.owner = "";
  EXPECT_EQ(names(job_page(jobs, r, "")),
            (std::vector<std::string>{"job-121", "job-123", "job-127", "job-129"}));
  EXPECT_EQ(names(job_page(jobs, r, "team-b")), (std::vector<std::string>{"job-123", "job-129"}));
  // A mark before the prefix starts at the prefix; one after it, after the mark.
  r = page("jobs", 2);
  r.prefix = "job-5";
  r.after = "job-1";
  EXPECT_EQ(names(job_page(jobs, r, "")), (std::vector<std::string>{"job-501", "job-502"}));
  r.after = "job-597";
  EXPECT_EQ(names(job_page(jobs, r, "")), (std::vector<std::string>{"job-598", "job-599"}));
}

TEST(JobPage, RefusesBoundsItCannotKeep) {
  auto r = page("jobs", protocol::kMaxGetPage + 1);
  EXPECT_EQ(check_page_request(r).code(), StatusCode::kInvalidArgument);
  r.limit = -1;
  EXPECT_EQ(check_page_request(r).code(), StatusCode::kInvalidArgument);
  r.limit = 10;
  r.prefix = std::string(300, 'a');
  EXPECT_EQ(check_page_request(r).message(), "prefix: longer than 253 bytes");
  r.prefix = "";
  EXPECT_TRUE(check_page_request(r).ok());
}

}  // namespace
}  // namespace cadre::actors::job_page_test
