// inbound_store against a real PostgreSQL: how a batch is inserted. A batch of new events
// goes in without a check per key; one that meets an event stored already is stored again
// with each key checked (the duplicate counted, the rest stored, their jobs right), and the
// batches after it are checked from the start until a quiet window passes. Concurrent
// batches sharing keys store each key once, whichever way they are inserted.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <latch>
#include <thread>
#include <vector>

#include "src/inbound_store.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using test::TestDatabase;

InboundEvent message(const std::string& id, const std::string& chat, const std::string& text) {
  InboundEvent e;
  e.dedup_key = id;
  e.message_id = id;
  e.conversation = chat;
  e.sender = chat.substr(0, chat.find('@'));
  e.kind = "text";
  e.text = text;
  return e;
}

InboundEvent status(const std::string& id, const std::string& of, const std::string& chat) {
  InboundEvent e;
  e.type = InboundEvent::Type::status;
  e.dedup_key = id;
  e.message_id = of;
  e.conversation = chat;
  e.kind = "read";
  return e;
}

InboundWrite webhook(std::vector<InboundEvent> events, const std::string& tenant = "clinic") {
  InboundWrite w;
  w.tenant = tenant;
  w.provider = Provider::evolution;
  w.debounce = 3s;
  w.raw = std::make_shared<const std::string>("{\"raw\":\"" + events.front().dedup_key + "\"}");
  w.events = std::move(events);
  return w;
}

class InboundStoreTest : public ::testing::Test {
 protected:
  std::vector<InboundWritten> store(const std::vector<InboundWrite>& writes, inbound_store::InsertMode& mode) {
    std::set<std::string> wake;
    return inbound_store::store(conn, writes, wake, mode);
  }
  long long rows() { return db.count("SELECT count(*) FROM recado.inbound"); }
  long long replies() { return db.count("SELECT count(*) FROM recado.jobs WHERE kind = 'llm_reply'"); }

  TestDatabase db;
  pqxx::connection conn{db.url()};
};

const std::string ana = "5511900000001@s.whatsapp.net";
const std::string bia = "5511900000002@s.whatsapp.net";
const std::string caio = "5511900000003@s.whatsapp.net";

TEST_F(InboundStoreTest, NewBatchIsStoredWithoutChecksAndLeavesTheModeAlone) {
  inbound_store::InsertMode mode;
  const auto written = store({webhook({message("A1", ana, "oi")}), webhook({message("B1", bia, "olá"), message("B2", bia, "tudo bem?")})}, mode);
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].stored, 1);
  EXPECT_EQ(written[1].stored, 2);
  EXPECT_EQ(written[0].duplicates + written[1].duplicates, 0);
  EXPECT_EQ(rows(), 3);
  EXPECT_EQ(replies(), 2);
  EXPECT_FALSE(mode.checked(std::chrono::steady_clock::now()));
  // Stored in key order, with their raw bodies, text intact.
  EXPECT_EQ(db.scalar("SELECT string_agg(dedup_key, ',' ORDER BY id) FROM recado.inbound"), "A1,B1,B2");
  EXPECT_EQ(db.scalar("SELECT raw FROM recado.inbound WHERE dedup_key = 'B2'"), "{\"raw\":\"B1\"}");
  EXPECT_EQ(db.scalar("SELECT body FROM recado.inbound WHERE dedup_key = 'B2'"), "tudo bem?");
}

TEST_F(InboundStoreTest, BatchMeetingAStoredEventIsStoredAgainCheckedAndTheNextOnesAreChecked) {
  inbound_store::InsertMode mode(1h);
  store({webhook({message("A1", ana, "oi")})}, mode);
  ASSERT_FALSE(mode.checked(std::chrono::steady_clock::now()));

  // A provider's retry of A1 arrives with new messages and a status: the unchecked insert
  // fails on A1, and the batch is stored again checked.
  const auto written = store({webhook({message("B1", bia, "oi, \"boa\" tarde \\o/")}), webhook({message("A1", ana, "oi")}),
                              webhook({message("C1", caio, "bom dia"), status("S1", "X9", caio)})},
                             mode);
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(written[0].stored, 1);
  EXPECT_EQ(written[1].stored, 0);
  EXPECT_EQ(written[1].duplicates, 1);
  EXPECT_EQ(written[2].stored, 2);
  EXPECT_EQ(rows(), 4);
  EXPECT_EQ(replies(), 3) << "one per conversation: Ana's from the first batch, Bia's and Caio's";
  EXPECT_EQ(db.scalar("SELECT body FROM recado.inbound WHERE dedup_key = 'B1'"), "oi, \"boa\" tarde \\o/");
  EXPECT_TRUE(mode.checked(std::chrono::steady_clock::now()));

  // While checked, a batch of new events and one of repeats are both stored right.
  EXPECT_EQ(store({webhook({message("D1", ana, "e amanhã?")})}, mode)[0].stored, 1);
  const auto again = store({webhook({message("D1", ana, "e amanhã?"), message("D2", ana, "às 9h")})}, mode);
  EXPECT_EQ(again[0].stored, 1);
  EXPECT_EQ(again[0].duplicates, 1);
  EXPECT_EQ(rows(), 6);
  EXPECT_EQ(replies(), 3) << "Ana's reply is still waiting and answers her new messages too";
}

TEST(InsertMode, TheCheckedWindowEndsOnItsOwn) {  // no database needed
  inbound_store::InsertMode mode(10s);
  const auto t = std::chrono::steady_clock::time_point{} + 1000s;
  EXPECT_FALSE(mode.checked(t));
  mode.met_stored(t);
  EXPECT_TRUE(mode.checked(t));
  EXPECT_TRUE(mode.checked(t + 9s));
  EXPECT_FALSE(mode.checked(t + 10s));
  mode.met_stored(t + 20s);  // another duplicate starts a new window
  EXPECT_TRUE(mode.checked(t + 29s));
}

TEST_F(InboundStoreTest, TwinsInOneBatchAreOneEvent) {
  inbound_store::InsertMode mode;
  const auto written = store({webhook({message("A1", ana, "oi")}), webhook({message("A1", ana, "oi")})}, mode);
  EXPECT_EQ(written[0].stored, 1);
  EXPECT_EQ(written[1].duplicates, 1);
  EXPECT_EQ(rows(), 1);
  EXPECT_FALSE(mode.checked(std::chrono::steady_clock::now())) << "twins are found before the database";
}

TEST_F(InboundStoreTest, ConcurrentBatchesSharingKeysStoreEachKeyOnce) {
  // Two committers, each with a mode of its own so that both insert unchecked; their batches
  // overlap by half, in opposite orders of arrival, and contacts in common.
  constexpr int kRounds = 30, kPerBatch = 8;
  std::vector<std::vector<InboundWritten>> results[2];
  std::latch start(2);
  auto committer = [&](int who) {
    pqxx::connection c(db.url());
    inbound_store::InsertMode mode(0us);
    start.arrive_and_wait();
    for (int round = 0; round < kRounds; ++round) {
      std::vector<InboundWrite> batch;
      for (int i = 0; i < kPerBatch; ++i) {
        const int k = who == 0 ? i : kPerBatch / 2 + (kPerBatch - 1 - i);  // overlap: k in [4, 8)
        const std::string chat = fmt::format("55119000{:05d}@s.whatsapp.net", k % 5);
        batch.push_back(webhook({message(fmt::format("R{}-{}", round, k), chat, "oi")}));
      }
      std::set<std::string> wake;
      results[who].push_back(inbound_store::store(c, batch, wake, mode));
    }
  };
  std::thread a(committer, 0), b(committer, 1);
  a.join();
  b.join();
  const int distinct = kRounds * (kPerBatch + kPerBatch / 2);
  EXPECT_EQ(rows(), distinct);
  int stored = 0, duplicates = 0;
  for (const auto& side : results)
    for (const auto& batch : side)
      for (const InboundWritten& w : batch) {
        stored += w.stored;
        duplicates += w.duplicates;
      }
  EXPECT_EQ(stored, distinct);
  EXPECT_EQ(duplicates, kRounds * kPerBatch / 2);
  EXPECT_EQ(replies(), 5) << "one waiting reply per contact";
}

}  // namespace
}  // namespace recado
