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
    Service& service = services_[s.name];
    service = Service{};  // a name twice in a reply: the last one holds
    service.route = s;
    for (const auto& rev : service.route.revisions) {
      auto& endpoints = service.endpoints.emplace_back();
      for (const auto& e : rev.endpoints) {
        std::string key = e.address + ":" + std::to_string(e.port);
        auto& load = loads[key];
        if (!load) {
          auto old = loads_.find(key);
          load = old != loads_.end() ? old->second : std::make_shared<EndpointLoad>();
        }
        endpoints.push_back(Endpoint{&e, std::move(key), load});
      }
    }
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

namespace {

// The revision that takes the request: drawn by percent (u1 in [0, 1)) among those
// that can answer, the canary split; nullptr when none can.
template <typename Usable>
const protocol::RevisionRoute* draw_revision(const std::vector<protocol::RevisionRoute>& revisions,
                                             double u1, const Usable& usable, size_t* index) {
  int32_t total = 0;
  for (size_t i = 0; i < revisions.size(); ++i) {
    if (revisions[i].percent > 0 && usable(i)) total += revisions[i].percent;
  }
  if (total == 0) return nullptr;
  double point = u1 * total;
  const protocol::RevisionRoute* chosen = nullptr;
  for (size_t i = 0; i < revisions.size(); ++i) {
    if (revisions[i].percent <= 0 || !usable(i)) continue;
    chosen = &revisions[i];
    *index = i;
    if ((point -= revisions[i].percent) < 0) break;
  }
  return chosen;
}

}  // namespace

Result<Pick> RouteTable::pick(const std::string& service, double u1, double u2,
                              const std::set<std::string>& exclude) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = services_.find(service);
  if (it == services_.end()) return NotFound("no inferenceservice '" + service + "'");
  const Service& s = it->second;
  auto reachable = [&](const Endpoint& e) { return exclude.empty() || !exclude.count(e.key); };
  auto usable = [&](size_t revision) {
    const auto& endpoints = s.endpoints[revision];
    return s.route.revisions[revision].activate ||
           std::any_of(endpoints.begin(), endpoints.end(), reachable);
  };
  size_t index = 0;
  const protocol::RevisionRoute* chosen = draw_revision(s.route.revisions, u1, usable, &index);
  if (chosen == nullptr) {
    return Unavailable("inferenceservice '" + service + "' has no ready replica");
  }
  Pick p;
  p.service = s.route.name;
  p.ns = s.route.ns;
  p.revision = chosen->revision;
  p.token = s.route.replica_token;
  p.timeout = std::chrono::milliseconds(s.route.timeout_ms);
  p.container_concurrency = s.route.container_concurrency;
  // Least outstanding requests among those below the limit; ties broken at random
  // (u2) so equal replicas share.
  const auto& endpoints = s.endpoints[index];
  const int limit = s.route.container_concurrency;
  auto open = [&](const Endpoint& e, int n) { return reachable(e) && (limit <= 0 || n < limit); };
  int least = 0;
  size_t ties = 0;
  bool any = false;
  for (const auto& e : endpoints) {
    if (!reachable(e)) continue;
    any = true;
    const int n = e.load->in_flight.load(std::memory_order_relaxed);
    if (!open(e, n)) continue;
    if (ties == 0 || n < least) {
      least = n;
      ties = 1;
    } else if (n == least) {
      ++ties;
    }
  }
  if (ties == 0) {
    p.wait = any ? PickWait::kAtCapacity : PickWait::kColdStart;
    return p;
  }
  // The ties again, counters read anew: only pick() adds to one, under this lock,
  // so each can only have dropped since (a request ended); every tie still
  // qualifies, and one that dropped to the least is as good.
  size_t nth = std::min(ties - 1, static_cast<size_t>(u2 * ties));
  for (const auto& e : endpoints) {
    const int n = e.load->in_flight.load(std::memory_order_relaxed);
    if (!open(e, n) || n > least || nth-- > 0) continue;
    p.replica = e.route->replica;
    p.address = e.route->address;
    p.port = e.route->port;
    p.load = e.load;
    break;
  }
  p.load->in_flight.fetch_add(1, std::memory_order_relaxed);
  return p;
}

std::vector<std::pair<std::string, std::string>> RouteTable::scale_to_zero_revisions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, s] : services_) {
    for (const auto& rev : s.route.revisions) {
      if (rev.activate) out.emplace_back(name, rev.revision);
    }
  }
  return out;
}

RouteTable::Auth RouteTable::authorize(const std::string& service,
                                       const std::string& authorization) const {
  static const std::string kBearer = "Bearer ";
  const bool bearer = authorization.size() > kBearer.size() &&
                      authorization.compare(0, kBearer.size(), kBearer) == 0;
  // Only hashes are held; comparing hashes leaks nothing about the token. Hashed
  // before the lock, which every request takes.
  const std::string hash =
      bearer ? protocol::token_sha256(authorization.substr(kBearer.size())) : std::string();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = services_.find(service);
  if (it == services_.end() || !it->second.route.auth) return Auth::kOk;
  if (!bearer) return Auth::kMissing;
  auto token = tokens_.find(hash);
  if (token == tokens_.end()) return Auth::kWrong;
  return token->second == it->second.route.ns ? Auth::kOk : Auth::kOtherNamespace;
}

RouteTable::Auth RouteTable::authorize_namespace(const std::string& service,
                                                 const std::string& ns) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = services_.find(service);
  if (it == services_.end() || !it->second.route.auth) return Auth::kOk;
  return it->second.route.ns == ns ? Auth::kOk : Auth::kOtherNamespace;
}

std::optional<std::string> RouteTable::service_namespace(const std::string& service) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = services_.find(service);
  if (it == services_.end()) return std::nullopt;
  return it->second.route.ns;
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
