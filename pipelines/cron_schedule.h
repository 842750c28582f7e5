// A cron schedule, as KFP's recurring runs take it (robfig/cron's syntax): six
// fields with seconds first, "SEC MIN HOUR DOM MONTH DOW", or the classic five
// without seconds ("MIN HOUR DOM MONTH DOW", at second 0). Each field is `*`, a
// value, a range `a-b`, a step `*/n` or `a-b/n` or `a/n`, or a list of those
// separated by commas; months and weekdays also by name (JAN-DEC, SUN-SAT), `?`
// means `*` in the day fields, and Sunday is 0 or 7. When both day fields are
// restricted, a day matches either (as in Vixie cron). Also @yearly (@annually),
// @monthly, @weekly, @daily (@midnight) and @hourly. All times are UTC.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>

#include "protocol/status.h"

namespace cadre::pipelines {

class CronSchedule {
 public:
  // The expression, or why not with the field that is wrong ("minute: 61 is out
  // of range 0-59"). Input is bounded: at most 256 characters.
  static Result<CronSchedule> Parse(const std::string& text);

  // The first matching time strictly after `after_ms` (Unix ms; the answer is on a
  // whole second), or nothing within the next five years (e.g. "0 0 30 2 *").
  std::optional<int64_t> next_after(int64_t after_ms) const;

  const std::string& text() const { return text_; }

 private:
  CronSchedule() = default;
  bool day_matches(int day_of_month, int day_of_week) const;

  std::string text_;
  std::bitset<60> seconds_, minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 (Sunday) .. 6
  bool any_day_ = true;      // the day-of-month field is * (or ?)
  bool any_weekday_ = true;  // the day-of-week field is * (or ?)
};

}  // namespace cadre::pipelines
