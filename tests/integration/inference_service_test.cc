// InferenceServices on a real local cluster: cadre-serve replicas on real agents,
// the real cadre-ingress in front, real HTTP from many client threads. Rollouts,
// a killed replica and a killed coordinator happen under a steady closed-loop load
// whose every failure is counted.
#include <httplib.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "tests/integration/local_cluster.h"

namespace cadre::testing {
namespace {

using namespace std::chrono_literals;

// A closed loop of `concurrency` clients, each sending the next request once the
// last is answered, over kept-alive connections, counting answers by status.
class ClosedLoopLoad {
 public:
  ClosedLoopLoad(std::string base_url, std::string path, std::string token, std::string body,
                 int concurrency)
      : base_(std::move(base_url)),
        path_(std::move(path)),
        token_(std::move(token)),
        body_(std::move(body)) {
    for (int i = 0; i < concurrency; ++i) threads_.emplace_back([this] { loop(); });
  }
  ~ClosedLoopLoad() { stop(); }

  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  int total() const { return ok_ + failed_; }
  std::string failures() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out;
    for (const auto& [what, n] : errors_) out += what + " x" + std::to_string(n) + "; ";
    return out;
  }

 private:
  void loop() {
    httplib::Client http(base_);
    http.set_keep_alive(true);
    http.set_tcp_nodelay(true);  // else Nagle and delayed ACKs put 40 ms on every request
    http.set_connection_timeout(2);
    http.set_read_timeout(10);
    httplib::Headers headers{{"Authorization", "Bearer " + token_}};
    while (!stop_) {
      auto res = http.Post(path_.c_str(), headers, body_, "application/json");
      if (res && res->status == 200) {
        ++ok_;
        continue;
      }
      ++failed_;
      std::lock_guard<std::mutex> lock(mutex_);
      errors_[res ? "HTTP " + std::to_string(res->status) + " " + res->body.substr(0, 120)
                  : httplib::to_string(res.error())]++;
    }
  }

  std::string base_, path_, token_, body_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  std::mutex mutex_;
  std::map<std::string, int> errors_;
  std::vector<std::thread> threads_;
};

// The first Fashion-MNIST test image as a V2 request for the cadre model's input.
std::string image_request() {
  std::string pixels;
  for (int i = 0; i < 784; ++i) pixels += (i ? "," : "") + std::to_string((i * 37) % 256);
  return "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,1,28,28],"
         "\"data\":[" +
         pixels + "]}],\"outputs\":[{\"name\":\"label\"}]}";
}

class InferenceServices : public LocalCluster {
 protected:
  std::string coordinator_yaml() const override {
    return "not-ready-after-ms: 2000\nlost-after-ms: 5000\nlease-ms: 4000\n";
  }
  std::string up_flags() const override { return fixed_ports_flags(); }

  void SetUp() override {
    LocalCluster::SetUp();
    if (HasFatalFailure()) return;
    // Two small models: a revision change is a change of model file.
    for (const char* name : {"a", "b"}) {
      const std::string file = path(std::string("model-") + name + ".cadre");
      auto trained = run_command(bin("cadre-train") +
                                 " --model mlp --epochs 1 --train-limit 2000 --threads 1 "
                                 "--export " +
                                 file);
      ASSERT_EQ(trained.exit_code, 0) << trained.output;
    }
    // Replicas run as an unprivileged user: the models must be readable.
    run_command("chmod a+rx " + dir_.string() + " && chmod a+r " + path("model-a.cadre") + " " +
                path("model-b.cadre"));
  }

  std::string service(const std::string& model, const std::string& extra = "",
                      int replicas = 2) const {
    return "apiVersion: cadre/v1\nkind: InferenceService\nmetadata:\n  name: fmnist\nspec:\n"
           "  predictor:\n    model:\n      modelFormat: {name: cadre}\n      storageUri: file://" +
           path("model-" + model + ".cadre") + "\n    minReplicas: " + std::to_string(replicas) +
           "\n    resources: {cpu: 250m, memory: 256Mi}\n" + extra;
  }
  std::string ingress_url() const {
    const auto config = read_file(path("config"));
    std::smatch m;
    std::regex_search(config, m, std::regex("ingress: (\\S+)"));
    return m[1];
  }
  std::string token() const {
    std::string t = read_file(path("keys/token"));
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  }
  nlohmann::json service_json() const { return get_json("isvc fmnist"); }
  std::string traffic() const {
    std::string out;
    const auto json = service_json();  // kept: the loop reads into it
    for (const auto& t : json.at("traffic")) {
      out += (out.empty() ? "" : " ") + t.at("revisionName").get<std::string>() + "=" +
             std::to_string(t.at("percent").get<int>());
    }
    return out;
  }
  // Requests the ingress answered 200 for `revision` so far (its Prometheus metrics).
  int answered(const std::string& revision) const {
    httplib::Client http(ingress_url());
    auto res = http.Get("/metrics");
    if (!res) return -1;
    std::smatch m;
    const std::regex line("cadre_ingress_requests_total\\{service=\"fmnist\",revision=\"" +
                          revision + "\",code=\"200\"\\} (\\d+)");
    return std::regex_search(res->body, m, line) ? std::stoi(m[1]) : 0;
  }
  void wait_ready(int seconds = 30) {
    auto ready = cadre("wait isvc/fmnist --for Ready --timeout " + std::to_string(seconds));
    ASSERT_EQ(ready.exit_code, 0) << ready.output << cadre("describe isvc fmnist").output;
  }
  ClosedLoopLoad load(int concurrency) const {
    return ClosedLoopLoad(ingress_url(), "/v2/models/fmnist/infer", token(), image_request(),
                          concurrency);
  }
};

TEST_F(InferenceServices, ACanaryTakesItsShareAndPromotionAndRollbackFailNoRequest) {
  ASSERT_EQ(apply(service("a")).exit_code, 0);
  wait_ready();
  ClosedLoopLoad load(ingress_url(), "/v2/models/fmnist/infer", token(), image_request(), 4);
  ASSERT_TRUE(eventually([&] { return load.ok() > 50; }, 10s)) << load.failures();

  ASSERT_EQ(apply(service("b", "    canaryTrafficPercent: 20\n")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return traffic() == "fmnist-00001=80 fmnist-00002=20"; }, 30s))
      << traffic() << "\n"
      << cadre("get isvc fmnist -o json").output;
  std::this_thread::sleep_for(1s);  // the ingress's next poll
  const int stable0 = answered("fmnist-00001"), canary0 = answered("fmnist-00002");
  ASSERT_TRUE(eventually(
      [&] {
        return answered("fmnist-00001") + answered("fmnist-00002") - stable0 - canary0 >= 2000;
      },
      60s));
  const double stable = answered("fmnist-00001") - stable0;
  const double canary = answered("fmnist-00002") - canary0;
  const double share = canary / (stable + canary);
  EXPECT_GE(share, 0.17) << canary << " of " << stable + canary;
  EXPECT_LE(share, 0.23) << canary << " of " << stable + canary;

  // Promotion: the canary takes everything, the old revision drains and stops.
  ASSERT_EQ(apply(service("b")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return traffic() == "fmnist-00002=100"; }, 30s));
  ASSERT_TRUE(eventually([&] { return service_json().at("replicas").size() == 2u; }, 30s))
      << cadre("describe isvc fmnist").output;
  const int before = load.total();
  ASSERT_TRUE(eventually([&] { return load.total() > before + 200; }, 30s));

  // Rollback: canaryTrafficPercent 0 brings the previous revision back, then moves there.
  ASSERT_EQ(apply(service("b", "    canaryTrafficPercent: 0\n")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return traffic() == "fmnist-00001=100 fmnist-00002=0"; }, 30s))
      << cadre("describe isvc fmnist").output;
  const int after_rollback = answered("fmnist-00001");
  ASSERT_TRUE(eventually([&] { return answered("fmnist-00001") > after_rollback + 200; }, 30s));
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.failures();
  EXPECT_GT(load.ok(), 2500);
  const auto json = service_json();
  EXPECT_EQ(json.at("latestRolledoutRevision"), "fmnist-00002");
  EXPECT_EQ(json.at("previousRolledoutRevision"), "fmnist-00001");
}

TEST_F(InferenceServices, AKilledReplicaCostsOnlyItsInFlightRequestsAndIsReplacedWithin5s) {
  ASSERT_EQ(apply(service("a")).exit_code, 0);
  wait_ready();
  ClosedLoopLoad load(ingress_url(), "/v2/models/fmnist/infer", token(), image_request(), 4);
  ASSERT_TRUE(eventually([&] { return load.ok() > 100; }, 10s)) << load.failures();
  const auto victim = service_json().at("replicas").at(0);
  const int port = victim.at("port");
  auto killed =
      run_command("pkill -9 -f '^cadre-serve .*--http-port " + std::to_string(port) + "'");
  ASSERT_EQ(killed.exit_code, 0) << killed.output;
  const auto start = std::chrono::steady_clock::now();
  // A replacement is ready (the victim's job ends, a new one starts and loads).
  ASSERT_TRUE(eventually(
      [&] {
        const auto json = service_json();
        int ready = 0;
        for (const auto& r : json.at("replicas")) {
          if (r.at("state") == "Ready" && r.at("name") != victim.at("name")) ++ready;
        }
        return ready == 2;
      },
      15s))
      << cadre("describe isvc fmnist").output;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0) << cadre("describe isvc fmnist").output;
  const int before = load.ok();
  ASSERT_TRUE(eventually([&] { return load.ok() > before + 100; }, 10s));
  load.stop();
  // Only the requests in flight on the killed replica may fail: at most one per client.
  EXPECT_LE(load.failed(), 4) << load.failures();
  std::cout << "[ measure ] replica replaced in " << seconds << " s; " << load.failed() << " of "
            << load.total() << " requests failed\n";
}

TEST_F(InferenceServices, DrainingTheNodeOfItsOnlyReplicaFailsNoRequest) {
  ASSERT_EQ(apply(service("a", "", 1)).exit_code, 0);
  wait_ready();
  ClosedLoopLoad load(ingress_url(), "/v2/models/fmnist/infer", token(), image_request(), 4);
  ASSERT_TRUE(eventually([&] { return load.ok() > 100; }, 10s)) << load.failures();
  const auto before = service_json().at("replicas").at(0);
  const std::string node = before.at("node");
  // Surge first: a replica on the other node is ready before this one leaves the routes.
  auto drained = cadre("drain " + node + " --timeout 60");
  ASSERT_EQ(drained.exit_code, 0) << drained.output << cadre("describe isvc fmnist").output;
  EXPECT_NE(drained.output.find("node/" + node + " drained"), std::string::npos) << drained.output;
  const auto replicas = service_json().at("replicas");
  ASSERT_EQ(replicas.size(), 1u) << replicas.dump();
  EXPECT_NE(replicas[0].at("name"), before.at("name"));
  EXPECT_NE(replicas[0].at("node"), node);
  EXPECT_EQ(replicas[0].at("state"), "Ready");
  const int after = load.ok();
  ASSERT_TRUE(eventually([&] { return load.ok() > after + 100; }, 10s)) << load.failures();
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.failures();
  const std::string described = cadre("describe isvc fmnist").output;
  EXPECT_NE(described.find("is drained: it serves until a replica elsewhere is ready"),
            std::string::npos)
      << described;
  std::cout << "[ measure ] drained " << node << " under load: " << load.failed() << " of "
            << load.total() << " requests failed\n";
}

TEST_F(InferenceServices, WhileTheCoordinatorIsDownTheIngressServesAndItsReplicasAreAdopted) {
  ASSERT_EQ(apply(service("a")).exit_code, 0);
  wait_ready();
  const auto before = service_json().at("replicas");
  const auto jobs_before = get_json("jobs");
  ClosedLoopLoad load(ingress_url(), "/v2/models/fmnist/infer", token(), image_request(), 4);
  ASSERT_TRUE(eventually([&] { return load.ok() > 100; }, 10s)) << load.failures();
  const int pid = pid_of("coordinator");
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const int at_kill = load.ok();
  std::this_thread::sleep_for(3s);
  EXPECT_GT(load.ok(), at_kill + 100) << "the ingress stopped answering without its coordinator";
  // Restart it as systemd would (the test's helper kills again: it is already gone).
  std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  (void)cmdline;
  auto up = run_command(bin("cadre") + " local up --dir " + dir_.string() + " " + up_flags());
  ASSERT_EQ(up.exit_code, 0) << up.output;
  wait_ready();
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.failures();
  // The same replicas, their jobs never restarted.
  const auto after = service_json().at("replicas");
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].at("name"), before[i].at("name"));
    EXPECT_EQ(after[i].at("port"), before[i].at("port"));
  }
  for (const auto& job : get_json("jobs")) EXPECT_EQ(job.value("restarts", 0), 0) << job.dump();
  (void)jobs_before;
}

TEST_F(InferenceServices, ARequestWithoutTheRightTokenReachesNoReplica) {
  ASSERT_EQ(apply(service("a", "", 1)).exit_code, 0);
  wait_ready();
  auto other = cadre("tokens create --namespace other");
  ASSERT_EQ(other.exit_code, 0) << other.output;
  std::string other_token = other.output.substr(0, other.output.find('\n'));
  std::this_thread::sleep_for(1s);  // the ingress's next poll brings the new token
  httplib::Client http(ingress_url());
  const std::string body = image_request();
  auto status = [&](const std::string& token) {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    auto res = http.Post("/v2/models/fmnist/infer", headers, body, "application/json");
    return res ? res->status : -1;
  };
  EXPECT_EQ(status(""), 401);
  EXPECT_EQ(status("cadre_0123456789abcdef"), 401);
  EXPECT_EQ(status(other_token), 403);
  EXPECT_EQ(answered("fmnist-00001"), 0);  // none reached a replica
  EXPECT_EQ(status(token()), 200);
  EXPECT_EQ(answered("fmnist-00001"), 1);
  // A deleted token is refused from the ingress's next poll on.
  auto list = get_json("tokens");
  for (const auto& t : list) {
    if (t.at("namespace") == "other") {
      ASSERT_EQ(cadre("tokens delete " + t.at("id").get<std::string>()).exit_code, 0);
    }
  }
  ASSERT_TRUE(eventually([&] { return status(other_token) == 401; }, 5s));
}

TEST_F(InferenceServices, BadSpecsAreRefusedWithTheFieldPath) {
  auto refused = [&](const std::string& yaml) { return apply(yaml).output; };
  EXPECT_NE(refused(service("a", "    maxReplicas: 1\n"))
                .find("spec.predictor.minReplicas: 2 is above maxReplicas 1"),
            std::string::npos);
  std::string onnx = service("a");
  onnx.replace(onnx.find("{name: cadre}"), 13, "{name: onnx}");
  EXPECT_NE(refused(onnx).find("spec.predictor.model.modelFormat.name: 'onnx' is not supported"),
            std::string::npos);
  std::string missing = service("a");
  missing.replace(missing.find("model-a.cadre"), 13, "model-x.cadre");
  EXPECT_NE(refused(missing).find("spec.predictor.model.storageUri:"), std::string::npos);
  EXPECT_NE(refused(missing).find("does not exist"), std::string::npos);
  std::string no_job = service("a");
  no_job.replace(no_job.find("file://"), std::string::npos,
                 "trainjob://nope\n    minReplicas: 1\n");
  EXPECT_NE(refused(no_job).find("spec.predictor.model.storageUri: 'trainjob://nope': there is "
                                 "no job 'nope'"),
            std::string::npos)
      << refused(no_job);
  // A job that exported nothing.
  ASSERT_EQ(apply(shell_job("noexport", "true")).exit_code, 0);
  ASSERT_EQ(cadre("wait job/noexport --for Succeeded --timeout 30").exit_code, 0);
  std::string no_export = no_job;
  no_export.replace(no_export.find("trainjob://nope"), 15, "trainjob://noexport");
  EXPECT_NE(refused(no_export).find("job 'noexport' exported no model"), std::string::npos)
      << refused(no_export);
  EXPECT_EQ(cadre("get isvc -o json").output, "[]\n");
}

TEST_F(InferenceServices, ServesTheModelATrainingJobExportedAndPredictClassifiesAnImage) {
  ASSERT_EQ(apply(shell_job("fmnist-mlp",
                            "exec cadre-train --model mlp --epochs 1 --train-limit 3000 "
                            "--threads 1 --export \"$CADRE_CHECKPOINT_DIR/model.cadre\""))
                .exit_code,
            0);
  auto trained = cadre("wait job/fmnist-mlp --for Succeeded --timeout 120");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  ASSERT_EQ(apply("apiVersion: cadre/v1\nkind: InferenceService\nmetadata: {name: fmnist}\n"
                  "spec:\n  predictor:\n    model:\n      modelFormat: {name: cadre}\n"
                  "      storageUri: trainjob://fmnist-mlp\n")
                .exit_code,
            0);
  wait_ready();
  // Its story starts where it did: the revision, then its routes and replicas.
  const auto events = service_json().at("events");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].at("reason"), "RevisionCreated") << events.dump();
  // The first test image (an ankle boot) as a PGM, through `cadre predict --image`.
  const std::string image = path("boot.pgm");
  {
    auto pixels = run_command(
        "/usr/bin/python3 -c \"import gzip,sys; d=gzip.open('/usr/share/datasets/fashion-mnist/"
        "t10k-images-idx3-ubyte.gz').read(); open('" +
        image + "','wb').write(b'P5\\n28 28\\n255\\n'+d[16:16+784])\"");
    ASSERT_EQ(pixels.exit_code, 0) << pixels.output;
  }
  auto predicted = cadre("predict isvc/fmnist --image " + image);
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  EXPECT_NE(predicted.output.find("label: "), std::string::npos) << predicted.output;
  auto logs = cadre("logs isvc/fmnist");
  EXPECT_EQ(logs.exit_code, 0) << logs.output;
  ASSERT_EQ(cadre("delete isvc/fmnist").exit_code, 0);
  EXPECT_TRUE(eventually([&] { return get_json("jobs").size() == 1u; }, 20s));
}

// Short autoscaler windows, so a scale-out and a scale-in fit in a test.
class AutoscaledServices : public InferenceServices {
 protected:
  std::string coordinator_yaml() const override {
    return InferenceServices::coordinator_yaml() +
           "autoscale-stable-window-ms: 6000\nautoscale-panic-window-ms: 2000\n";
  }
  int ready_replicas() const {
    int ready = 0;
    const auto json = service_json();
    for (const auto& r : json.at("replicas")) ready += r.at("state") == "Ready" ? 1 : 0;
    return ready;
  }
};

TEST_F(AutoscaledServices, ALoadStepScalesOutQuicklyAndBackInAfterTheStableWindow) {
  ASSERT_EQ(apply(service("a", "    maxReplicas: 4\n    scaleTarget: 1\n", 1)).exit_code, 0);
  wait_ready();
  auto load = std::make_unique<ClosedLoopLoad>(ingress_url(), "/v2/models/fmnist/infer", token(),
                                               image_request(), 8);
  const auto step = std::chrono::steady_clock::now();
  // Eight clients keep several requests in flight at the ingress, target 1 per
  // replica: at least three replicas (at most maxReplicas 4), in about the panic window.
  ASSERT_TRUE(eventually([&] { return ready_replicas() >= 3; }, 20s))
      << load->ok() << " answered, " << load->failures() << "\n"
      << cadre("describe isvc fmnist").output;
  const double out_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - step).count();
  load->stop();
  EXPECT_EQ(load->failed(), 0) << load->failures();
  load.reset();
  const auto idle = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return service_json().at("replicas").size() == 1u; }, 40s))
      << cadre("describe isvc fmnist").output;
  const double in_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - idle).count();
  EXPECT_GE(in_seconds, 3.0) << "scaled in before the stable window had passed";
  const std::string events = cadre("describe isvc fmnist").output;
  EXPECT_NE(events.find("Scaled"), std::string::npos) << events;
  EXPECT_NE(events.find("panic"), std::string::npos) << events;
  EXPECT_LE(service_json().at("revisions").at(0).at("desiredReplicas").get<int>(), 4);
  std::cout << "[ measure ] 1 -> 3+ replicas ready " << out_seconds << " s after the load step; "
            << "back to 1 " << in_seconds << " s after it stopped\n";
}

TEST_F(AutoscaledServices, AtMinReplicasZeroItScalesToZeroAndARequestStartsAReplica) {
  ASSERT_EQ(apply(service("a", "    maxReplicas: 2\n", 0)).exit_code, 0);
  wait_ready();  // one replica to begin with: the revision proves it serves
  // Idle for the stable window (6 s here): no replica left, still Ready.
  ASSERT_TRUE(eventually([&] { return service_json().at("replicas").empty(); }, 30s))
      << cadre("describe isvc fmnist").output;
  EXPECT_TRUE(service_json().at("ready").get<bool>()) << cadre("describe isvc fmnist").output;
  EXPECT_EQ(traffic(), "fmnist-00001=100");

  // One request at zero: held by the ingress while a replica starts, then answered.
  httplib::Client http(ingress_url());
  http.set_read_timeout(30);
  const auto sent = std::chrono::steady_clock::now();
  auto res = http.Post("/v2/models/fmnist/infer", {{"Authorization", "Bearer " + token()}},
                       image_request(), "application/json");
  const double cold_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count();
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_LT(cold_ms, 10000);
  EXPECT_EQ(service_json().at("replicas").size(), 1u);
  const std::string events = cadre("describe isvc fmnist").output;
  EXPECT_NE(events.find("1 -> 0 replicas"), std::string::npos) << events;
  EXPECT_NE(events.find("0 -> 1 replicas"), std::string::npos) << events;
  EXPECT_NE(events.find("scaled to zero"), std::string::npos) << events;
  std::cout << "[ measure ] a request at zero replicas answered in " << cold_ms << " ms\n";

  // Back at zero, a burst of clients: every request answered, none refused.
  ASSERT_TRUE(eventually([&] { return service_json().at("replicas").empty(); }, 30s));
  auto burst = load(4);
  ASSERT_TRUE(eventually([&] { return burst.ok() >= 20; }, 30s)) << burst.failures();
  burst.stop();
  EXPECT_EQ(burst.failed(), 0) << burst.failures();
}

}  // namespace
}  // namespace cadre::testing
