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
  std::vector<Candidate> candidates;
  for (const auto& [job, admitted] : jobs_) {
    if (job != gang.job && admitted.preemptible && admitted.priority < gang.priority &&
        holds(job)) {
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
  while (!fits && needed < candidates.size()) {
    trial.release_job(candidates[needed++].job);
    fits = trial.place(gang, &placements, &never) == Fit::kPlaced;
  }
  if (!fits) return {};
  // An early, cheap victim may have freed nothing the gang needed: spare each one
  // the gang fits without, the most valuable first.
  std::vector<bool> spared(needed, false);
  for (size_t k = needed; k-- > 0;) {
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

bool Scheduler::holds(const std::string& job) const {
  const std::string prefix = job + "/";
  auto it = held_.lower_bound(prefix);
  return it != held_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

void Scheduler::classify(const std::string& job, int32_t priority, bool preemptible) {
  jobs_[job] = Admitted{priority, preemptible, ++next_order_};
}

}  // namespace cadre::actors
