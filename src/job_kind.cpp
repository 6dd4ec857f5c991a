#include "src/job_kind.hpp"

namespace recado {

Outcome CallResult::outcome(Timestamp now) const {
  if (refused_until) return Outcome::snooze(*refused_until, "circuit breaker " + breaker + " is open", "breaker_open");
  switch (verdict.type) {
    case CallVerdict::Type::success: return Outcome::complete();
    case CallVerdict::Type::retry:
      return Outcome::retry(verdict.reason,
                            verdict.retry_after ? std::optional<Timestamp>(now + *verdict.retry_after) : std::nullopt);
    case CallVerdict::Type::permanent: return Outcome::discard(verdict.reason);
  }
  return Outcome::discard(verdict.reason);
}

}  // namespace recado
