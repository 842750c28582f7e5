#include "ingress/shared_reads.h"

namespace cadre::ingress {

using serving::http::HttpRequest;
using serving::http::HttpResponse;
using serving::http::Responder;

void SharedReads::forget_stale(Clock::time_point now) {
  if (entries_.size() < max_keys_) return;
  // Answers nobody waits for and nobody could reuse: long past fresh.
  for (auto it = entries_.begin(); it != entries_.end();) {
    const bool stale = !it->second.in_flight && now - it->second.at > 10 * fresh_;
    it = stale ? entries_.erase(it) : std::next(it);
  }
}

void SharedReads::read(const std::string& key, const HttpRequest& request, Responder done) {
  const auto now = Clock::now();
  {
    std::unique_lock<std::mutex> lock(mutex_);
    forget_stale(now);
    Entry& e = entries_[key];
    if (!e.in_flight && e.answered && now - e.at < fresh_) {
      HttpResponse answer = e.answer;
      lock.unlock();
      return done(std::move(answer));
    }
    e.waiting.push_back(std::move(done));
    if (e.in_flight) return;
    e.in_flight = true;
    reads_++;
  }
  std::weak_ptr<SharedReads> weak = weak_from_this();
  read_(request, [weak, key](HttpResponse answer) {
    auto self = weak.lock();
    if (!self) return;
    std::vector<Responder> waiting;
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      Entry& e = self->entries_[key];
      e.at = Clock::now();
      e.answer = answer;
      e.answered = true;
      e.in_flight = false;
      waiting.swap(e.waiting);
    }
    for (auto& w : waiting) w(answer);
  });
}

size_t SharedReads::keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

size_t SharedReads::reads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reads_;
}

}  // namespace cadre::ingress
