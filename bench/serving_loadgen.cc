// A load generator for V2 inference servers, measuring as Triton's perf_analyzer
// does: a closed loop of C clients (each sends, waits for the answer, sends
// again) over measurement windows repeated until three in a row agree within
// 10% on throughput; p50/p90/p99 latency over those windows. Also one open-loop
// point (requests issued at a fixed rate, latency counted from the scheduled
// time so a slow server cannot hide its queue) and, with --in-process-limit, the
// model's own batched throughput with no network and no parsing.
//
// Protocols: http-json, http-binary (Triton's binary tensor extension), grpc
// (raw_input_contents). Prints one JSON row per measurement on stdout.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "serving/backends/cadre/cadre_backend.h"
#include "serving/grpc/grpc_predict_v2.grpc.pb.h"

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string protocol = "http-binary";
  bool grpc_async = false;
  std::string model;
  std::string input = "input";
  std::string output = "logits";
  std::string path;                  // HTTP path; default /v2/models/<model>/infer
  std::vector<std::string> headers;  // extra HTTP headers, "Name: value" (a bearer token)
  int batch = 1;
  std::vector<int> concurrency{1};
  int window_ms = 1000;
  int max_windows = 10;
  double open_loop_rps = 0;
  double open_loop_seconds = 3;
  std::string limit_model_file;
  int limit_instances = 2;
  int limit_batch = 64;
  double limit_seconds = 3;
};

std::vector<float> random_images(int batch) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> pixel(0, 255);
  std::vector<float> x(static_cast<size_t>(batch) * 784);
  for (float& v : x) v = static_cast<float>(pixel(rng));
  return x;
}

// One client connection; send() returns false on any failure or non-200.
class Client {
 public:
  virtual ~Client() = default;
  virtual bool send() = 0;
};

class HttpClient : public Client {
 public:
  HttpClient(const Options& o, bool binary) : stream_(ioc_) {
    const auto x = random_images(o.batch);
    const json shape = {o.batch, 1, 28, 28};
    std::string header;
    if (binary) {
      header = json{{"inputs",
                     {{{"name", o.input},
                       {"datatype", "FP32"},
                       {"shape", shape},
                       {"parameters", {{"binary_data_size", x.size() * 4}}}}}},
                    {"outputs", {{{"name", o.output}, {"parameters", {{"binary_data", true}}}}}}}
                   .dump();
      body_ = header + std::string(reinterpret_cast<const char*>(x.data()), x.size() * 4);
    } else {
      body_ = json{{"inputs",
                    {{{"name", o.input}, {"datatype", "FP32"}, {"shape", shape}, {"data", x}}}},
                   {"outputs", {{{"name", o.output}}}}}
                  .dump();
    }
    req_.method(bhttp::verb::post);
    req_.target(o.path.empty() ? "/v2/models/" + o.model + "/infer" : o.path);
    req_.set(bhttp::field::host, o.host);
    req_.set(bhttp::field::content_type, binary ? "application/octet-stream" : "application/json");
    if (binary) req_.set("Inference-Header-Content-Length", std::to_string(header.size()));
    for (const auto& h : o.headers) {
      const auto colon = h.find(':');
      if (colon == std::string::npos) continue;
      req_.set(h.substr(0, colon), h.substr(h.find_first_not_of(' ', colon + 1)));
    }
    req_.body() = body_;
    req_.keep_alive(true);
    req_.prepare_payload();
    stream_.connect(tcp::endpoint(net::ip::make_address(o.host), static_cast<uint16_t>(o.port)));
  }
  bool send() override {
    beast::error_code ec;
    bhttp::write(stream_, req_, ec);
    if (ec) return false;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream_, buffer_, res, ec);
    return !ec && res.result_int() == 200;
  }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string body_;
  bhttp::request<bhttp::string_body> req_;
};

// --header values as gRPC metadata (lower-case keys, as HTTP/2 carries them).
void add_metadata(const Options& o, grpc::ClientContext* ctx) {
  for (const auto& h : o.headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos) continue;
    std::string key = h.substr(0, colon);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ctx->AddMetadata(key, h.substr(h.find_first_not_of(' ', colon + 1)));
  }
}

class GrpcClient : public Client {
 public:
  GrpcClient(const Options& o, std::shared_ptr<grpc::Channel> channel)
      : options_(o), stub_(channel ? inference::GRPCInferenceService::NewStub(channel) : nullptr) {
    const auto x = random_images(o.batch);
    req_.set_model_name(o.model);
    auto* in = req_.add_inputs();
    in->set_name(o.input);
    in->set_datatype("FP32");
    for (int d : {o.batch, 1, 28, 28}) in->add_shape(d);
    req_.add_raw_input_contents(std::string(reinterpret_cast<const char*>(x.data()), x.size() * 4));
    req_.add_outputs()->set_name(o.output);
  }
  bool send() override {
    grpc::ClientContext ctx;
    add_metadata(options_, &ctx);
    inference::ModelInferResponse res;
    return stub_->ModelInfer(&ctx, req_, &res).ok();
  }
  const inference::ModelInferRequest& request() const { return req_; }

 private:
  const Options& options_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
  inference::ModelInferRequest req_;
};

std::vector<std::unique_ptr<Client>> make_clients(const Options& o, int n) {
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < n; ++i) {
    if (o.protocol == "grpc") {
      // A connection per 16 clients, as a fleet of callers would open.
      if (i % 16 == 0) {
        grpc::ChannelArguments args;
        args.SetInt("cadre.loadgen.channel", i);  // distinct args: a distinct connection
        args.SetMaxReceiveMessageSize(64 << 20);
        channels.push_back(grpc::CreateCustomChannel(o.host + ":" + std::to_string(o.port),
                                                     grpc::InsecureChannelCredentials(), args));
      }
      clients.push_back(std::make_unique<GrpcClient>(o, channels.back()));
    } else {
      clients.push_back(std::make_unique<HttpClient>(o, o.protocol == "http-binary"));
    }
  }
  return clients;
}

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * v.size()));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

// Latencies (ms) of answered requests, gathered from the load's threads.
class LatencySink {
 public:
  void add(const std::vector<double>& ms) {
    std::lock_guard<std::mutex> lock(mu_);
    latencies_.insert(latencies_.end(), ms.begin(), ms.end());
  }
  std::vector<double> take() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<double> out;
    out.swap(latencies_);
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<double> latencies_;
};

// Measurement windows over a running load: after a warm-up, windows until three
// in a row agree within 10% on throughput; the result is over those three.
json measure_windows(const Options& o, LatencySink& sink) {
  std::this_thread::sleep_for(std::chrono::milliseconds(o.window_ms / 2));
  (void)sink.take();
  std::vector<double> rps;
  std::vector<std::vector<double>> lats;
  bool stable = false;
  for (int w = 0; w < o.max_windows && !stable; ++w) {
    const auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(o.window_ms));
    std::vector<double> taken = sink.take();
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    rps.push_back(taken.size() * o.batch / secs);
    lats.push_back(std::move(taken));
    if (rps.size() >= 3) {
      const double a = rps[rps.size() - 3], b = rps[rps.size() - 2], c = rps.back();
      const double mean = (a + b + c) / 3;
      stable = std::max({a, b, c}) - std::min({a, b, c}) <= 0.1 * mean;
    }
  }
  std::vector<double> all;
  const size_t n = std::min<size_t>(3, lats.size());
  double sum = 0;
  for (size_t i = lats.size() - n; i < lats.size(); ++i) {
    all.insert(all.end(), lats[i].begin(), lats[i].end());
    sum += rps[i];
  }
  return {{"rps", sum / n},
          {"p50_ms", percentile(all, 0.5)},
          {"p90_ms", percentile(all, 0.9)},
          {"p99_ms", percentile(all, 0.99)},
          {"windows", rps.size()},
          {"stable", stable}};
}

// Closed loop with one thread per client (perf_analyzer's default, sync mode).
json closed_loop(const Options& o, int concurrency) {
  auto clients = make_clients(o, concurrency);
  LatencySink sink;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  for (auto& c : clients)
    threads.emplace_back([&, client = c.get()] {
      std::vector<double> local;
      while (!stop) {
        const auto t0 = Clock::now();
        if (!client->send()) {
          errors++;
          continue;
        }
        local.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (local.size() >= 16) {
          sink.add(local);
          local.clear();
        }
      }
    });
  json row = measure_windows(o, sink);
  stop = true;
  for (auto& t : threads) t.join();
  row["concurrency"] = concurrency;
  row["errors"] = errors.load();
  return row;
}

// Closed loop over gRPC's asynchronous API (perf_analyzer --async): one
// completion-queue thread keeps `concurrency` calls outstanding, so the client
// spends its CPU on requests rather than on switching between 64 threads.
json closed_loop_grpc_async(const Options& o, int concurrency) {
  struct Call {
    grpc::ClientContext ctx;
    inference::ModelInferResponse res;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<inference::ModelInferResponse>> reader;
    Clock::time_point start;
    inference::GRPCInferenceService::Stub* stub;
  };
  GrpcClient prototype(o, nullptr);
  const inference::ModelInferRequest& request = prototype.request();
  std::vector<std::unique_ptr<inference::GRPCInferenceService::Stub>> stubs;
  for (int i = 0; i < (concurrency + 15) / 16; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("cadre.loadgen.channel", i);
    args.SetMaxReceiveMessageSize(64 << 20);
    stubs.push_back(inference::GRPCInferenceService::NewStub(grpc::CreateCustomChannel(
        o.host + ":" + std::to_string(o.port), grpc::InsecureChannelCredentials(), args)));
  }
  grpc::CompletionQueue cq;
  auto issue = [&](inference::GRPCInferenceService::Stub* stub) {
    auto* call = new Call;
    call->stub = stub;
    call->start = Clock::now();
    add_metadata(o, &call->ctx);
    call->reader = stub->AsyncModelInfer(&call->ctx, request, &cq);
    call->reader->Finish(&call->res, &call->status, call);
  };
  LatencySink sink;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  for (int i = 0; i < concurrency; ++i) issue(stubs[i / 16].get());
  std::thread driver([&] {
    std::vector<double> local;
    int outstanding = concurrency;
    void* tag;
    bool ok;
    while (outstanding > 0 && cq.Next(&tag, &ok)) {
      auto* call = static_cast<Call*>(tag);
      if (ok && call->status.ok()) {
        local.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - call->start).count());
      } else {
        errors++;
      }
      if (local.size() >= 64) {
        sink.add(local);
        local.clear();
      }
      if (stop) {
        --outstanding;
      } else {
        issue(call->stub);
      }
      delete call;
    }
  });
  json row = measure_windows(o, sink);
  stop = true;
  driver.join();
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  row["concurrency"] = concurrency;
  row["errors"] = errors.load();
  return row;
}

json open_loop(const Options& o) {
  const int workers = 64;
  auto clients = make_clients(o, workers);
  const auto interval = std::chrono::duration<double>(1.0 / o.open_loop_rps);
  const int64_t total = static_cast<int64_t>(o.open_loop_rps * o.open_loop_seconds);
  std::atomic<int64_t> next{0}, errors{0};
  std::mutex mu;
  std::vector<double> lat;
  const auto t0 = Clock::now() + std::chrono::milliseconds(50);
  std::vector<std::thread> threads;
  for (auto& c : clients)
    threads.emplace_back([&, client = c.get()] {
      for (;;) {
        const int64_t i = next++;
        if (i >= total) return;
        const auto scheduled =
            t0 + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i));
        std::this_thread::sleep_until(scheduled);
        const bool ok = client->send();
        const double ms =
            std::chrono::duration<double, std::milli>(Clock::now() - scheduled).count();
        if (!ok) errors++;
        std::lock_guard<std::mutex> lock(mu);
        lat.push_back(ms);
      }
    });
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  return {{"open_loop_target_rps", o.open_loop_rps}, {"rps", lat.size() * o.batch / secs},
          {"p50_ms", percentile(lat, 0.5)},          {"p90_ms", percentile(lat, 0.9)},
          {"p99_ms", percentile(lat, 0.99)},         {"errors", errors.load()}};
}

// The model's own throughput: instances executing full batches back to back.
json in_process_limit(const Options& o) {
  using namespace cadre::serving;
  const CadreBackend backend;
  ModelConfig config;
  config.set_backend("cadre");
  apply_config_defaults("limit", &config);
  if (!backend.autocomplete(o.limit_model_file, &config).ok()) return {{"error", "autocomplete"}};
  config.clear_output();
  auto* out = config.add_output();
  out->set_name("logits");
  out->set_data_type(config::TYPE_FP32);
  out->add_dims(10);
  const auto x = random_images(o.limit_batch);
  InferTensor in{"input",
                 DataType::kFp32,
                 {o.limit_batch, 1, 28, 28},
                 std::string(reinterpret_cast<const char*>(x.data()), x.size() * 4)};
  std::atomic<int64_t> rows{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < o.limit_instances; ++i)
    threads.emplace_back([&] {
      auto instance =
          backend.create_instance(o.limit_model_file, config, InstanceOptions{}).value();
      (void)instance->execute({in});  // warm-up
      while (!stop) {
        if (instance->execute({in}).ok()) rows += o.limit_batch;
      }
    });
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.limit_seconds));
  const int64_t counted = rows.load();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  for (auto& t : threads) t.join();
  return {{"in_process_rps", counted / secs},
          {"instances", o.limit_instances},
          {"batch", o.limit_batch}};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"V2 inference load generator (closed loop, open loop, in-process limit)"};
  app.add_option("--host", o.host);
  app.add_option("--port", o.port);
  app.add_option("--protocol", o.protocol, "http-json, http-binary or grpc");
  app.add_flag("--grpc-async", o.grpc_async,
               "gRPC through the asynchronous API, one thread (perf_analyzer --async)");
  app.add_option("--model", o.model);
  app.add_option("--input", o.input, "Input tensor name");
  app.add_option("--output", o.output, "Output tensor name");
  app.add_option("--path", o.path, "HTTP path (default /v2/models/<model>/infer)");
  app.add_option(
      "--header", o.headers,
      "Extra HTTP header 'Name: value' (repeatable; gRPC metadata with --protocol grpc)");
  app.add_option("--batch", o.batch, "Images per request");
  app.add_option("--concurrency", o.concurrency, "Closed-loop client counts")->delimiter(',');
  app.add_option("--window-ms", o.window_ms);
  app.add_option("--max-windows", o.max_windows);
  app.add_option("--open-loop-rps", o.open_loop_rps, "Also measure at this fixed request rate");
  app.add_option("--open-loop-seconds", o.open_loop_seconds);
  app.add_option("--in-process-limit", o.limit_model_file,
                 "Measure this exported model in process instead");
  app.add_option("--limit-instances", o.limit_instances);
  app.add_option("--limit-batch", o.limit_batch);
  app.add_option("--limit-seconds", o.limit_seconds);
  CLI11_PARSE(app, argc, argv);

  if (!o.limit_model_file.empty()) {
    std::cout << in_process_limit(o).dump() << std::endl;
    return 0;
  }
  for (int c : o.concurrency) {
    const bool async = o.protocol == "grpc" && o.grpc_async;
    json row = async ? closed_loop_grpc_async(o, c) : closed_loop(o, c);
    row["protocol"] = o.protocol;
    if (async) row["client"] = "async";
    std::cout << row.dump() << std::endl;
    if (row["rps"].get<double>() == 0) {
      std::cerr << "serving_loadgen: every request to " << o.model << " failed\n";
      return 1;
    }
  }
  if (o.open_loop_rps > 0) {
    json row = open_loop(o);
    row["protocol"] = o.protocol;
    std::cout << row.dump() << std::endl;
  }
  return 0;
}
