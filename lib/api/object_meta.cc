#include "lib/api/object_meta.h"

#include <algorithm>
#include <cstdio>

namespace novacron::api {
namespace {

bool parseDigits(std::string_view text, std::size_t pos, std::size_t count, int* out) {
  if (pos + count > text.size()) {
    return false;
  }
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return true;
}

}  // namespace

std::string formatTimestamp(Timestamp time) {
  const auto days = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::year_month_day ymd(days);
  const std::chrono::hh_mm_ss<std::chrono::seconds> hms(time - days);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<Timestamp> parseTimestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!parseDigits(text, 0, 4, &year) || text.size() < 20 || text[4] != '-' ||
      !parseDigits(text, 5, 2, &month) || text[7] != '-' || !parseDigits(text, 8, 2, &day) ||
      (text[10] != 'T' && text[10] != 't') || !parseDigits(text, 11, 2, &hour) || text[13] != ':' ||
      !parseDigits(text, 14, 2, &minute) || text[16] != ':' || !parseDigits(text, 17, 2, &second)) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  if (text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      ++pos;
    }
    if (pos == start) {
      return std::nullopt;
    }
  }
  if (pos >= text.size()) {
    return std::nullopt;
  }
  int offset_minutes = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh = 0;
    int om = 0;
    if (!parseDigits(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !parseDigits(text, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  // Second 60 (leap second) is accepted as RFC3339 allows it, and folds into the next minute.
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  const auto local = std::chrono::sys_days(ymd) + std::chrono::hours(hour) +
                     std::chrono::minutes(minute) + std::chrono::seconds(second);
  return Timestamp(local - std::chrono::minutes(offset_minutes));
}

Timestamp toTimestamp(std::chrono::system_clock::time_point time) {
  return std::chrono::floor<std::chrono::seconds>(time);
}

const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const Condition& condition : conditions) {
    if (condition.type == type) {
      return &condition;
    }
  }
  return nullptr;
}

bool isConditionTrue(const std::vector<Condition>& conditions, std::string_view type) {
  const Condition* condition = findCondition(conditions, type);
  return condition != nullptr && condition->status == ConditionStatus::kTrue;
}

bool setCondition(std::vector<Condition>& conditions, Condition condition, Timestamp now) {
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&](const Condition& c) { return c.type == condition.type; });
  if (it == conditions.end()) {
    if (condition.lastTransitionTime == Timestamp{}) {
      condition.lastTransitionTime = now;
    }
    conditions.push_back(std::move(condition));
    return true;
  }
  bool changed = false;
  if (it->status != condition.status) {
    it->status = condition.status;
    it->lastTransitionTime =
        condition.lastTransitionTime == Timestamp{} ? now : condition.lastTransitionTime;
    changed = true;
  }
  if (it->reason != condition.reason) {
    it->reason = std::move(condition.reason);
    changed = true;
  }
  if (it->message != condition.message) {
    it->message = std::move(condition.message);
    changed = true;
  }
  if (it->observedGeneration != condition.observedGeneration) {
    it->observedGeneration = condition.observedGeneration;
    changed = true;
  }
  return changed;
}

bool removeCondition(std::vector<Condition>& conditions, std::string_view type) {
  const auto before = conditions.size();
  std::erase_if(conditions, [&](const Condition& c) { return c.type == type; });
  return conditions.size() != before;
}

}  // namespace novacron::api
