// The providers' webhooks over real HTTP against a real PostgreSQL: each provider's
// authentication and payloads, what lands in recado.inbound, the jobs they start (debounced
// replies, Cal.com syncs), dedup under replays and concurrency, routing, metrics, and what
// the ingress answers while the database is away.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <latch>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/ingress_harness.hpp"
#include "src/conversation_store.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::HttpClient;
using test::HttpResult;
using test::IngressServer;
using test::TestDatabase;

constexpr const char* kJid = "5511987654321@s.whatsapp.net";

class WebhooksTest : public ::testing::Test {
 protected:
  TestDatabase db;
  // clinic: every provider, replies wait 30 s (so jobs stay 'available' to be looked at);
  // quick: Evolution only, replies at once.
  IngressServer server{db.url(), test::webhook_ingress_config(),
                       {test::webhook_tenant("clinic", 30s), test::evolution_only_tenant("quick", 0s)}};
  HttpClient http;

  std::string hook(const std::string& tenant, const std::string& provider, const std::string& rest = "") {
    return server.url("/webhooks/" + tenant + "/" + provider + rest);
  }
  HttpResult evolution(const std::string& body, const std::string& tenant = "clinic") {
    return http.post(hook(tenant, "evolution"), body, test::evolution_token_headers());
  }
  HttpResult cloudapi(const std::string& body) { return http.post(hook("clinic", "cloudapi"), body, test::cloudapi_headers(body)); }
  HttpResult calcom(const std::string& body) { return http.post(hook("clinic", "calcom"), body, test::calcom_headers(body)); }
  HttpResult chatwoot(const std::string& body, int64_t stamp) {
    return http.post(hook("clinic", "chatwoot"), body, test::chatwoot_headers(body, stamp));
  }

  long long inbound() { return db.count("SELECT count(*) FROM recado.inbound"); }
  long long jobs() { return db.count("SELECT count(*) FROM recado.jobs"); }
  // The rows of `sql` as a JSON array of objects.
  json rows(const std::string& sql) {
    return json::parse(db.scalar("SELECT coalesce(json_agg(x), '[]')::text FROM (" + sql + ") x"));
  }
  json row(const std::string& sql) {
    json all = rows(sql);
    EXPECT_EQ(all.size(), 1u) << sql << "\n" << all.dump();
    return all.empty() ? json::object() : all[0];
  }
  // The reply job's run_at in microseconds since the epoch.
  long long reply_run_at() {
    return db.count("SELECT (extract(epoch FROM run_at) * 1000000)::bigint FROM recado.jobs WHERE queue = 'llm_reply'");
  }
};

// 200 with {"accepted":a,"duplicates":d}.
void expect_accepted(const HttpResult& r, int accepted, int duplicates) {
  ASSERT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(json::parse(r.body), (json{{"accepted", accepted}, {"duplicates", duplicates}})) << r.body;
}

// `status` with a non-empty {"error": reason}.
void expect_error(const HttpResult& r, long status) {
  EXPECT_EQ(r.status, status) << r.body << r.error;
  const json body = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object() && body.contains("error") && body["error"].is_string()) << r.body;
  EXPECT_FALSE(body["error"].get<std::string>().empty());
}

// --- Evolution ------------------------------------------------------------------------------

TEST_F(WebhooksTest, EvolutionMessageIsStoredAsSentAndStartsADebouncedReply) {
  // Spacing and key order as a sender might have them: `raw` must be these very bytes.
  const std::string body = R"({"event":"messages.upsert",  "instance":"clinic1",
    "data":{"key":{"remoteJid":"5511987654321@s.whatsapp.net","fromMe":false,"id":"3A55F0C1"},
            "pushName":"Ana Souza","message":{"conversation":"Olá, quero marcar uma consulta"},
            "messageType":"conversation","messageTimestamp":1767225600},
    "date_time":"2026-01-01T00:00:00.000Z","sender":"5511900000000@s.whatsapp.net",
    "server_url":"http://evolution.local","apikey":"evo-instance-key"})";
  expect_accepted(evolution(body), 1, 0);

  const json in = row(
      "SELECT tenant, provider, type, dedup_key, conversation, message_id, sender, sender_name, kind, body, "
      "from_me, chat, detail, extract(epoch FROM occurred_at)::bigint AS occurred, raw, "
      "received_at > now() - interval '1 minute' AS recent FROM recado.inbound");
  EXPECT_EQ(in["tenant"], "clinic");
  EXPECT_EQ(in["provider"], "evolution");
  EXPECT_EQ(in["type"], "message");
  EXPECT_EQ(in["dedup_key"], "msg:clinic1:3A55F0C1");
  EXPECT_EQ(in["conversation"], kJid);
  EXPECT_EQ(in["message_id"], "3A55F0C1");
  EXPECT_EQ(in["sender"], "5511987654321");
  EXPECT_EQ(in["sender_name"], "Ana Souza");
  EXPECT_EQ(in["kind"], "text");
  EXPECT_EQ(in["body"], "Olá, quero marcar uma consulta");
  EXPECT_EQ(in["from_me"], false);
  EXPECT_EQ(in["chat"], "direct");
  EXPECT_EQ(in["detail"], json::object());
  EXPECT_EQ(in["occurred"], 1767225600);
  EXPECT_EQ(in["recent"], true);
  EXPECT_EQ(db.scalar("SELECT raw FROM recado.inbound"), body);

  const json job = row(
      "SELECT queue, kind, state, attempt, sequence_key, dedup_key, dedup_until_started, payload, "
      "run_at = created_at + interval '30 seconds' AS debounced, "
      "extract(epoch FROM run_at - now()) AS wait FROM recado.jobs");
  EXPECT_EQ(job["queue"], "llm_reply");
  EXPECT_EQ(job["kind"], "llm_reply");
  EXPECT_EQ(job["state"], "available");
  EXPECT_EQ(job["attempt"], 0);
  EXPECT_EQ(job["sequence_key"], std::string("conversation:clinic:") + kJid);
  EXPECT_EQ(job["dedup_key"], std::string("llm_reply:clinic:") + kJid);
  EXPECT_EQ(job["dedup_until_started"], true);
  EXPECT_EQ(job["debounced"], true);
  EXPECT_GT(job["wait"].get<double>(), 25.0);
  EXPECT_LE(job["wait"].get<double>(), 30.0);
  EXPECT_EQ(job["payload"]["tenant"], "clinic");
  EXPECT_EQ(job["payload"]["conversation"], kJid);
  EXPECT_EQ(job["payload"]["provider"], "evolution");
}

TEST_F(WebhooksTest, HiddenNumbersAndAwkwardTextSurviveIntact) {
  // A @lid JID hides the number, which comes beside it; the text has quotes, backslashes,
  // braces and commas (PostgreSQL array and JSON syntax), escapes, an emoji and a control
  // character.
  const std::string body = R"({"event":"messages.upsert","instance":"clinic1","data":{"key":{"remoteJid":"123456789012345@lid",)"
                           R"("remoteJidAlt":"5511987654399@s.whatsapp.net","fromMe":false,"id":"LID1"},)"
                           R"("pushName":"Zé \"Aspas\" \\ Barra","message":{"extendedTextMessage":{"text":)"
                           R"("linha 1\nlinha 2\t{a,b} \"q\" \\ \u00e9 \ud83d\ude00 \u0001 fim"}},"messageTimestamp":"1767225600"}})";
  expect_accepted(evolution(body), 1, 0);
  EXPECT_EQ(db.scalar("SELECT raw FROM recado.inbound"), body);
  EXPECT_EQ(db.scalar("SELECT body FROM recado.inbound"), "linha 1\nlinha 2\t{a,b} \"q\" \\ é 😀 \x01 fim");
  EXPECT_EQ(db.scalar("SELECT sender_name FROM recado.inbound"), "Zé \"Aspas\" \\ Barra");
  const json in = row("SELECT conversation, sender, kind, extract(epoch FROM occurred_at)::bigint AS occurred FROM recado.inbound");
  EXPECT_EQ(in["conversation"], "123456789012345@lid");
  EXPECT_EQ(in["sender"], "5511987654399");
  EXPECT_EQ(in["kind"], "text");
  EXPECT_EQ(in["occurred"], 1767225600);
  EXPECT_EQ(db.scalar("SELECT payload->>'conversation' FROM recado.jobs"), "123456789012345@lid");
}

TEST_F(WebhooksTest, EvolutionEventNamesInUpperCaseAreTheSame) {
  json body = json::parse(test::evolution_message("UPPER1", kJid, "oi"));
  body["event"] = "MESSAGES_UPSERT";
  expect_accepted(evolution(body.dump()), 1, 0);
  EXPECT_EQ(inbound(), 1);
  EXPECT_EQ(jobs(), 1);
}

TEST_F(WebhooksTest, EvolutionAcceptsAValidJwtAndRefusesBadOnes) {
  const std::string body = test::evolution_message("JWT1", kJid, "oi");
  const int64_t now = test::unix_now();
  const std::string claims =
      R"({"iat":)" + std::to_string(now) + R"(,"exp":)" + std::to_string(now + 600) + R"(,"app":"evolution","action":"webhook"})";
  auto bearer = [](const std::string& token) { return std::map<std::string, std::string>{{"Authorization", "Bearer " + token}}; };

  expect_error(http.post(hook("clinic", "evolution"), body, bearer(test::make_jwt(claims, "not-the-secret"))), 403);
  const std::string expired = R"({"iat":)" + std::to_string(now - 4000) + R"(,"exp":)" + std::to_string(now - 3400) + "}";
  expect_error(http.post(hook("clinic", "evolution"), body, bearer(test::make_jwt(expired, test::kEvolutionJwtSecret))), 403);
  expect_error(http.post(hook("clinic", "evolution"), body, bearer("not.a.jwt")), 403);
  expect_error(http.post(hook("clinic", "evolution"), body), 401);
  expect_error(http.post(hook("clinic", "evolution"), body, {{"X-Recado-Token", "evo-token-2"}}), 403);
  EXPECT_EQ(inbound(), 0);

  expect_accepted(http.post(hook("clinic", "evolution"), body, bearer(test::make_jwt(claims, test::kEvolutionJwtSecret))), 1, 0);
  EXPECT_EQ(inbound(), 1);
}

TEST_F(WebhooksTest, ReplayedWebhookIsADuplicateAndMovesNothing) {
  const std::string body = test::evolution_message("3A55REPLAY", kJid, "oi");
  expect_accepted(evolution(body), 1, 0);
  const auto run_at = reply_run_at();
  expect_accepted(evolution(body), 0, 1);
  // The same event by other credentials is still the same event.
  const int64_t now = test::unix_now();
  const std::string jwt = test::make_jwt(R"({"iat":)" + std::to_string(now) + "}", test::kEvolutionJwtSecret);
  expect_accepted(http.post(hook("clinic", "evolution"), body, {{"Authorization", "Bearer " + jwt}}), 0, 1);
  EXPECT_EQ(inbound(), 1);
  EXPECT_EQ(jobs(), 1);
  EXPECT_EQ(reply_run_at(), run_at) << "a replay must not push the reply later";
}

TEST_F(WebhooksTest, ConcurrentDuplicatesStoreOneRowAndOneJob) {
  constexpr int kCopies = 20;
  const std::string body = test::evolution_message("3A55TWIN", kJid, "oi");
  std::latch go(kCopies);
  std::vector<HttpResult> results(kCopies);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCopies; ++i) {
    threads.emplace_back([&, i] {
      HttpClient mine;
      mine.get(server.url("/healthz"));  // connected first, so the copies arrive together
      go.arrive_and_wait();
      results[i] = mine.post(hook("clinic", "evolution"), body, test::evolution_token_headers());
    });
  }
  for (auto& th : threads) th.join();
  int accepted = 0, duplicates = 0;
  for (const auto& r : results) {
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    const json j = json::parse(r.body);
    accepted += j["accepted"].get<int>();
    duplicates += j["duplicates"].get<int>();
  }
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(duplicates, kCopies - 1);
  EXPECT_EQ(inbound(), 1);
  EXPECT_EQ(jobs(), 1);
}

TEST_F(WebhooksTest, BurstFromOneContactIsAnsweredOnce) {
  std::vector<long long> run_ats;
  for (int i = 0; i < 5; ++i) {
    expect_accepted(evolution(test::evolution_message("BURST" + std::to_string(i), kJid, "parte " + std::to_string(i))), 1, 0);
    run_ats.push_back(reply_run_at());
  }
  EXPECT_EQ(inbound(), 5);
  ASSERT_EQ(jobs(), 1);
  // The window counts from the first message: later ones join the reply, never delay it.
  for (size_t i = 1; i < run_ats.size(); ++i) EXPECT_EQ(run_ats[i], run_ats[0]) << "message " << i;
  const json job = row(
      "SELECT run_at = (SELECT min(received_at) FROM recado.inbound) + interval '30 seconds' AS after_first "
      "FROM recado.jobs");
  EXPECT_EQ(job["after_first"], true) << "the reply runs one debounce after the first message";
}

TEST_F(WebhooksTest, MessageAfterTheReplyStartedGetsAJobOfItsOwn) {
  expect_accepted(evolution(test::evolution_message("RUN1", kJid, "um")), 1, 0);
  ASSERT_EQ(jobs(), 1);
  // What job_store::claim does to the rows it takes.
  db.scalar("UPDATE recado.jobs SET state = 'running', attempt = attempt + 1, attempted_at = now(), "
            "dedup_key = CASE WHEN dedup_until_started THEN NULL ELSE dedup_key END, "
            "lease_owner = 'test-worker', lease_until = now() + interval '30 seconds'");
  const auto first = db.count("SELECT id FROM recado.jobs");

  expect_accepted(evolution(test::evolution_message("RUN2", kJid, "dois")), 1, 0);
  ASSERT_EQ(jobs(), 2);
  const json second = row(
      "SELECT state, dedup_key, sequence_key, run_at = created_at + interval '30 seconds' AS debounced "
      "FROM recado.jobs WHERE id <> " + std::to_string(first));
  EXPECT_EQ(second["state"], "available");
  EXPECT_EQ(second["dedup_key"], std::string("llm_reply:clinic:") + kJid);
  EXPECT_EQ(second["sequence_key"], std::string("conversation:clinic:") + kJid) << "runs after the first";
  EXPECT_EQ(second["debounced"], true);
  EXPECT_EQ(db.scalar("SELECT state FROM recado.jobs WHERE id = " + std::to_string(first)), "running");

  // A third message joins the waiting job.
  expect_accepted(evolution(test::evolution_message("RUN3", kJid, "três")), 1, 0);
  EXPECT_EQ(jobs(), 2);
  EXPECT_EQ(inbound(), 3);
}

TEST_F(WebhooksTest, OwnGroupAndBroadcastMessagesAreStoredWithoutAReply) {
  expect_accepted(evolution(test::evolution_message("ECHO1", kJid, "nossa resposta", true)), 1, 0);
  json group = json::parse(test::evolution_message("GRP1", "120363025246125486@g.us", "oi grupo"));
  group["data"]["key"]["participant"] = "5511911112222@s.whatsapp.net";
  expect_accepted(evolution(group.dump()), 1, 0);
  expect_accepted(evolution(test::evolution_message("STS1", "status@broadcast", "meu status")), 1, 0);
  json reaction = json::parse(test::evolution_message("REACT1", kJid, ""));
  reaction["data"]["message"] = {{"reactionMessage", {{"text", "👍"}, {"key", {{"id", "ECHO1"}}}}}};
  expect_accepted(evolution(reaction.dump()), 1, 0);
  const std::string status_update = R"({"event":"messages.update","instance":"clinic1",
    "data":{"keyId":"ECHO1","remoteJid":"5511987654321@s.whatsapp.net","fromMe":true,"status":"READ"}})";
  expect_accepted(evolution(status_update), 1, 0);

  EXPECT_EQ(inbound(), 5);
  EXPECT_EQ(jobs(), 0);
  const json stored = rows("SELECT message_id, type, kind, from_me, chat, sender FROM recado.inbound ORDER BY id");
  ASSERT_EQ(stored.size(), 5u);
  EXPECT_EQ(stored[0]["from_me"], true);
  EXPECT_EQ(stored[1]["chat"], "group");
  EXPECT_EQ(stored[1]["sender"], "5511911112222");
  EXPECT_EQ(stored[2]["chat"], "broadcast");
  EXPECT_EQ(stored[3]["kind"], "reaction");
  EXPECT_EQ(stored[4]["type"], "status");
  EXPECT_EQ(stored[4]["kind"], "read");
  EXPECT_EQ(stored[4]["message_id"], "ECHO1");
}

TEST_F(WebhooksTest, TenantWithoutDebounceRepliesAtOnceAndWakesWorkers) {
  test::WakeupListener wakeups(db.url());
  expect_accepted(evolution(test::evolution_message("NOW1", kJid, "oi"), "quick"), 1, 0);
  const json job = row("SELECT run_at = created_at AS now, payload->>'tenant' AS tenant, sequence_key FROM recado.jobs");
  EXPECT_EQ(job["now"], true);
  EXPECT_EQ(job["tenant"], "quick");
  EXPECT_EQ(job["sequence_key"], std::string("conversation:quick:") + kJid);
  EXPECT_TRUE(wakeups.woken("llm_reply"));
}

TEST_F(WebhooksTest, TenantsAreKeptApart) {
  const std::string body = test::evolution_message("SAME1", kJid, "oi");
  expect_accepted(evolution(body, "clinic"), 1, 0);
  expect_accepted(evolution(body, "quick"), 1, 0);
  EXPECT_EQ(inbound(), 2);
  EXPECT_EQ(jobs(), 2);
  EXPECT_EQ(db.scalar("SELECT string_agg(payload->>'tenant', ',' ORDER BY payload->>'tenant') FROM recado.jobs"),
            "clinic,quick");
}

// --- WhatsApp Cloud API ---------------------------------------------------------------------

const std::string kCloudBatch = R"({"object":"whatsapp_business_account","entry":[
  {"id":"WABA1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",
    "metadata":{"display_phone_number":"551130000000","phone_number_id":"PN1"},
    "contacts":[{"profile":{"name":"Ana"},"wa_id":"5511987650001"}],
    "messages":[{"from":"5511987650001","id":"wamid.A1","timestamp":"1767225600","type":"text","text":{"body":"Oi"}},
                {"from":"5511987650001","id":"wamid.A2","timestamp":"1767225601","type":"text","text":{"body":"Tudo bem?"}}],
    "statuses":[{"id":"wamid.OUT1","status":"delivered","timestamp":"1767225602","recipient_id":"5511987650003"}]}}]},
  {"id":"WABA2","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",
    "metadata":{"display_phone_number":"551130000000","phone_number_id":"PN1"},
    "contacts":[{"profile":{"name":"Bruno"},"wa_id":"5511987650002"}],
    "messages":[{"from":"5511987650002","id":"wamid.B1","timestamp":"1767225603","type":"image",
                 "image":{"caption":"Exame","id":"media1","mime_type":"image/jpeg"}}],
    "statuses":[{"id":"wamid.OUT2","status":"failed","timestamp":"1767225604","recipient_id":"5511987650004",
                 "errors":[{"code":131047,"title":"Re-engagement message"}]}]}}]}]})";

TEST_F(WebhooksTest, CloudApiBatchStoresEveryEventAndOneReplyPerContact) {
  expect_accepted(cloudapi(kCloudBatch), 5, 0);
  const json stored = rows(
      "SELECT type, dedup_key, conversation, message_id, sender, sender_name, kind, body, from_me, detail, "
      "extract(epoch FROM occurred_at)::bigint AS occurred FROM recado.inbound ORDER BY message_id");
  ASSERT_EQ(stored.size(), 5u) << stored.dump();
  // wamid.A1, wamid.A2, wamid.B1, wamid.OUT1, wamid.OUT2
  EXPECT_EQ(stored[0]["type"], "message");
  EXPECT_EQ(stored[0]["dedup_key"], "msg:PN1:wamid.A1");
  EXPECT_EQ(stored[0]["conversation"], "5511987650001");
  EXPECT_EQ(stored[0]["sender_name"], "Ana");
  EXPECT_EQ(stored[0]["body"], "Oi");
  EXPECT_EQ(stored[0]["occurred"], 1767225600);
  EXPECT_EQ(stored[2]["kind"], "image");
  EXPECT_EQ(stored[2]["body"], "Exame");
  EXPECT_EQ(stored[2]["sender_name"], "Bruno");
  EXPECT_EQ(stored[3]["type"], "status");
  EXPECT_EQ(stored[3]["kind"], "delivered");
  EXPECT_EQ(stored[3]["dedup_key"], "status:PN1:wamid.OUT1:delivered");
  EXPECT_EQ(stored[3]["from_me"], true);
  EXPECT_EQ(stored[4]["type"], "status");
  EXPECT_EQ(stored[4]["kind"], "failed");
  EXPECT_EQ(stored[4]["detail"]["errors"][0]["code"], 131047);
  EXPECT_EQ(db.count("SELECT count(DISTINCT raw) FROM recado.inbound"), 1);
  EXPECT_EQ(db.scalar("SELECT min(raw) FROM recado.inbound"), kCloudBatch) << "every event keeps the body it came in";

  const json replies = rows("SELECT payload->>'conversation' AS conversation, payload->>'provider' AS provider "
                            "FROM recado.jobs WHERE queue = 'llm_reply' ORDER BY 1");
  EXPECT_EQ(replies, json::parse(R"([{"conversation":"5511987650001","provider":"cloudapi"},
                                      {"conversation":"5511987650002","provider":"cloudapi"}])"));
  EXPECT_EQ(jobs(), 2);

  // Meta retries the whole notification: nothing new.
  expect_accepted(cloudapi(kCloudBatch), 0, 5);
  EXPECT_EQ(inbound(), 5);
  EXPECT_EQ(jobs(), 2);
}

TEST_F(WebhooksTest, CloudApiSignatureIsRequiredAndChecked) {
  expect_accepted(cloudapi(kCloudBatch), 5, 0);
  const long long rows_before = inbound(), jobs_before = jobs();
  std::string other = kCloudBatch;
  for (const char* id : {"wamid.A1", "wamid.A2", "wamid.B1", "wamid.OUT1", "wamid.OUT2"})
    other.replace(other.find(id), std::string(id).size(), std::string(id) + "x");
  const std::string url = hook("clinic", "cloudapi");

  expect_error(http.post(url, other, test::cloudapi_headers(other, "another-secret")), 403);
  expect_error(http.post(url, other, test::cloudapi_headers(kCloudBatch)), 403);  // signature of another body
  expect_error(http.post(url, other, {{"X-Hub-Signature-256", test::cloudapi_headers(other).begin()->second.substr(7)}}),
               403);  // no sha256= prefix
  expect_error(http.post(url, other, {{"X-Hub-Signature-256", "sha256=zz"}}), 403);
  expect_error(http.post(url, other), 401);
  EXPECT_EQ(inbound(), rows_before);
  EXPECT_EQ(jobs(), jobs_before);

  // Hex in upper case is the same signature.
  auto headers = test::cloudapi_headers(other);
  for (char& c : headers.begin()->second) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  headers.begin()->second.replace(0, 7, "sha256=");
  expect_accepted(http.post(url, other, headers), 5, 0);
}

TEST_F(WebhooksTest, CloudApiVerificationHandshake) {
  const std::string base = hook("clinic", "cloudapi");
  auto ok = http.get(base + "?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meta-verify");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "1158201444");
  expect_error(http.get(base + "?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong"), 403);
  expect_error(http.get(base + "?hub.mode=subscribe&hub.challenge=1158201444"), 403);
  expect_error(http.get(base + "?hub.mode=unsubscribe&hub.challenge=1158201444&hub.verify_token=meta-verify"), 403);
  // Only what Meta sends comes back: nothing a browser would run.
  expect_error(http.get(base + "?hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=meta-verify"), 400);

  test::RawConnection raw(server.port());
  ASSERT_TRUE(raw.send("GET /webhooks/clinic/cloudapi?hub.verify_token=meta-verify&hub.challenge=abc-123&hub.mode=subscribe "
                       "HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = raw.read_response(5000ms);
  ASSERT_TRUE(r) << raw.received();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "abc-123");
  EXPECT_EQ(r->headers["content-type"].rfind("text/plain", 0), 0u) << r->headers["content-type"];
  EXPECT_EQ(inbound(), 0);
}

// --- Cal.com --------------------------------------------------------------------------------

const std::string kBookingCreated = R"({"triggerEvent":"BOOKING_CREATED","createdAt":"2026-01-02T10:00:00.000Z",
  "payload":{"uid":"bk_9f8e7d","bookingId":91,"title":"Consulta","startTime":"2026-01-05T13:00:00Z",
  "endTime":"2026-01-05T13:30:00Z","status":"ACCEPTED",
  "organizer":{"name":"Dra. Lima","email":"lima@example.com","timeZone":"America/Sao_Paulo"},
  "attendees":[{"name":"Ana","email":"ana@example.com","timeZone":"America/Sao_Paulo"}],
  "responses":{},"metadata":{}}})";

TEST_F(WebhooksTest, CalcomBookingStartsOneSyncJob) {
  expect_accepted(calcom(kBookingCreated), 1, 0);
  const json in = row("SELECT id, type, kind, message_id, dedup_key, detail, "
                      "occurred_at = '2026-01-02T10:00:00Z'::timestamptz AS occurred FROM recado.inbound");
  EXPECT_EQ(in["type"], "booking");
  EXPECT_EQ(in["kind"], "BOOKING_CREATED");
  EXPECT_EQ(in["message_id"], "bk_9f8e7d");
  EXPECT_EQ(in["dedup_key"], "BOOKING_CREATED:bk_9f8e7d");
  EXPECT_EQ(in["detail"]["booking_id"], 91);
  EXPECT_EQ(in["detail"]["startTime"], "2026-01-05T13:00:00Z");
  EXPECT_EQ(in["occurred"], true);

  const json job = row("SELECT queue, kind, state, sequence_key, payload, run_at <= now() AS ready FROM recado.jobs");
  EXPECT_EQ(job["queue"], "calcom_sync");
  EXPECT_EQ(job["kind"], "calcom_sync");
  EXPECT_EQ(job["state"], "available");
  EXPECT_EQ(job["ready"], true);
  EXPECT_EQ(job["sequence_key"], "booking:clinic:bk_9f8e7d");
  EXPECT_EQ(job["payload"]["booking_uid"], "bk_9f8e7d");
  EXPECT_EQ(job["payload"]["tenant"], "clinic");
  EXPECT_EQ(job["payload"]["event"], "BOOKING_CREATED");
  EXPECT_EQ(job["payload"]["inbound_id"], in["id"]);

  expect_accepted(calcom(kBookingCreated), 0, 1);
  EXPECT_EQ(jobs(), 1) << "a replay starts no second sync";

  // A reschedule is news: a new row and a new sync (keyed by the new uid).
  json moved = json::parse(kBookingCreated);
  moved["triggerEvent"] = "BOOKING_RESCHEDULED";
  moved["payload"]["uid"] = "bk_new42";
  moved["payload"]["rescheduleUid"] = "bk_9f8e7d";
  expect_accepted(calcom(moved.dump()), 1, 0);
  EXPECT_EQ(jobs(), 2);
  EXPECT_EQ(db.scalar("SELECT detail->>'reschedule_uid' FROM recado.inbound WHERE message_id = 'bk_new42'"), "bk_9f8e7d");
}

TEST_F(WebhooksTest, CalcomSignatureIsRequired) {
  const std::string url = hook("clinic", "calcom");
  expect_error(http.post(url, kBookingCreated, {{"X-Cal-Signature-256", "no-secret-provided"}}), 403);
  expect_error(http.post(url, kBookingCreated, test::calcom_headers(kBookingCreated, "wrong")), 403);
  expect_error(http.post(url, kBookingCreated, {{"X-Cal-Signature-256", "sha256=" + test::calcom_headers(kBookingCreated).begin()->second}}),
               403);  // Cal.com sends bare hex
  expect_error(http.post(url, kBookingCreated), 401);
  EXPECT_EQ(inbound(), 0);
  EXPECT_EQ(jobs(), 0);
}

// --- Chatwoot -------------------------------------------------------------------------------

const std::string kChatwootOpened = R"({"event":"conversation_status_changed","id":42,"status":"open",
  "timestamp":1767348000,"contact_inbox":{"source_id":"5511987654321"},
  "meta":{"sender":{"phone_number":"+5511987654321"}}})";
const std::string kChatwootAgentMessage = R"({"event":"message_created","id":777,"message_type":"outgoing",
  "private":false,"content":"Olá, aqui é a Maria","sender":{"type":"user","id":1,"name":"Maria"},
  "conversation":{"id":42,"contact_inbox":{"source_id":"5511987654321"}}})";

TEST_F(WebhooksTest, ChatwootHandoffIsStoredAsHandoff) {
  expect_accepted(chatwoot(kChatwootOpened, test::unix_now()), 1, 0);
  expect_accepted(chatwoot(kChatwootAgentMessage, test::unix_now()), 1, 0);
  const json stored = rows("SELECT type, kind, conversation, detail FROM recado.inbound ORDER BY id");
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0]["type"], "handoff");
  EXPECT_EQ(stored[0]["kind"], "opened");
  EXPECT_EQ(stored[0]["conversation"], "5511987654321");
  EXPECT_EQ(stored[1]["type"], "handoff");
  EXPECT_EQ(stored[1]["kind"], "agent_message");
  EXPECT_EQ(stored[1]["detail"]["chatwoot_conversation"], "42");
  EXPECT_EQ(jobs(), 0) << "a human answers now, not the bot";
  expect_accepted(chatwoot(kChatwootAgentMessage, test::unix_now()), 0, 1);
}

TEST_F(WebhooksTest, ChatwootTakesTheConversationFromTheBotAndResolvedGivesItBack) {
  pqxx::connection conn(db.url());
  EXPECT_FALSE(conversation_store::is_handed_off(conn, "clinic", "5511987654321@s.whatsapp.net"));
  expect_accepted(chatwoot(kChatwootOpened, test::unix_now()), 1, 0);
  // The Evolution form of the same person is the same conversation.
  EXPECT_TRUE(conversation_store::is_handed_off(conn, "clinic", "5511987654321@s.whatsapp.net"));
  EXPECT_TRUE(conversation_store::is_handed_off(conn, "clinic", "+5511987654321"));
  EXPECT_FALSE(conversation_store::is_handed_off(conn, "other", "5511987654321"));
  auto listed = conversation_store::list(conn, std::string("clinic"), true, 10);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].contact, "5511987654321");
  EXPECT_EQ(listed[0].handed_off_by, "chatwoot:opened");

  const std::string resolved = R"({"event":"conversation_status_changed","id":42,"status":"resolved",
    "timestamp":1767349000,"contact_inbox":{"source_id":"5511987654321"}})";
  expect_accepted(chatwoot(resolved, test::unix_now()), 1, 0);
  EXPECT_FALSE(conversation_store::is_handed_off(conn, "clinic", "5511987654321"));
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.conversations"), 1);
}

TEST_F(WebhooksTest, ChatwootSignatureAndTimestampAreChecked) {
  const std::string url = hook("clinic", "chatwoot");
  const int64_t now = test::unix_now();
  expect_error(http.post(url, kChatwootOpened, test::chatwoot_headers(kChatwootOpened, now - 600)), 403);  // stale
  expect_error(http.post(url, kChatwootOpened, test::chatwoot_headers(kChatwootOpened, now + 600)), 403);  // future
  expect_error(http.post(url, kChatwootOpened, test::chatwoot_headers(kChatwootOpened, now, "wrong")), 403);
  auto moved = test::chatwoot_headers(kChatwootOpened, now);
  moved["X-Chatwoot-Timestamp"] = std::to_string(now - 1);  // signed for another time
  expect_error(http.post(url, kChatwootOpened, moved), 403);
  auto unstamped = test::chatwoot_headers(kChatwootOpened, now);
  unstamped.erase("X-Chatwoot-Timestamp");
  expect_error(http.post(url, kChatwootOpened, unstamped), 401);
  auto unsigned_ = test::chatwoot_headers(kChatwootOpened, now);
  unsigned_.erase("X-Chatwoot-Signature");
  expect_error(http.post(url, kChatwootOpened, unsigned_), 401);
  EXPECT_EQ(inbound(), 0);
}

// --- Whaticket ------------------------------------------------------------------------------

const std::string kWhaticketMessage = R"({"key":{"remoteJid":"5511987654322@s.whatsapp.net","fromMe":false,"id":"WT-ABC1"},
  "message":{"conversation":"Bom dia"},"messageTimestamp":1767225600,"pushName":"Carla"})";

TEST_F(WebhooksTest, WhaticketTokenInThePath) {
  expect_accepted(http.post(hook("clinic", "whaticket", "/wt-path-token"), kWhaticketMessage), 1, 0);
  const json in = row("SELECT provider, dedup_key, conversation, sender, sender_name, body FROM recado.inbound");
  EXPECT_EQ(in["provider"], "whaticket");
  EXPECT_EQ(in["dedup_key"], "msg:WT-ABC1");
  EXPECT_EQ(in["sender"], "5511987654322");
  EXPECT_EQ(in["sender_name"], "Carla");
  EXPECT_EQ(in["body"], "Bom dia");
  EXPECT_EQ(db.scalar("SELECT payload->>'provider' FROM recado.jobs"), "whaticket");

  expect_error(http.post(hook("clinic", "whaticket", "/wt-path-tokeN"), kWhaticketMessage), 403);
  expect_error(http.post(hook("clinic", "whaticket", "/wt-path-token-and-more"), kWhaticketMessage), 403);
  expect_error(http.post(hook("clinic", "whaticket"), kWhaticketMessage), 401);
  // The header works as well as the path.
  expect_accepted(http.post(hook("clinic", "whaticket"), kWhaticketMessage, {{"X-Recado-Token", "wt-path-token"}}), 0, 1);
  EXPECT_EQ(inbound(), 1);
  EXPECT_EQ(jobs(), 1);
}

// --- What is accepted and dropped, routing ---------------------------------------------------

TEST_F(WebhooksTest, UnusedEventsAreAcknowledgedAndDropped) {
  const std::string connection = R"({"event":"connection.update","instance":"clinic1","data":{"state":"open"}})";
  auto r = evolution(connection);
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = json::parse(r.body);
  ASSERT_TRUE(answer.contains("ignored")) << r.body;
  EXPECT_NE(answer["ignored"].get<std::string>().find("connection.update"), std::string::npos);

  auto ping = calcom(R"({"triggerEvent":"PING","createdAt":"2026-01-02T10:00:00Z","payload":{}})");
  EXPECT_EQ(ping.status, 200);
  EXPECT_TRUE(json::parse(ping.body).contains("ignored")) << ping.body;
  const std::string incoming = R"({"event":"message_created","id":5,"message_type":"incoming","content":"oi",
    "sender":{"type":"contact"},"conversation":{"id":42}})";
  auto contact = chatwoot(incoming, test::unix_now());
  EXPECT_EQ(contact.status, 200);
  EXPECT_TRUE(json::parse(contact.body).contains("ignored")) << contact.body;
  auto other = cloudapi(R"({"object":"page","entry":[]})");
  EXPECT_EQ(other.status, 200);
  EXPECT_TRUE(json::parse(other.body).contains("ignored")) << other.body;

  EXPECT_EQ(inbound(), 0);
  EXPECT_EQ(jobs(), 0);
}

TEST_F(WebhooksTest, RoutingErrors) {
  const std::string body = test::evolution_message("ROUTE1", kJid, "oi");
  const auto auth = test::evolution_token_headers();
  expect_error(http.post(hook("nobody", "evolution"), body, auth), 404);
  expect_error(http.post(hook("clinic", "telegram"), body, auth), 404);
  expect_error(http.post(hook("quick", "cloudapi"), body, test::cloudapi_headers(body)), 404);  // not this tenant's
  expect_error(http.post(server.url("/webhooks/clinic"), body, auth), 404);
  expect_error(http.post(server.url("/webhooks/clinic/evolution/a/b"), body, auth), 404);
  expect_error(http.post(server.url("/webhooks/"), body, auth), 404);
  expect_error(http.request("PUT", hook("clinic", "evolution"), body, auth), 405);
  expect_error(http.request("DELETE", hook("clinic", "evolution"), "", auth), 405);
  expect_error(http.get(hook("clinic", "evolution")), 405);
  expect_error(http.request("PATCH", hook("clinic", "cloudapi"), body, test::cloudapi_headers(body)), 405);
  EXPECT_EQ(inbound(), 0);
  EXPECT_EQ(jobs(), 0);
}

TEST_F(WebhooksTest, MetricsCountRequestsFailuresDuplicatesAndCommits) {
  const std::string body = test::evolution_message("MET1", kJid, "oi");
  expect_accepted(evolution(body), 1, 0);
  expect_accepted(evolution(body), 0, 1);
  expect_error(http.post(hook("clinic", "evolution"), body, {{"X-Recado-Token", "nope"}}), 403);
  expect_error(http.post(hook("nobody", "evolution"), body), 404);
  expect_accepted(cloudapi(kCloudBatch), 5, 0);

  const std::string text = server.metrics();
  auto value = [&](const std::string& series) {
    auto v = test::metric_value(text, series);
    EXPECT_TRUE(v) << series << " missing from\n" << text;
    return v.value_or(-1);
  };
  EXPECT_EQ(value(R"(recado_webhook_requests_total{tenant="clinic",provider="evolution",status="200"})"), 2);
  EXPECT_EQ(value(R"(recado_webhook_requests_total{tenant="clinic",provider="evolution",status="403"})"), 1);
  EXPECT_EQ(value(R"(recado_webhook_requests_total{tenant="clinic",provider="cloudapi",status="200"})"), 1);
  // Names that are not configured do not become labels.
  EXPECT_EQ(value(R"m(recado_webhook_requests_total{tenant="(unknown)",provider="evolution",status="404"})m"), 1);
  EXPECT_EQ(text.find("nobody"), std::string::npos);
  EXPECT_EQ(value(R"(recado_webhook_auth_failures_total{tenant="clinic",provider="evolution"})"), 1);
  EXPECT_EQ(value(R"(recado_webhook_duplicates_total{tenant="clinic",provider="evolution"})"), 1);
  EXPECT_EQ(value(R"(recado_webhook_events_total{tenant="clinic",provider="cloudapi"})"), 5);
  EXPECT_NE(text.find("# TYPE recado_webhook_commit_batch_size histogram"), std::string::npos);
  EXPECT_NE(text.find("# TYPE recado_webhook_commit_seconds histogram"), std::string::npos);
  // Three commits, one webhook each (each was answered before the next was sent).
  EXPECT_EQ(value("recado_webhook_commit_batch_size_count"), 3);
  EXPECT_EQ(value("recado_webhook_commit_batch_size_sum"), 3);
  EXPECT_EQ(value(R"(recado_webhook_commit_batch_size_bucket{le="+Inf"})"), 3);
  EXPECT_EQ(value("recado_webhook_commit_seconds_count"), 3);
  EXPECT_GT(value("recado_webhook_commit_seconds_sum"), 0);
  EXPECT_GE(value("recado_http_connections"), 1);  // the scrape's own
}

// --- The database away ------------------------------------------------------------------------

TEST_F(WebhooksTest, UnreachableDatabaseMeans503NeverAccepted) {
  IngressServer broken("postgresql:///nowhere?host=/nonexistent-socket-dir", test::webhook_ingress_config(),
                       {test::webhook_tenant("clinic", 30s)});
  const std::string body = test::evolution_message("DOWN1", kJid, "oi");
  for (int i = 0; i < 3; ++i) {
    auto r = http.post(broken.url("/webhooks/clinic/evolution"), body, test::evolution_token_headers());
    expect_error(r, 503);
  }
  auto cal = http.post(broken.url("/webhooks/clinic/calcom"), kBookingCreated, test::calcom_headers(kBookingCreated));
  expect_error(cal, 503);
  // Providers retry on 503; say when.
  test::RawConnection raw(broken.port());
  const auto headers = test::evolution_token_headers();
  ASSERT_TRUE(raw.send("POST /webhooks/clinic/evolution HTTP/1.1\r\nHost: x\r\nX-Recado-Token: " +
                       headers.begin()->second + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
  auto r = raw.read_response(10000ms);
  ASSERT_TRUE(r) << raw.received();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->headers["retry-after"], "5");
  expect_error(http.get(broken.url("/readyz")), 503);
  EXPECT_EQ(http.get(broken.url("/healthz")).status, 200);
  // Refusals that need no database are unchanged.
  expect_error(http.post(broken.url("/webhooks/clinic/evolution"), body), 401);
  EXPECT_EQ(inbound(), 0);
}

TEST_F(WebhooksTest, SlowDatabaseMeans503AfterTheCommitTimeout) {
  IngressConfig config = test::webhook_ingress_config();
  config.commit_timeout = 300ms;
  IngressServer slow(db.url(), config, {test::webhook_tenant("clinic", 30s)});
  const std::string body = test::evolution_message("SLOW1", kJid, "oi");
  pqxx::connection locker(db.url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE recado.inbound IN ACCESS EXCLUSIVE MODE");
  const auto start = std::chrono::steady_clock::now();
  const HttpResult r = http.post(slow.url("/webhooks/clinic/evolution"), body, test::evolution_token_headers());
  const auto waited = std::chrono::steady_clock::now() - start;
  lock.commit();  // the table is free again
  expect_error(r, 503);
  EXPECT_GE(waited, 250ms) << "answered before the commit timeout";
  EXPECT_LT(waited, 2s);
  // The commit it gave up on lands late; the provider's retry is then a duplicate.
  ASSERT_TRUE(test::poll_until([&] { return inbound() == 1; }, 5000ms));
  expect_accepted(http.post(slow.url("/webhooks/clinic/evolution"), body, test::evolution_token_headers()), 0, 1);
  EXPECT_EQ(jobs(), 1);
}

TEST_F(WebhooksTest, DatabaseRestartIs503ThenRecovers) {
  expect_accepted(evolution(test::evolution_message("UP1", kJid, "antes")), 1, 0);
  if (!test::stop_server()) GTEST_SKIP() << "RECADO_TEST_DATABASE_URL's server is not ours to stop";
  const std::string body = test::evolution_message("UP2", kJid, "durante");
  HttpResult down = evolution(body);
  HttpResult not_ready = http.get(server.url("/readyz"));
  ASSERT_TRUE(test::start_server());
  expect_error(down, 503);
  expect_error(not_ready, 503);

  // The provider's retry, until the ingress has reconnected.
  HttpResult up;
  ASSERT_TRUE(test::poll_until([&] {
    up = evolution(body);
    return up.status != 503;
  })) << up.body;
  expect_accepted(up, 1, 0);
  EXPECT_TRUE(test::poll_until([&] { return http.get(server.url("/readyz")).status == 200; }));
  EXPECT_EQ(inbound(), 2);
  EXPECT_EQ(jobs(), 1);
}

}  // namespace
}  // namespace recado
