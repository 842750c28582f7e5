// kind: RecurringRun (docs/pipelines.md#schedules): KFP's recurring run in Cadre's
// manifest shape.
#include <cctype>
#include <cstdio>
#include <ctime>

#include "pipelines/cron_schedule.h"
#include "protocol/spec/pipeline_spec.h"
#include "protocol/spec/spec_parsers.h"

namespace cadre::spec {
namespace {

constexpr int32_t kMaxConcurrency = 10;  // KFP's bound

Result<int64_t> time_field(YamlReader& r, const std::string& key) {
  ASSIGN_OR_RETURN(auto text, r.string(key));
  if (!text) return int64_t{0};
  auto ms = parse_rfc3339_ms(*text);
  if (!ms.ok()) return field_error(r.child_path(key), ms.status().message());
  return *ms;
}

}  // namespace

Result<int64_t> parse_rfc3339_ms(const std::string& text) {
  const std::string bad = quote_value(text) + " is not an RFC 3339 time like 2026-11-29T02:00:00Z";
  if (text.size() < 20 || text.size() > 35) return InvalidArgument(bad);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &used) != 6 ||
      used != 19 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60 || year < 1970) {
    return InvalidArgument(bad);
  }
  size_t at = 19;
  if (text[at] == '.') {  // fractional seconds: ignored
    ++at;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) ++at;
  }
  int64_t offset = 0;
  const std::string zone = text.substr(at);
  if (zone == "Z" || zone == "z") {
    offset = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
             std::isdigit(static_cast<unsigned char>(zone[1])) &&
             std::isdigit(static_cast<unsigned char>(zone[2])) &&
             std::isdigit(static_cast<unsigned char>(zone[4])) &&
             std::isdigit(static_cast<unsigned char>(zone[5]))) {
    const int h = (zone[1] - '0') * 10 + (zone[2] - '0');
    const int m = (zone[4] - '0') * 10 + (zone[5] - '0');
    if (h > 23 || m > 59) return InvalidArgument(bad);
    offset = (zone[0] == '+' ? 1 : -1) * (h * 3600 + m * 60);
  } else {
    return InvalidArgument(bad);
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return (static_cast<int64_t>(timegm(&tm)) - offset) * 1000;
}

Result<RecurringRunSpec> parse_recurring_run_spec(YamlReader& top) {
  ASSIGN_OR_RETURN(auto spec, top.map("spec"));
  if (!spec) return field_error("spec", "required");
  RETURN_IF_ERROR(spec->only({"pipelineRef", "parameters", "experiment", "enableCaching", "trigger",
                              "maxConcurrency", "noCatchup", "mode"}));
  RecurringRunSpec out;
  ASSIGN_OR_RETURN(out.run, parse_run_fields(*spec));

  ASSIGN_OR_RETURN(auto trigger, spec->map("trigger"));
  if (!trigger) return field_error("spec.trigger", "required (cronSchedule or periodicSchedule)");
  RETURN_IF_ERROR(trigger->only({"cronSchedule", "periodicSchedule"}));
  ASSIGN_OR_RETURN(auto cron, trigger->map("cronSchedule"));
  ASSIGN_OR_RETURN(auto periodic, trigger->map("periodicSchedule"));
  if (cron.has_value() == periodic.has_value()) {
    return field_error("spec.trigger", "needs exactly one of cronSchedule and periodicSchedule");
  }
  YamlReader& schedule = cron ? *cron : *periodic;
  if (cron) {
    RETURN_IF_ERROR(cron->only({"cron", "startTime", "endTime"}));
    ASSIGN_OR_RETURN(auto text, cron->string("cron"));
    if (!text) return field_error(cron->child_path("cron"), "required (e.g. '0 0 2 * * *')");
    auto parsed = pipelines::CronSchedule::Parse(*text);
    if (!parsed.ok()) return field_error(cron->child_path("cron"), parsed.status().message());
    out.cron = *text;
  } else {
    RETURN_IF_ERROR(periodic->only({"intervalSecond", "startTime", "endTime"}));
    ASSIGN_OR_RETURN(auto interval, periodic->integer("intervalSecond", 1, kMaxSeconds));
    if (!interval) return field_error(periodic->child_path("intervalSecond"), "required");
    out.interval_seconds = *interval;
  }
  ASSIGN_OR_RETURN(out.start_ms, time_field(schedule, "startTime"));
  ASSIGN_OR_RETURN(out.end_ms, time_field(schedule, "endTime"));
  if (out.start_ms && out.end_ms && out.end_ms <= out.start_ms) {
    return field_error(schedule.child_path("endTime"), "must be after startTime");
  }
  RETURN_IF_ERROR(schedule.reject_unknown());
  RETURN_IF_ERROR(trigger->reject_unknown());

  ASSIGN_OR_RETURN(auto concurrency, spec->integer("maxConcurrency", 1, kMaxConcurrency));
  out.max_concurrency = static_cast<int32_t>(concurrency.value_or(1));
  ASSIGN_OR_RETURN(auto no_catchup, spec->boolean("noCatchup"));
  out.no_catchup = no_catchup.value_or(false);
  ASSIGN_OR_RETURN(auto mode, spec->string("mode"));
  if (mode && *mode != "ENABLE" && *mode != "DISABLE") {
    return field_error("spec.mode", quote_value(*mode) + " is not ENABLE or DISABLE");
  }
  out.enabled = !mode || *mode == "ENABLE";
  RETURN_IF_ERROR(spec->reject_unknown());
  return out;
}

}  // namespace cadre::spec
