#include "src/job.hpp"

#include <array>
#include <utility>

namespace recado {

namespace {
constexpr std::array<std::pair<JobState, std::string_view>, 6> kStateNames{{
    {JobState::available, "available"},
    {JobState::running, "running"},
    {JobState::retryable, "retryable"},
    {JobState::completed, "completed"},
    {JobState::discarded, "discarded"},
    {JobState::cancelled, "cancelled"},
}};
}  // namespace

std::string_view to_string(JobState s) {
  for (const auto& [state, name] : kStateNames)
    if (state == s) return name;
  return "unknown";
}

std::optional<JobState> parse_job_state(std::string_view s) {
  for (const auto& [state, name] : kStateNames)
    if (name == s) return state;
  return std::nullopt;
}

std::string_view to_string(Outcome::Type t) {
  switch (t) {
    case Outcome::Type::complete: return "complete";
    case Outcome::Type::retry: return "retry";
    case Outcome::Type::snooze: return "snooze";
    case Outcome::Type::discard: return "discard";
  }
  return "unknown";
}

}  // namespace recado
