#include "pipelines/cron_schedule.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <sstream>
#include <vector>

namespace cadre::pipelines {
namespace {

constexpr size_t kMaxText = 256;

struct Field {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names for min.., or nullptr
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

const Field kSecond{"second", 0, 59, nullptr};
const Field kMinute{"minute", 0, 59, nullptr};
const Field kHour{"hour", 0, 23, nullptr};
const Field kDay{"day of month", 1, 31, nullptr};
const Field kMonth{"month", 1, 12, kMonthNames};
// 7 is Sunday too; folded into 0 below.
const Field kWeekday{"day of week", 0, 7, kDayNames};

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Result<int> value_of(const std::string& text, const Field& f) {
  if (f.names) {
    const int count = f.max - f.min + (f.max == 7 ? 0 : 1);
    for (int i = 0; i < count; ++i) {
      if (upper(text) == f.names[i]) return f.min + i;
    }
  }
  if (text.empty() || text.size() > 4 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(c); })) {
    return InvalidArgument(std::string(f.name) + ": '" + text + "' is not a number" +
                           (f.names ? " or a name" : ""));
  }
  const int v = std::stoi(text);
  if (v < f.min || v > f.max) {
    return InvalidArgument(std::string(f.name) + ": " + text + " is out of range " +
                           std::to_string(f.min) + "-" + std::to_string(f.max));
  }
  return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

// Sets bits[v] for every v the field text selects; `any` says it was * or ?.
template <size_t N>
Status parse_field(const std::string& text, const Field& f, std::bitset<N>& bits, bool* any) {
  if (any) *any = text == "*" || text == "?";
  if (text == "?" && f.name != kDay.name && f.name != kWeekday.name) {
    return InvalidArgument(std::string(f.name) + ": '?' is only for the day fields");
  }
  for (const auto& item : split(text, ',')) {
    if (item.empty()) return InvalidArgument(std::string(f.name) + ": an empty list item");
    std::string range = item;
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      range = item.substr(0, slash);
      const std::string s = item.substr(slash + 1);
      if (s.empty() || s.size() > 4 ||
          !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(c); }) ||
          std::stoi(s) < 1) {
        return InvalidArgument(std::string(f.name) + ": step '" + s + "' is not a number >= 1");
      }
      step = std::stoi(s);
    }
    int lo = f.min, hi = f.max;
    if (range != "*" && range != "?") {
      if (auto dash = range.find('-'); dash != std::string::npos) {
        ASSIGN_OR_RETURN(lo, value_of(range.substr(0, dash), f));
        ASSIGN_OR_RETURN(hi, value_of(range.substr(dash + 1), f));
        if (hi < lo) {
          return InvalidArgument(std::string(f.name) + ": range '" + range + "' runs backwards");
        }
      } else {
        ASSIGN_OR_RETURN(lo, value_of(range, f));
        // "a/n" is "a-max/n", as robfig/cron reads it.
        hi = item.find('/') == std::string::npos ? lo : f.max;
      }
    }
    for (int v = lo; v <= hi; v += step) bits.set(static_cast<size_t>(v % static_cast<int>(N)));
  }
  return Status::Ok();
}

int64_t to_seconds(std::tm tm) { return static_cast<int64_t>(timegm(&tm)); }

}  // namespace

Result<CronSchedule> CronSchedule::Parse(const std::string& text_in) {
  if (text_in.size() > kMaxText) {
    return InvalidArgument("a cron expression is at most " + std::to_string(kMaxText) +
                           " characters");
  }
  static const std::map<std::string, std::string> kDescriptors = {
      {"@yearly", "0 0 0 1 1 *"}, {"@annually", "0 0 0 1 1 *"}, {"@monthly", "0 0 0 1 * *"},
      {"@weekly", "0 0 0 * * 0"}, {"@daily", "0 0 0 * * *"},    {"@midnight", "0 0 0 * * *"},
      {"@hourly", "0 0 * * * *"}};
  std::string text = text_in;
  if (!text.empty() && text[0] == '@') {
    auto it = kDescriptors.find(text);
    if (it == kDescriptors.end()) {
      return InvalidArgument("'" + text_in +
                             "' is not a descriptor (@yearly, @monthly, @weekly, "
                             "@daily, @hourly)");
    }
    text = it->second;
  }
  std::vector<std::string> fields;
  std::istringstream in(text);
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() == 5) fields.insert(fields.begin(), "0");
  if (fields.size() != 6) {
    return InvalidArgument("'" + text_in + "' has " + std::to_string(fields.size()) +
                           " fields; a cron expression has 6 (SEC MIN HOUR DOM MONTH DOW) or 5 "
                           "(MIN HOUR DOM MONTH DOW)");
  }
  CronSchedule c;
  c.text_ = text_in;
  std::bitset<8> weekdays;
  RETURN_IF_ERROR(parse_field(fields[0], kSecond, c.seconds_, nullptr));
  RETURN_IF_ERROR(parse_field(fields[1], kMinute, c.minutes_, nullptr));
  RETURN_IF_ERROR(parse_field(fields[2], kHour, c.hours_, nullptr));
  RETURN_IF_ERROR(parse_field(fields[3], kDay, c.days_, &c.any_day_));
  RETURN_IF_ERROR(parse_field(fields[4], kMonth, c.months_, nullptr));
  RETURN_IF_ERROR(parse_field(fields[5], kWeekday, weekdays, &c.any_weekday_));
  for (size_t d = 0; d < 7; ++d) c.weekdays_[d] = weekdays[d];
  if (weekdays[7]) c.weekdays_[0] = true;  // 7 is Sunday
  return c;
}

bool CronSchedule::day_matches(int day_of_month, int day_of_week) const {
  const bool dom = days_[static_cast<size_t>(day_of_month)];
  const bool dow = weekdays_[static_cast<size_t>(day_of_week)];
  if (any_day_ && any_weekday_) return true;
  if (any_day_) return dow;
  if (any_weekday_) return dom;
  return dom || dow;
}

std::optional<int64_t> CronSchedule::next_after(int64_t after_ms) const {
  // Walk field by field, coarse to fine, jumping to the next candidate of the
  // first field that does not match (robfig/cron's method); bounded to 5 years.
  int64_t t = after_ms >= 0 ? after_ms / 1000 + 1 : -((-after_ms) / 1000);
  const int64_t limit = t + int64_t{5} * 366 * 24 * 3600;
  while (t <= limit) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    if (!months_[static_cast<size_t>(tm.tm_mon + 1)]) {
      tm.tm_mon += 1;
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      t = to_seconds(tm);
      continue;
    }
    if (!day_matches(tm.tm_mday, tm.tm_wday)) {
      tm.tm_mday += 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      t = to_seconds(tm);
      continue;
    }
    if (!hours_[static_cast<size_t>(tm.tm_hour)]) {
      tm.tm_hour += 1;
      tm.tm_min = tm.tm_sec = 0;
      t = to_seconds(tm);
      continue;
    }
    if (!minutes_[static_cast<size_t>(tm.tm_min)]) {
      tm.tm_min += 1;
      tm.tm_sec = 0;
      t = to_seconds(tm);
      continue;
    }
    if (!seconds_[static_cast<size_t>(tm.tm_sec)]) {
      t += 1;
      continue;
    }
    return t * 1000;
  }
  return std::nullopt;
}

}  // namespace cadre::pipelines
