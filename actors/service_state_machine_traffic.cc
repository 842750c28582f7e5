// The revisions of an InferenceService and the traffic between them: KServe's
// rollout rules, the routes, conditions, and the reconcile pass that ties them to
// the replica counts (service_state_machine.h has the rules).
#include <algorithm>

#include "actors/service_state_machine.h"

namespace cadre::actors {
namespace {

using protocol::ConditionStatus;
using protocol::EventType;
using protocol::ServiceConditionType;
using protocol::ServiceReplicaState;
namespace reason = protocol::reason;

}  // namespace

// ---- revisions and traffic -----------------------------------------------------

void ServiceStateMachine::add_revision(ServiceEffects& out, const ServiceApply& apply) {
  protocol::RevisionStatus rev = new_revision(apply, name(), ++st().generation, now());
  specs_[rev.name] = apply.spec;
  st().latest_created_revision = rev.name;
  event(out, EventType::kNormal, reason::kRevisionCreated,
        "revision " + rev.name + " serves " + rev.storage_uri);
  st().revisions.push_back(std::move(rev));
}

namespace {

// Every revision this service routes to, and its share: KServe's rules as pairs.
using Shares = std::vector<std::pair<std::string, int32_t>>;

// The shares each revision should have (KServe's rules).
Shares wanted_shares(const protocol::InferenceServiceStatus& s) {
  const std::string& latest = s.latest_created_revision;
  const std::string& rolled = s.latest_rolledout_revision;
  const auto canary = s.canary_traffic_percent;
  const bool promote = !canary || *canary == 100;
  if (rolled.empty() || (rolled == latest && promote)) return {{latest, 100}};
  if (rolled == latest) {
    // canaryTrafficPercent 0 or P after a promotion: back to the previous revision.
    if (s.previous_rolledout_revision.empty()) return {{latest, 100}};
    return {{s.previous_rolledout_revision, 100 - *canary}, {latest, *canary}};
  }
  const int32_t share = promote ? 100 : *canary;
  return {{rolled, 100 - share}, {latest, share}};
}

}  // namespace

// The latest revision takes all traffic once it is ready and no canary percent
// (or 100) holds it back; the one it replaces becomes the previous.
void ServiceStateMachine::promote_when_ready(ServiceEffects& out) {
  auto& s = st();
  const std::string& latest = s.latest_created_revision;
  const Revision* rev = revision(latest);
  const auto canary = s.canary_traffic_percent;
  const bool promote = !canary || *canary == 100;
  if (!promote || rev == nullptr || !servable(*rev) || s.latest_rolledout_revision == latest) {
    return;
  }
  if (!s.latest_rolledout_revision.empty()) {
    s.previous_rolledout_revision = s.latest_rolledout_revision;
  }
  s.latest_rolledout_revision = latest;
  event(out, EventType::kNormal, reason::kRolledOut, "revision " + latest + " takes all traffic");
}

// The shares revisions can have: one without a ready replica hands its share to
// the ready revision that holds the most traffic now (else the first wanted one
// that is ready), so requests never go where nothing answers. Oldest first.
std::vector<protocol::TrafficTarget> ServiceStateMachine::servable_traffic(
    const Shares& wanted) const {
  auto ready = [&](const std::string& rev_name) {
    const Revision* rev = revision(rev_name);
    return rev != nullptr && servable(*rev);
  };
  std::string fallback;
  int32_t fallback_share = -1;
  for (const auto& t : st().traffic) {
    if (ready(t.revision_name) && t.percent > fallback_share) {
      fallback = t.revision_name;
      fallback_share = t.percent;
    }
  }
  for (const auto& [rev_name, share] : wanted) {
    if (fallback.empty() && ready(rev_name) && share > 0) fallback = rev_name;
  }
  std::vector<protocol::TrafficTarget> traffic;
  auto add = [&](const std::string& rev_name, int32_t percent) {
    for (auto& t : traffic) {
      if (t.revision_name == rev_name) {
        t.percent += percent;
        return;
      }
    }
    traffic.push_back({rev_name, percent, rev_name == st().latest_created_revision});
  };
  for (const auto& [rev_name, share] : wanted) {
    if (share > 0 && !ready(rev_name) && !fallback.empty()) {
      add(fallback, share);
      add(rev_name, 0);
    } else {
      add(rev_name, share);
    }
  }
  std::sort(traffic.begin(), traffic.end(), [&](const auto& a, const auto& b) {
    return revision(a.revision_name)->generation < revision(b.revision_name)->generation;
  });
  return traffic;
}

void ServiceStateMachine::route_traffic(ServiceEffects& out) {
  promote_when_ready(out);
  const Shares wanted = wanted_shares(st());
  std::vector<protocol::TrafficTarget> traffic = servable_traffic(wanted);
  auto& s = st();
  if (traffic.size() != s.traffic.size() ||
      !std::equal(traffic.begin(), traffic.end(), s.traffic.begin(), [](auto& a, auto& b) {
        return a.revision_name == b.revision_name && a.percent == b.percent;
      })) {
    std::string text;
    for (const auto& t : traffic) {
      text += (text.empty() ? "" : ", ") + t.revision_name + " " + std::to_string(t.percent) + "%";
    }
    const bool split =
        traffic.size() > 1 && traffic.back().percent > 0 && traffic.back().percent < 100;
    event(out, EventType::kNormal, split ? reason::kCanary : reason::kRoutesPublished,
          "traffic: " + text);
  }
  s.traffic = std::move(traffic);
  // Wanted shares decide which revisions are kept running (see desired_of).
  wanted_.clear();
  for (const auto& [rev_name, share] : wanted) wanted_[rev_name] = share;
}

void ServiceStateMachine::set_condition(ServiceEffects& out, ServiceConditionType type, bool ok,
                                        const std::string& why, const std::string& message) {
  const auto status = ok ? ConditionStatus::kTrue : ConditionStatus::kFalse;
  for (auto& c : st().conditions) {
    if (c.type != type) continue;
    if (c.status == status) {
      c.reason = why;  // the same state for a new reason: no transition, no event
      c.message = message;
      return;
    }
    c.status = status;
    c.reason = why;
    c.message = message;
    c.last_transition_ms = now();
    if (type == ServiceConditionType::kReady) {
      event(out, ok ? EventType::kNormal : EventType::kWarning, why,
            std::string(ok ? "Ready: " : "not Ready: ") + message);
    }
    return;
  }
  st().conditions.push_back({type, status, why, message, now()});
  if (type == ServiceConditionType::kReady && ok) {
    event(out, EventType::kNormal, why, "Ready: " + message);
  }
}

void ServiceStateMachine::set_conditions(ServiceEffects& out) {
  std::string unready;
  std::string at_zero;  // revisions with traffic and no replica now (scaled to zero)
  for (const auto& t : st().traffic) {
    const Revision* rev = revision(t.revision_name);
    if (t.percent == 0) continue;
    if (rev == nullptr || !servable(*rev)) unready = t.revision_name;
    if (rev != nullptr && rev->ready_replicas == 0) {
      at_zero += (at_zero.empty() ? "" : ", ") + t.revision_name;
    }
  }
  // The latest failure says why better than "no ready replica" does.
  const std::string& failure = last_failure_;
  const bool predictor = unready.empty() && !st().traffic.empty();
  if (predictor) {
    std::string text;
    for (const auto& t : st().traffic) {
      if (t.percent > 0) text += (text.empty() ? "" : ", ") + t.revision_name;
    }
    set_condition(out, ServiceConditionType::kPredictorReady, true, reason::kRevisionReady,
                  "serving from " + text +
                      (at_zero.empty() ? ""
                                       : " (" + at_zero +
                                             " at zero replicas: a request starts one, "
                                             "the ingress holds it meanwhile)"));
  } else if (!failure.empty()) {
    set_condition(out, ServiceConditionType::kPredictorReady, false, reason::kReplicaFailed,
                  failure);
  } else {
    // A replica waiting for capacity (or its probe) says what the wait is for.
    std::string detail;
    for (const auto& r : st().replicas) {
      if (r.revision == unready && live(r) && !r.message.empty()) {
        detail = " (" + r.job + ": " + r.message + ")";
        break;
      }
    }
    set_condition(out, ServiceConditionType::kPredictorReady, false, reason::kNoReadyReplicas,
                  "waiting for a ready replica of " + unready + detail);
  }
  if (ingress_connected_) {
    set_condition(out, ServiceConditionType::kIngressReady, true, reason::kRoutesPublished,
                  "routes at " + st().url);
  } else {
    set_condition(out, ServiceConditionType::kIngressReady, false, reason::kIngressNotConnected,
                  "no cadre-ingress has its routes yet (is one running?)");
  }
  const auto& pc = st().conditions[0];
  if (!predictor) {
    set_condition(out, ServiceConditionType::kReady, false, pc.reason, pc.message);
  } else if (!ingress_connected_) {
    set_condition(out, ServiceConditionType::kReady, false, reason::kIngressNotConnected,
                  "no cadre-ingress has its routes yet (is one running?)");
  } else {
    set_condition(out, ServiceConditionType::kReady, true, reason::kRevisionReady, st().url);
  }
  st().ready = predictor && ingress_connected_;
  st().latest_ready_revision.clear();
  for (const auto& rev : st().revisions) {
    if (rev.ready_replicas > 0) st().latest_ready_revision = rev.name;
  }
}

void ServiceStateMachine::drop_unused_revisions() {
  auto& revs = st().revisions;
  revs.erase(std::remove_if(revs.begin(), revs.end(),
                            [&](const Revision& rev) {
                              if (rev.name == st().latest_created_revision ||
                                  rev.name == st().latest_rolledout_revision ||
                                  rev.name == st().previous_rolledout_revision) {
                                return false;
                              }
                              for (const auto& r : st().replicas) {
                                if (r.revision == rev.name) return false;
                              }
                              for (const auto& t : st().traffic) {
                                if (t.revision_name == rev.name) return false;
                              }
                              specs_.erase(rev.name);
                              return true;
                            }),
             revs.end());
}

void ServiceStateMachine::reconcile(ServiceEffects& out) {
  if (deleting_) return;
  for (auto& rev : st().revisions) {
    rev.ready_replicas = 0;
    for (const auto& r : st().replicas) {
      if (r.revision == rev.name && r.state == ServiceReplicaState::kReady) rev.ready_replicas++;
    }
    if (rev.ready_replicas > 0 && rev.first_ready_ms == 0) {
      rev.first_ready_ms = now();
      // Its idle window starts now: what was heard before it could serve does not
      // take it to zero the moment it is ready.
      autoscalers_.erase(rev.name);
    }
  }
  route_traffic(out);
  for (auto& rev : st().revisions) scale(out, rev);
  drop_unused_revisions();
  set_conditions(out);
}

}  // namespace cadre::actors
