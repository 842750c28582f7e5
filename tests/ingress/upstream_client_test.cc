// The upstream client on shared event loops: a request sent from a loop's thread
// runs and is answered on that thread, one sent from elsewhere on some loop, and
// a connection is pooled per loop.
#include "ingress/upstream_client.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <future>

#include "serving/http/http_server.h"

namespace cadre::ingress {
namespace {

namespace net = boost::asio;
using serving::http::EventLoops;

struct Answer {
  int status = 0;
  int loop = -2;
  std::thread::id thread;
  std::string body;
};

// The replica's answer to GET /N: N bytes, counting up from 'a'.
std::string body_of_size(size_t n) {
  std::string body(n, 'a');
  for (size_t i = 0; i < n; ++i) body[i] = static_cast<char>('a' + i % 26);
  return body;
}

class UpstreamOnLoops : public ::testing::Test {
 protected:
  UpstreamOnLoops() {
    serving::http::HttpServerOptions options;
    options.port = 0;
    options.threads = 1;
    replica_ = serving::http::HttpServer::Create(options, [](serving::http::HttpRequest request,
                                                             serving::http::Responder respond) {
                 const std::string size = request.target.substr(1);
                 if (size.empty()) return respond({200, "application/json", {}, "{}"});
                 respond({200, "text/plain", {}, body_of_size(std::stoul(size))});
               }).value();
    loops_ = EventLoops::Create(2);
    UpstreamClientOptions upstream;
    upstream.loops = loops_;
    client_ = UpstreamClient::Create(upstream).value();
  }
  // The client must not outlive work queued on shared loops.
  ~UpstreamOnLoops() override { loops_->stop(); }

  UpstreamRequest request(const std::string& target) const {
    UpstreamRequest r;
    r.address = "127.0.0.1";
    r.port = replica_->port();
    r.method = "GET";
    r.target = target;
    return r;
  }
  std::future<Answer> send(const std::string& target = "/") {
    auto answered = std::make_shared<std::promise<Answer>>();
    client_->send(request(target), [this, answered](UpstreamResult r) {
      answered->set_value({r.response.status, loops_->current(), std::this_thread::get_id(),
                           std::move(r.response.body)});
    });
    return answered->get_future();
  }

  std::unique_ptr<serving::http::HttpServer> replica_;
  std::shared_ptr<EventLoops> loops_;
  std::unique_ptr<UpstreamClient> client_;
};

TEST_F(UpstreamOnLoops, ARequestSentFromALoopIsAnsweredOnThatLoopsThread) {
  for (size_t loop = 0; loop < loops_->size(); ++loop) {
    for (int i = 0; i < 3; ++i) {  // a fresh connection, then pooled ones
      std::promise<std::pair<std::thread::id, std::future<Answer>>> sent;
      net::post(loops_->at(loop), [&] { sent.set_value({std::this_thread::get_id(), send()}); });
      auto [sender, answer] = sent.get_future().get();
      const Answer a = answer.get();
      EXPECT_EQ(a.status, 200);
      EXPECT_EQ(a.loop, static_cast<int>(loop));
      EXPECT_EQ(a.thread, sender);
    }
  }
}

TEST_F(UpstreamOnLoops, ARequestSentFromElsewhereIsAnsweredOnALoop) {
  for (int i = 0; i < 4; ++i) {
    const Answer a = send().get();
    EXPECT_EQ(a.status, 200);
    EXPECT_GE(a.loop, 0);
  }
}

TEST_F(UpstreamOnLoops, AnswersOfEverySizeComeWholeOneAfterAnotherOnAPooledConnection) {
  // On one loop, so each request after the first reuses the connection (and the
  // read buffer that stays with it), across the buffer's first size and past it.
  for (const size_t size : {0, 1, 16383, 16384, 16385, 5, 200000, 7}) {
    std::promise<std::future<Answer>> sent;
    net::post(loops_->at(0), [&] { sent.set_value(send("/" + std::to_string(size))); });
    const Answer a = sent.get_future().get().get();
    EXPECT_EQ(a.status, 200) << size;
    EXPECT_EQ(a.body, body_of_size(size)) << "answer of " << size << " bytes";
  }
}

}  // namespace
}  // namespace cadre::ingress
