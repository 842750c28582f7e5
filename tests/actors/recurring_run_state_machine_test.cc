#include "actors/recurring_run_state_machine.h"

#include <gtest/gtest.h>

#include "protocol/spec/manifest.h"

namespace cadre::actors::recurring_run_state_machine_test {
namespace {

namespace fx = recurring_run_effect;

constexpr int64_t kT0 = 1794908800000;  // 2026-11-17T09:46:40Z

template <typename E>
std::vector<E> all(const RecurringRunEffects& effects) {
  std::vector<E> out;
  for (const auto& e : effects) {
    if (const auto* x = std::get_if<E>(&e)) out.push_back(*x);
  }
  return out;
}

std::shared_ptr<const spec::RecurringRunSpec> spec_of(const std::string& spec_body) {
  auto m = spec::parse_manifest(
      "apiVersion: cadre/v1\nkind: RecurringRun\nmetadata:\n  name: rr\n"
      "spec:\n  pipelineRef: {name: p}\n" +
      spec_body);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m.ok() ? m->recurring_run : nullptr;
}

// A machine with a clock the test moves, which answers its own effects the way
// the shell would: counts are `unfinished`, starts succeed unless `refuse` says.
class Schedule {
 public:
  explicit Schedule(const std::string& body, protocol::RecurringRunStatus record = {}) {
    auto spec = spec_of(body);
    if (record.name.empty()) {
      record = RecurringRunStateMachine::first_record(*spec, "rr", "default", "m", now);
    }
    RecurringRunMachineOptions o;
    o.now_ms = [this] { return now; };
    auto m = RecurringRunStateMachine::Create(record, spec, o);
    EXPECT_TRUE(m.ok()) << m.status().to_string();
    machine = std::move(*m);
  }

  // Runs the effects to quiescence; returns the runs started, in order.
  std::vector<std::string> drive(RecurringRunEffects effects) {
    std::vector<std::string> started;
    for (int guard = 0; guard < 1000 && !effects.empty(); ++guard) {
      RecurringRunEffects next;
      for (const auto& e : effects) {
        RecurringRunEffects more;
        if (std::holds_alternative<fx::CountActive>(e)) {
          more = machine->on_active(unfinished);
        } else if (const auto* s = std::get_if<fx::StartRun>(&e)) {
          Status status = refuse ? refuse(s->run) : Status::Ok();
          if (status.ok()) started.push_back(s->run);
          more = machine->on_run_started(s->run, status);
        } else if (const auto* t = std::get_if<fx::StartTimer>(&e)) {
          timers.push_back(now + t->after.count());
        } else if (const auto* ev = std::get_if<fx::RecordEvent>(&e)) {
          events.push_back(ev->event.reason);
        } else if (std::holds_alternative<fx::Persist>(e)) {
          ++persisted;
        }
        next.insert(next.end(), more.begin(), more.end());
      }
      effects = std::move(next);
    }
    return started;
  }
  std::vector<std::string> advance_to(int64_t t) {
    now = t;
    return drive(machine->on_timer());
  }

  int64_t now = kT0;
  int32_t unfinished = 0;
  std::function<Status(const std::string&)> refuse;
  std::vector<int64_t> timers;
  std::vector<std::string> events;
  int persisted = 0;
  std::unique_ptr<RecurringRunStateMachine> machine;
};

TEST(RecurringRun, StartsARunEachIntervalNamedByItsDueTime) {
  Schedule s("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n");
  EXPECT_TRUE(s.drive(s.machine->start()).empty());  // first due one interval after it was applied
  ASSERT_EQ(s.timers.size(), 1u);
  EXPECT_EQ(s.timers[0], kT0 + 60000);
  EXPECT_EQ(s.advance_to(kT0 + 60000), (std::vector<std::string>{"rr-20261117094740"}));
  EXPECT_EQ(s.advance_to(kT0 + 120500), (std::vector<std::string>{"rr-20261117094840"}));
  EXPECT_EQ(s.machine->record().runs_started, 2);
  EXPECT_EQ(s.machine->record().last_run, "rr-20261117094840");
  EXPECT_EQ(s.machine->record().next_ms, kT0 + 180000);
  EXPECT_EQ(s.events, (std::vector<std::string>{"RunStarted", "RunStarted"}));
  // The run it starts is a PipelineRun of its pipeline, with its parameters.
  auto run = spec::parse_manifest(s.machine->render_run("rr-x"));
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  EXPECT_EQ(run->pipeline_run->pipeline, "p");
}

TEST(RecurringRun, CatchesUpMissedTimesOldestFirstUnlessNoCatchup) {
  Schedule catchup("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n");
  catchup.drive(catchup.machine->start());
  EXPECT_EQ(catchup.advance_to(kT0 + 200000).size(), 3u);  // 60, 120 and 180 s

  Schedule latest("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n  noCatchup: true\n");
  latest.drive(latest.machine->start());
  EXPECT_EQ(latest.advance_to(kT0 + 200000),
            (std::vector<std::string>{latest.machine->run_name(kT0 + 180000)}));
  EXPECT_TRUE(latest.advance_to(kT0 + 210000).empty());
}

TEST(RecurringRun, WaitsAtMaxConcurrencyAndSaysWhy) {
  Schedule s("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n  maxConcurrency: 2\n");
  s.drive(s.machine->start());
  s.unfinished = 2;
  EXPECT_TRUE(s.advance_to(kT0 + 60000).empty());
  EXPECT_EQ(s.machine->record().message,
            "waiting: 2 of its runs have not finished (maxConcurrency 2)");
  EXPECT_EQ(s.timers.back(), kT0 + 61000);  // looks again in a second
  s.unfinished = 1;
  EXPECT_EQ(s.advance_to(kT0 + 61000).size(), 1u);  // the run due at 60 s, late
  EXPECT_EQ(s.machine->record().message, "");
}

TEST(RecurringRun, AfterARestartARunItAlreadyStartedIsNotStartedAgain) {
  Schedule s("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n");
  s.drive(s.machine->start());
  protocol::RecurringRunStatus before_it_was_stored = s.machine->record();
  EXPECT_EQ(s.advance_to(kT0 + 60000).size(), 1u);
  // The coordinator died before the store heard of that run: the same due time
  // comes up again, and its start is refused as AlreadyExists.
  Schedule restarted("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n",
                     before_it_was_stored);
  restarted.now = kT0 + 61000;
  std::vector<std::string> attempted;
  restarted.refuse = [&](const std::string& run) {
    attempted.push_back(run);
    return AlreadyExists("run/" + run + " was started before");
  };
  EXPECT_TRUE(restarted.drive(restarted.machine->start()).empty());
  EXPECT_EQ(attempted, (std::vector<std::string>{"rr-20261117094740"}));
  EXPECT_EQ(restarted.machine->record().runs_started, 0);  // not counted twice
  EXPECT_EQ(restarted.machine->record().last_scheduled_ms, kT0 + 60000);
}

TEST(RecurringRun, CronTimesStayBetweenStartAndEndTime) {
  // Every minute at second 0, from 09:50 to 09:52 UTC.
  Schedule s(
      "  trigger:\n    cronSchedule:\n      cron: '0 * * * * *'\n"
      "      startTime: '2026-11-17T09:50:00Z'\n      endTime: '2026-11-17T09:52:00Z'\n");
  s.drive(s.machine->start());
  EXPECT_EQ(s.machine->record().next_ms, kT0 + 200000);  // 09:50:00
  EXPECT_EQ(s.advance_to(kT0 + 400000).size(), 3u);      // 09:50, 09:51, 09:52
  EXPECT_EQ(s.machine->record().next_ms, 0);
  EXPECT_NE(s.machine->record().message.find("its trigger has ended"), std::string::npos);
}

TEST(RecurringRun, ARunThatCannotStartIsMissedOnceAndTheScheduleGoesOn) {
  Schedule s("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n");
  s.drive(s.machine->start());
  s.refuse = [](const std::string&) { return NotFound("pipeline/p not found"); };
  EXPECT_TRUE(s.advance_to(kT0 + 60000).empty());
  EXPECT_EQ(s.events, (std::vector<std::string>{"RunNotStarted"}));
  EXPECT_NE(s.machine->record().message.find("pipeline/p not found"), std::string::npos);
  s.refuse = nullptr;
  EXPECT_EQ(s.advance_to(kT0 + 120000).size(), 1u);

  // A coordinator that cannot answer now is asked again for the same time.
  s.refuse = [](const std::string&) { return Unavailable("the store is down"); };
  EXPECT_TRUE(s.advance_to(kT0 + 180000).empty());
  s.refuse = nullptr;
  EXPECT_EQ(s.advance_to(kT0 + 181000),
            (std::vector<std::string>{s.machine->run_name(kT0 + 180000)}));
}

TEST(RecurringRun, DisabledItStartsNothingAndAChangedScheduleDoesNotMakeUpThePast) {
  Schedule s("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n  mode: DISABLE\n");
  s.drive(s.machine->start());
  EXPECT_TRUE(s.advance_to(kT0 + 300000).empty());
  EXPECT_EQ(s.machine->record().next_ms, 0);
  s.drive(s.machine->on_update(spec_of("  trigger:\n    periodicSchedule: {intervalSecond: 60}\n"),
                               "m2"));
  EXPECT_TRUE(s.advance_to(kT0 + 301000).empty());  // 60..300 s are not made up
  EXPECT_EQ(s.advance_to(kT0 + 360000).size(), 1u);
  EXPECT_EQ(s.machine->record().manifest, "m2");
}

}  // namespace
}  // namespace cadre::actors::recurring_run_state_machine_test
