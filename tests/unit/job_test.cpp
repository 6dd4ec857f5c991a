// Job states by name: the spelling the database and recadoctl use.
#include "src/job.hpp"

#include <gtest/gtest.h>

namespace recado {
namespace {

constexpr JobState kAllStates[] = {JobState::available, JobState::running,   JobState::retryable,
                                   JobState::completed, JobState::discarded, JobState::cancelled};

TEST(JobState, EachStateHasItsName) {
  EXPECT_EQ(to_string(JobState::available), "available");
  EXPECT_EQ(to_string(JobState::running), "running");
  EXPECT_EQ(to_string(JobState::retryable), "retryable");
  EXPECT_EQ(to_string(JobState::completed), "completed");
  EXPECT_EQ(to_string(JobState::discarded), "discarded");
  EXPECT_EQ(to_string(JobState::cancelled), "cancelled");
}

TEST(JobState, NamesRoundTrip) {
  for (JobState s : kAllStates) EXPECT_EQ(parse_job_state(to_string(s)), s) << to_string(s);
}

TEST(JobState, UnknownNamesDoNotParse) {
  for (const char* name : {"", "Available", "RUNNING", "canceled", "done", "running ", "unknown"})
    EXPECT_EQ(parse_job_state(name), std::nullopt) << "'" << name << "'";
}

TEST(JobState, OnlyCompletedDiscardedAndCancelledAreFinished) {
  EXPECT_FALSE(is_finished(JobState::available));
  EXPECT_FALSE(is_finished(JobState::running));
  EXPECT_FALSE(is_finished(JobState::retryable));
  EXPECT_TRUE(is_finished(JobState::completed));
  EXPECT_TRUE(is_finished(JobState::discarded));
  EXPECT_TRUE(is_finished(JobState::cancelled));
}

TEST(Outcome, FactoriesAndNames) {
  const Timestamp until = from_epoch_micros(1'000'000);
  EXPECT_EQ(to_string(Outcome::complete().type), "complete");
  const Outcome retry = Outcome::retry("503", until);
  EXPECT_EQ(to_string(retry.type), "retry");
  EXPECT_EQ(retry.reason, "503");
  EXPECT_EQ(retry.not_before, until);
  const Outcome snooze = Outcome::snooze(until, "waiting");
  EXPECT_EQ(to_string(snooze.type), "snooze");
  EXPECT_EQ(snooze.not_before, until);
  const Outcome discard = Outcome::discard("bad payload");
  EXPECT_EQ(to_string(discard.type), "discard");
  EXPECT_EQ(discard.not_before, std::nullopt);
}

}  // namespace
}  // namespace recado
