#include "ingress/load_meter.h"

namespace cadre::ingress {

void LoadMeter::advance(Meter& m, Clock::time_point now) {
  if (now > m.last) {
    m.area += m.in_flight * std::chrono::duration<double>(now - m.last).count();
    m.last = now;
  }
}

void LoadMeter::started(const std::string& service, const std::string& revision,
                        Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, fresh] = meters_.try_emplace({service, revision});
  Meter& m = it->second;
  if (fresh) m.last = m.since = m.busy = now;
  advance(m, now);
  m.in_flight++;
  m.started++;
}

void LoadMeter::finished(const std::string& service, const std::string& revision,
                         Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = meters_.find({service, revision});
  if (it == meters_.end()) return;
  advance(it->second, now);
  if (it->second.in_flight > 0) it->second.in_flight--;
}

std::vector<protocol::RevisionLoad> LoadMeter::take(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<protocol::RevisionLoad> out;
  for (auto it = meters_.begin(); it != meters_.end();) {
    Meter& m = it->second;
    advance(m, now);
    if (m.in_flight > 0 || m.started > 0) m.busy = now;
    // An idle revision is reported as 0 (so its autoscaler scales it in) until it
    // has been idle far longer than any window; then it is forgotten.
    if (now - m.busy > kForgetAfter) {
      it = meters_.erase(it);
      continue;
    }
    const double seconds = std::chrono::duration<double>(now - m.since).count();
    if (seconds > 0) {
      out.push_back({it->first.first, it->first.second, m.area / seconds, m.started / seconds});
    }
    m.area = 0;
    m.started = 0;
    m.since = now;
    ++it;
  }
  return out;
}

}  // namespace cadre::ingress
