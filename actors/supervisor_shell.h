// What every supervisor's thin actor does alike (job, experiment, inference
// service, notebook, pipeline run, recurring run): ask the store or the manager
// for a Status and turn its answer — or its absence within the timeout — into the
// machine's next event; answer the requests the machine was handed by id once it
// says how they ended; log its events with the entity named.
#pragma once

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "protocol/messages.h"
#include "protocol/status.h"

namespace cadre::actors {

// What a machine is told when `who` ("the store", "the manager") did not answer:
// Unavailable, with CAF's reason (the request timed out, or the actor is gone).
inline Status no_answer_from(const std::string& who, const caf::error& error) {
  return Unavailable(who + " did not answer: " + caf::to_string(error));
}

// Sends `xs` to `to` and hands `next` the Status it answers or, when it fails or
// does not answer within `timeout`, no_answer_from(who). A lost answer thus always
// becomes an event the machine decides on (retry, fail), never a silent stall.
template <class Self, class Handle, class Timeout, class Next, class... Ts>
void ask_status(Self* self, const Handle& to, const Timeout& timeout, std::string who, Next next,
                Ts&&... xs) {
  self->request(to, timeout, std::forward<Ts>(xs)...)
      .then([next](const Status& status) { next(status); },
            [next, who = std::move(who)](const caf::error& error) {
              next(no_answer_from(who, error));
            });
}

// The replies an actor owes, by the id its machine was handed with each request.
// Owned by the actor; the machine says when, and with what, each is answered.
class PendingReplies {
 public:
  uint64_t remember(caf::response_promise promise) {
    const uint64_t id = next_id_++;
    pending_.emplace(id, std::move(promise));
    return id;
  }

  // Answers `id` once; an id already answered, or never handed out, is ignored.
  template <class... Ts>
  void answer(uint64_t id, Ts&&... xs) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    it->second.deliver(std::forward<Ts>(xs)...);
    pending_.erase(it);
  }

 private:
  std::map<uint64_t, caf::response_promise> pending_;
  uint64_t next_id_ = 1;
};

// Logs a supervisor's event as `kind=name Reason: message`: warnings as warnings,
// the rest as info.
inline void log_event(const char* kind, const std::string& name, const protocol::JobEvent& e) {
  if (e.type == protocol::EventType::kWarning) {
    spdlog::warn("{}={} {}: {}", kind, name, e.reason, e.message);
  } else {
    spdlog::info("{}={} {}: {}", kind, name, e.reason, e.message);
  }
}

}  // namespace cadre::actors
