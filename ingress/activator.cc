#include "ingress/activator.h"

#include <vector>

namespace cadre::ingress {

Result<std::unique_ptr<Activator>> Activator::Create(const ActivatorOptions& options) {
  if (options.max_held_per_service == 0) {
    return InvalidArgument("the activator must hold at least one request per service");
  }
  std::unique_ptr<Activator> activator(new Activator(options));
  activator->thread_ = std::thread([raw = activator.get()] { raw->run(); });
  return activator;
}

Activator::~Activator() { stop(); }

void Activator::stop() {
  std::map<std::string, std::deque<Held>> left;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    left.swap(queues_);
  }
  // Nobody is left to send them: each is answered, none is dropped unanswered.
  for (auto& [service, queue] : left) {
    for (auto& h : queue) {
      held_.fetch_sub(1, std::memory_order_relaxed);
      h.expire();
    }
  }
}

Status Activator::hold(Held held) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) return Unavailable("the ingress is stopping");
    auto& queue = queues_[held.service];
    if (queue.size() >= options_.max_held_per_service) {
      return Unavailable(std::to_string(queue.size()) + " requests to inferenceservice '" +
                         held.service + "' are already waiting");
    }
    queue.push_back(std::move(held));
    held_.fetch_add(1, std::memory_order_relaxed);
    woken_ = true;  // it may be sendable already (a slot freed as it arrived)
  }
  changed_.notify_one();
  return Status::Ok();
}

void Activator::wake() {
  if (held() == 0) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
  }
  changed_.notify_one();
}

void Activator::drain(const std::string& service) {
  std::deque<Held> taken;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = queues_.find(service);
    if (it == queues_.end()) return;
    taken.swap(it->second);
  }
  const auto now = Clock::now();
  std::deque<Held> kept;
  bool blocked = false;  // the first that must wait keeps the rest behind it (order)
  for (auto& h : taken) {
    if (h.deadline <= now) {
      h.expire();
    } else if (blocked || !h.try_send()) {
      blocked = true;
      kept.push_back(std::move(h));
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  held_.fetch_sub(taken.size() - kept.size(), std::memory_order_relaxed);
  auto& queue = queues_[service];
  // What arrived meanwhile goes behind what was already waiting.
  for (auto& h : queue) kept.push_back(std::move(h));
  queue.swap(kept);
  if (queue.empty()) queues_.erase(service);
}

void Activator::run() {
  while (true) {
    std::vector<std::string> services;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait_for(lock, options_.retry_interval, [&] { return woken_ || stop_; });
      if (stop_) return;
      woken_ = false;
      for (const auto& [service, queue] : queues_) services.push_back(service);
    }
    for (const auto& service : services) drain(service);
  }
}

}  // namespace cadre::ingress
