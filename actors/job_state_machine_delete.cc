// Deleting a job (cadre delete, ttlSecondsAfterFinished): its replicas stop, its
// record is erased, its files removed. Part of JobStateMachine (job_state_machine.h).
#include <algorithm>

#include "actors/job_state_machine.h"

namespace cadre::actors {

// Deletion (by a client or ttlSecondsAfterFinished) completes once every replica is gone.
JobEffects JobStateMachine::on_delete(uint64_t request) {
  JobEffects out;
  delete_requests_.push_back(request);
  if (!deleting_) start_delete(out);
  return out;
}

void JobStateMachine::start_delete(JobEffects& out) {
  deleting_ = true;
  int64_t longest = 0;
  for (auto& r : replicas()) {
    if (!protocol::is_alive(r.state)) continue;
    longest = std::max(longest, grace_ms(r));
    terminate(out, r, "job deleted");
  }
  if (none_alive()) {
    complete_delete(out);
    return;
  }
  persist(out);
  out.push_back(job_effect::StartTimer{std::chrono::milliseconds(longest + 5000),
                                       JobTimer{JobTimer::Kind::kDeleteTimeout, ""}});
}

void JobStateMachine::complete_delete(JobEffects& out) {
  if (!deleting_ || erasing_) return;
  erasing_ = true;
  out.push_back(job_effect::CancelPlacement{});
  out.push_back(job_effect::Release{name() + "/"});
  out.push_back(job_effect::EraseRecord{});
}

JobEffects JobStateMachine::on_erased(const Status& status) {
  JobEffects out;
  erasing_ = false;
  std::vector<uint64_t> waiting;
  waiting.swap(delete_requests_);
  if (!status.ok()) {
    // The job stays, with its replicas stopped: a later delete may try again.
    deleting_ = false;
    out.push_back(job_effect::AnswerDelete{
        std::move(waiting),
        Unavailable("job " + name() + " not removed from the store: " + status.message())});
    return out;
  }
  // Its replicas have exited (or the delete timed out, and an agent cleans a
  // replica still running once it exits): nothing reads their files any more.
  if (rec_.attempts > 0) {
    job_effect::RemoveFiles remove;
    remove.files.job = name();
    remove.files.uid_prefix = replica_uid_prefix(name(), rec_.status.created_ms);
    for (const auto& r : replicas()) remove.files.replicas.push_back(r.name);
    out.push_back(std::move(remove));
  }
  // The manager forgets the job (Stop) before the client hears it is deleted, so a
  // get sent on that answer finds nothing even if this actor's thread is preempted
  // between the two sends.
  out.push_back(job_effect::Stop{});
  out.push_back(job_effect::AnswerDelete{std::move(waiting), Status::Ok()});
  return out;
}

}  // namespace cadre::actors
