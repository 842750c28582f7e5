#include "ingress/api_client.h"

namespace cadre::ingress {

Result<std::unique_ptr<ApiClient>> ApiClient::Create(const ApiClientOptions& options) {
  if (options.threads < 1 || options.max_queued < 1) {
    return InvalidArgument("the API client needs at least one thread and one queued call");
  }
  std::unique_ptr<ApiClient> api(new ApiClient(options));
  for (int i = 0; i < options.threads; ++i) {
    ASSIGN_OR_RETURN(auto client, client::CoordinatorClient::Create(options.coordinator));
    api->clients_.push_back(std::move(client));
  }
  for (auto& client : api->clients_) {
    api->threads_.emplace_back([raw = api.get(), c = client.get()] { raw->run(*c); });
  }
  return api;
}

ApiClient::~ApiClient() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

Status ApiClient::submit(Work work) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() >= options_.max_queued) {
      return Unavailable(std::to_string(queue_.size()) +
                         " API calls already wait for the coordinator; try again shortly");
    }
    queue_.push_back(std::move(work));
  }
  ready_.notify_one();
  return Status::Ok();
}

void ApiClient::run(client::CoordinatorClient& client) {
  while (true) {
    Work work;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work(client);
  }
}

}  // namespace cadre::ingress
