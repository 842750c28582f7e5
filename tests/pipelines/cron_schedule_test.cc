#include "pipelines/cron_schedule.h"

#include <gtest/gtest.h>

#include <ctime>

namespace cadre::pipelines {
namespace {

// Unix ms of a UTC time.
int64_t utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::optional<int64_t> next(const std::string& cron, int64_t after) {
  auto c = CronSchedule::Parse(cron);
  EXPECT_TRUE(c.ok()) << cron << ": " << c.status().to_string();
  return c.ok() ? c->next_after(after) : std::nullopt;
}

TEST(CronSchedule, SixFieldsStartWithSecondsAsKfpWritesThem) {
  // KFP's "every hour at :00:00".
  EXPECT_EQ(next("0 0 * * * *", utc(2026, 11, 29, 10, 15)), utc(2026, 11, 29, 11));
  EXPECT_EQ(next("*/10 * * * * *", utc(2026, 11, 29, 10, 15, 3)), utc(2026, 11, 29, 10, 15, 10));
  // Strictly after: a matching start is not returned again.
  EXPECT_EQ(next("0 0 * * * *", utc(2026, 11, 29, 11)), utc(2026, 11, 29, 12));
}

TEST(CronSchedule, FiveFieldsAreTheClassicCronAtSecondZero) {
  EXPECT_EQ(next("30 2 * * *", utc(2026, 11, 29, 10)), utc(2026, 11, 30, 2, 30));
  EXPECT_EQ(next("*/15 * * * *", utc(2026, 11, 29, 10, 1)), utc(2026, 11, 29, 10, 15));
}

TEST(CronSchedule, CrossesMonthAndYearEndsAndFindsLeapDays) {
  EXPECT_EQ(next("0 0 0 1 * *", utc(2026, 12, 15)), utc(2027, 1, 1));
  EXPECT_EQ(next("0 0 0 29 2 *", utc(2026, 3, 1)), utc(2028, 2, 29));
  EXPECT_EQ(next("0 0 0 31 * *", utc(2026, 4, 1)), utc(2026, 5, 31));
  // Never (February 30th): nothing within five years.
  EXPECT_EQ(next("0 0 0 30 2 *", utc(2026, 1, 1)), std::nullopt);
}

TEST(CronSchedule, NamesRangesStepsAndListsSelectWhatTheySay) {
  // 2026-11-29 is a Sunday.
  EXPECT_EQ(next("0 0 9 * * MON-FRI", utc(2026, 11, 29, 12)), utc(2026, 11, 30, 9));
  EXPECT_EQ(next("0 0 9 * * 7", utc(2026, 11, 28, 12)), utc(2026, 11, 29, 9));  // 7 is Sunday
  EXPECT_EQ(next("0 0 0 1 jan,jul *", utc(2026, 2, 1)), utc(2026, 7, 1));
  EXPECT_EQ(next("0 5/20 * * * *", utc(2026, 11, 29, 10, 26)), utc(2026, 11, 29, 10, 45));
  EXPECT_EQ(next("0 10-20/5 * * * *", utc(2026, 11, 29, 10, 16)), utc(2026, 11, 29, 10, 20));
  EXPECT_EQ(next("0 0 0 ? * WED", utc(2026, 11, 29)), utc(2026, 12, 2));
}

TEST(CronSchedule, BothDayFieldsRestrictedMatchEitherAsVixieCron) {
  // The 15th, or any Monday: Monday Nov 30 comes before Dec 15.
  EXPECT_EQ(next("0 0 0 15 * MON", utc(2026, 11, 29, 1)), utc(2026, 11, 30));
  EXPECT_EQ(next("0 0 0 15 * MON", utc(2026, 12, 8, 1)), utc(2026, 12, 14));
  EXPECT_EQ(next("0 0 0 15 * MON", utc(2026, 12, 14, 1)), utc(2026, 12, 15));
}

TEST(CronSchedule, DescriptorsAreShorthands) {
  EXPECT_EQ(next("@hourly", utc(2026, 11, 29, 10, 5)), utc(2026, 11, 29, 11));
  EXPECT_EQ(next("@daily", utc(2026, 11, 29, 10)), utc(2026, 11, 30));
  EXPECT_EQ(next("@weekly", utc(2026, 11, 29, 10)), utc(2026, 12, 6));
  EXPECT_EQ(next("@monthly", utc(2026, 11, 29)), utc(2026, 12, 1));
  EXPECT_EQ(next("@yearly", utc(2026, 11, 29)), utc(2027, 1, 1));
}

TEST(CronSchedule, RefusesWhatIsNotCronWithTheFieldThatIsWrong) {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"", "has 0 fields"},
      {"* * *", "has 3 fields"},
      {"0 61 * * * *", "minute: 61 is out of range 0-59"},
      {"0 0 25 * * *", "hour: 25 is out of range 0-23"},
      {"0 0 0 0 * *", "day of month: 0 is out of range 1-31"},
      {"0 0 0 * 13 *", "month: 13 is out of range 1-12"},
      {"0 0 0 * FOO *", "month: 'FOO' is not a number or a name"},
      {"0 0 0 * * 8", "day of week: 8 is out of range 0-7"},
      {"0 */0 * * * *", "minute: step '0' is not a number >= 1"},
      {"0 30-10 * * * *", "minute: range '30-10' runs backwards"},
      {"0 1,,2 * * * *", "minute: an empty list item"},
      {"0 ? * * * *", "minute: '?' is only for the day fields"},
      {"@often", "'@often' is not a descriptor"},
      {"0 99999999999 * * * *", "minute: '99999999999' is not a number"},
      {std::string(300, '*'), "at most 256 characters"},
  };
  for (const auto& c : cases) {
    auto parsed = CronSchedule::Parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_NE(parsed.status().message().find(c.error), std::string::npos)
        << "want: " << c.error << "\ngot:  " << parsed.status().message();
  }
}

}  // namespace
}  // namespace cadre::pipelines
