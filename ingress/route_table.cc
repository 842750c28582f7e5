#include "ingress/route_table.h"

#include <algorithm>

#include "protocol/user_tokens.h"
#include "protocol/wall_clock.h"

namespace cadre::ingress {

void RouteTable::update(const protocol::RoutesReply& reply) {
  std::lock_guard<std::mutex> lock(mutex_);
  version_ = reply.version;
  services_.clear();
  std::map<std::string, std::shared_ptr<EndpointLoad>> loads;
  for (const auto& s : reply.services) {
    for (const auto& rev : s.revisions) {
      for (const auto& e : rev.endpoints) {
        const std::string key = e.address + ":" + std::to_string(e.port);
        auto old = loads_.find(key);
        loads[key] = old != loads_.end() ? old->second : std::make_shared<EndpointLoad>();
      }
    }
    services_[s.name] = s;
  }
  loads_ = std::move(loads);
  tokens_.clear();
  for (const auto& t : reply.tokens) tokens_[t.sha256] = t.ns;
  notebooks_.clear();
  for (const auto& n : reply.notebooks) notebooks_[n.name] = n;
  // A code used here stays used even while the coordinator has not heard so yet.
  login_codes_.clear();
  std::set<std::string> still_listed;
  for (const auto& c : reply.login_codes) {
    if (redeemed_.count(c.sha256)) {
      still_listed.insert(c.sha256);
    } else {
      login_codes_[c.sha256] = c;
    }
  }
  redeemed_ = std::move(still_listed);
}

std::optional<std::string> RouteTable::redeem_login_code(const std::string& code) {
  if (code.empty() || code.size() > 256) return std::nullopt;
  const std::string hash = protocol::token_sha256(code);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = login_codes_.find(hash);
  if (it == login_codes_.end()) return std::nullopt;
  const protocol::IngressToken entry = it->second;
  login_codes_.erase(it);
  redeemed_.insert(hash);
  if (entry.expires_ms <= wall_ms()) return std::nullopt;
  return entry.ns;
}

std::vector<std::string> RouteTable::redeemed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {redeemed_.begin(), redeemed_.end()};
}

uint64_t RouteTable::version() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return version_;
}

std::vector<std::string> RouteTable::services() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, s] : services_) out.push_back(name);
  return out;
}

bool RouteTable::has_service(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return services_.count(name) > 0;
}

Result<Pick> RouteTable::pick(const std::string& service, double u1, double u2,
                              const std::set<std::string>& exclude) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = services_.find(service);
  if (it == services_.end()) return NotFound("no inferenceservice '" + service + "'");
  const auto& s = it->second;
  auto reachable = [&](const protocol::RouteEndpoint& e) {
    return !exclude.count(e.address + ":" + std::to_string(e.port));
  };
  auto usable = [&](const protocol::RevisionRoute& rev) {
    return rev.activate || std::any_of(rev.endpoints.begin(), rev.endpoints.end(), reachable);
  };
  // The canary split: a revision by its percent, among those that can answer.
  int32_t total = 0;
  for (const auto& rev : s.revisions) {
    if (rev.percent > 0 && usable(rev)) total += rev.percent;
  }
  const protocol::RevisionRoute* chosen = nullptr;
  if (total > 0) {
    double point = u1 * total;
    for (const auto& rev : s.revisions) {
      if (rev.percent <= 0 || !usable(rev)) continue;
      chosen = &rev;
      if ((point -= rev.percent) < 0) break;
    }
  }
  if (chosen == nullptr) {
    return Unavailable("inferenceservice '" + service + "' has no ready replica");
  }
  Pick p;
  p.service = s.name;
  p.ns = s.ns;
  p.revision = chosen->revision;
  p.token = s.replica_token;
  p.timeout = std::chrono::milliseconds(s.timeout_ms);
  p.container_concurrency = s.container_concurrency;
  // Least outstanding requests among those below the limit; ties broken at random
  // so equal replicas share.
  std::vector<const protocol::RouteEndpoint*> best;
  int least = 0;
  bool any = false;
  for (const auto& e : chosen->endpoints) {
    if (!reachable(e)) continue;
    any = true;
    const int n = loads_.at(e.address + ":" + std::to_string(e.port))
                      ->in_flight.load(std::memory_order_relaxed);
    if (s.container_concurrency > 0 && n >= s.container_concurrency) continue;
    if (best.empty() || n < least) {
      best = {&e};
      least = n;
    } else if (n == least) {
      best.push_back(&e);
    }
  }
  if (best.empty()) {
    p.wait = any ? PickWait::kAtCapacity : PickWait::kColdStart;
    return p;
  }
  const auto* e = best[std::min(best.size() - 1, static_cast<size_t>(u2 * best.size()))];
  p.replica = e->replica;
  p.address = e->address;
  p.port = e->port;
  p.load = loads_.at(p.key());
  p.load->in_flight.fetch_add(1, std::memory_order_relaxed);
  return p;
}

std::vector<std::pair<std::string, std::string>> RouteTable::scale_to_zero_revisions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, s] : services_) {
    for (const auto& rev : s.revisions) {
      if (rev.activate) out.emplace_back(name, rev.revision);
    }
  }
  return out;
}

RouteTable::Auth RouteTable::authorize(const std::string& service,
                                       const std::string& authorization) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = services_.find(service);
  if (it == services_.end() || !it->second.auth) return Auth::kOk;
  static const std::string kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      authorization.compare(0, kBearer.size(), kBearer) != 0) {
    return Auth::kMissing;
  }
  // Only hashes are held; comparing hashes leaks nothing about the token.
  auto token = tokens_.find(protocol::token_sha256(authorization.substr(kBearer.size())));
  if (token == tokens_.end()) return Auth::kWrong;
  return token->second == it->second.ns ? Auth::kOk : Auth::kOtherNamespace;
}

RouteTable::Auth RouteTable::authorize_namespace(const std::string& service,
                                                 const std::string& ns) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = services_.find(service);
  if (it == services_.end() || !it->second.auth) return Auth::kOk;
  return it->second.ns == ns ? Auth::kOk : Auth::kOtherNamespace;
}

std::optional<std::string> RouteTable::service_namespace(const std::string& service) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = services_.find(service);
  if (it == services_.end()) return std::nullopt;
  return it->second.ns;
}

std::optional<std::string> RouteTable::token_namespace(const std::string& token) const {
  if (token.empty()) return std::nullopt;
  const std::string hash = protocol::token_sha256(token);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = tokens_.find(hash);
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

std::optional<protocol::NotebookRoute> RouteTable::notebook(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = notebooks_.find(name);
  if (it == notebooks_.end()) return std::nullopt;
  return it->second;
}

std::vector<protocol::NotebookRoute> RouteTable::ready_notebooks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<protocol::NotebookRoute> out;
  for (const auto& [name, n] : notebooks_) {
    if (n.ready) out.push_back(n);
  }
  return out;
}

}  // namespace cadre::ingress
