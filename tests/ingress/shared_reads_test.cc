#include "ingress/shared_reads.h"

#include <gtest/gtest.h>

#include <thread>

namespace cadre::ingress {
namespace {

using serving::http::HttpRequest;
using serving::http::HttpResponse;
using serving::http::Responder;

// A read that answers only when told, counting what it was asked.
struct HeldRead {
  std::vector<std::pair<std::string, Responder>> asked;
  SharedReads::Read fn() {
    return [this](const HttpRequest& r, Responder done) { asked.emplace_back(r.target, done); };
  }
  void answer(size_t i, const std::string& body) {
    asked.at(i).second({200, "application/json", {}, body});
  }
};

TEST(SharedReads, StreamsWatchingTheSameThingWaitForOneRead) {
  HeldRead api;
  auto reads = std::make_shared<SharedReads>(api.fn(), std::chrono::seconds(10), 100);
  std::vector<std::string> got;
  HttpRequest request;
  request.target = "/api/v1/jobs";
  for (int i = 0; i < 50; ++i) {
    reads->read("default\n/api/v1/jobs", request,
                [&got](HttpResponse r) { got.push_back(r.body); });
  }
  ASSERT_EQ(api.asked.size(), 1u) << "one read while it is out";
  EXPECT_TRUE(got.empty());
  api.answer(0, "[1]");
  EXPECT_EQ(got, std::vector<std::string>(50, "[1]"));
  // Fresh: answered from what was read, without asking again.
  reads->read("default\n/api/v1/jobs", request, [&got](HttpResponse r) { got.push_back(r.body); });
  EXPECT_EQ(api.asked.size(), 1u);
  EXPECT_EQ(got.back(), "[1]");
  EXPECT_EQ(reads->reads(), 1u);
}

TEST(SharedReads, AnotherNamespaceOrTargetIsReadOnItsOwn) {
  HeldRead api;
  auto reads = std::make_shared<SharedReads>(api.fn(), std::chrono::seconds(10), 100);
  HttpRequest request;
  int answers = 0;
  const auto count = [&answers](HttpResponse) { answers++; };
  reads->read("team-a\n/api/v1/jobs", request, count);
  reads->read("team-b\n/api/v1/jobs", request, count);
  reads->read("team-a\n/api/v1/runs", request, count);
  EXPECT_EQ(api.asked.size(), 3u);
  for (size_t i = 0; i < 3; ++i) api.answer(i, "{}");
  EXPECT_EQ(answers, 3);
}

TEST(SharedReads, AnAnswerOlderThanFreshIsReadAgain) {
  HeldRead api;
  auto reads = std::make_shared<SharedReads>(api.fn(), std::chrono::milliseconds(20), 100);
  HttpRequest request;
  std::string last;
  reads->read("k", request, [&last](HttpResponse r) { last = r.body; });
  api.answer(0, "old");
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  reads->read("k", request, [&last](HttpResponse r) { last = r.body; });
  ASSERT_EQ(api.asked.size(), 2u);
  api.answer(1, "new");
  EXPECT_EQ(last, "new");
}

TEST(SharedReads, KeepsNoMoreThanItsBoundOfStaleAnswers) {
  HeldRead api;
  auto reads = std::make_shared<SharedReads>(api.fn(), std::chrono::milliseconds(1), 4);
  HttpRequest request;
  for (int i = 0; i < 4; ++i) {
    reads->read("k" + std::to_string(i), request, [](HttpResponse) {});
    api.answer(static_cast<size_t>(i), "{}");
  }
  EXPECT_EQ(reads->keys(), 4u);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  reads->read("k4", request, [](HttpResponse) {});  // at the bound: the stale ones go
  EXPECT_EQ(reads->keys(), 1u) << "only k4, being read";
}

}  // namespace
}  // namespace cadre::ingress
