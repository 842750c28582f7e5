// Choosing preemption victims (Scheduler::victims_for), and what the scheduler
// keeps of each placed job for it. Part of Scheduler (scheduler.h).
#include <algorithm>

#include "actors/scheduler.h"

namespace cadre::actors {

std::vector<std::string> Scheduler::victims_for(const GangRequest& gang) const {
  if (!gang.preempts) return {};
  struct Candidate {
    std::string job;
    int32_t priority;
    uint64_t order;
  };
  // Reclaim: the gangs of cohort queues that borrow, whatever their priority.
  const std::set<std::string> reclaimable = reclaimable_queues(gang);
  std::vector<Candidate> candidates;
  for (const auto& [job, admitted] : jobs_) {
    if (job == gang.job || !admitted.preemptible || !holds(job)) continue;
    if (admitted.priority < gang.priority || reclaimable.count(queue_of(job)) > 0) {
      candidates.push_back({job, admitted.priority, admitted.order});
    }
  }
  if (candidates.empty()) return {};
  // drain() asks for every waiting gang at every change: most often even stopping
  // all candidates would not do (they hold no GPU and it needs one), and one trial
  // says so.
  std::vector<Placement> placements;
  NeverFits never;
  {
    Scheduler all_stopped = *this;
    for (const auto& c : candidates) all_stopped.release_job(c.job);
    if (all_stopped.place(gang, &placements, &never) != Fit::kPlaced) return {};
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.order > b.order;
  });
  // Stop candidates, cheapest first, on a copy until the gang fits there.
  Scheduler trial = *this;
  size_t needed = 0;
  bool fits = false;
  std::vector<bool> skipped(candidates.size(), false);
  while (!fits && needed < candidates.size()) {
    const Candidate& next = candidates[needed++];
    // Another queue of the cohort keeps its own quota, whatever the priorities (as in
    // Kueue, where only reclaim crosses queues): its gangs are stopped only while it
    // borrows, and a queue the earlier victims have brought back within its quota
    // no longer does.
    const std::string queue = trial.queue_of(next.job);
    if (queue != gang.queue && shares_cohort(queue, gang.queue) && !trial.borrows(queue)) {
      skipped[needed - 1] = true;
      continue;
    }
    trial.release_job(next.job);
    fits = trial.place(gang, &placements, &never) == Fit::kPlaced;
  }
  if (!fits) return {};
  // An early, cheap victim may have freed nothing the gang needed: spare each one
  // the gang fits without, the most valuable first.
  std::vector<bool> spared(skipped.begin(), skipped.begin() + static_cast<ptrdiff_t>(needed));
  for (size_t k = needed; k-- > 0;) {
    if (skipped[k]) continue;
    Scheduler without = *this;
    for (size_t j = 0; j < needed; ++j) {
      if (j != k && !spared[j]) without.release_job(candidates[j].job);
    }
    spared[k] = without.place(gang, &placements, &never) == Fit::kPlaced;
  }
  std::vector<std::string> victims;
  for (size_t j = 0; j < needed; ++j) {
    if (!spared[j]) victims.push_back(candidates[j].job);
  }
  return victims;
}

Scheduler::PreemptionCause Scheduler::preemption_cause(const GangRequest& gang,
                                                       const std::string& victim) const {
  auto it = jobs_.find(victim);
  const int32_t priority = it == jobs_.end() ? 0 : it->second.priority;
  if (priority < gang.priority) {
    return {"priority " + std::to_string(gang.priority) + ", above its " + std::to_string(priority),
            false};
  }
  const std::string cohort = quotas_.count(gang.queue) ? quotas_.at(gang.queue).cohort : "";
  return {"queue " + gang.queue + " reclaiming its quota, which queue " + queue_of(victim) +
              " borrowed in cohort " + cohort,
          true};
}

bool Scheduler::holds(const std::string& job) const {
  const std::string prefix = job + "/";
  auto it = held_.lower_bound(prefix);
  return it != held_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

void Scheduler::classify(const std::string& job, int32_t priority, bool preemptible) {
  jobs_[job] = Admitted{priority, preemptible, ++next_order_};
}

}  // namespace cadre::actors
