// `recado sim send` end to end: the real binary asks a real simulator to post a patient's
// message webhook to a real `recado ingress`, signed with the tenant's credentials from the
// configuration (config/test.yaml's tenant clinic); the message must be stored once and
// start its reply job. Failures (a wrong token, nothing listening, an unknown tenant) exit
// non-zero with a message and store nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include "src/sim_thread.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using test::ChildProcess;
using test::CommandResult;
using test::TestDatabase;

const std::string kTestConfig = std::string(RECADO_SOURCE_DIR) + "/config/test.yaml";

class SimSendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ingress_port = test::free_port();
    ingress = std::make_unique<ChildProcess>(
        std::vector<std::string>{RECADO_BIN, "-c", kTestConfig, "ingress"},
        std::map<std::string, std::string>{{"RECADO_DATABASE_URL", db.url()},
                                           {"RECADO_INGRESS_PORT", std::to_string(ingress_port)}});
    test::HttpClient http;
    ASSERT_TRUE(test::poll_until([&] { return http.get(ingress_url() + "/readyz").status == 200; }))
        << ingress->output();
  }
  void TearDown() override {
    ingress->signal(SIGTERM);
    auto status = ingress->wait(20s);
    ASSERT_TRUE(status) << "did not exit after SIGTERM\n" << ingress->output();
    EXPECT_FALSE(status->crashed()) << ingress->output();
    EXPECT_EQ(status->code, 0) << ingress->output();
  }

  std::string ingress_url() const { return "http://127.0.0.1:" + std::to_string(ingress_port); }

  // recado -c config/test.yaml sim send ARGS, the simulator and ingress found through the
  // configuration (dev.sim_port, ingress.port) unless ARGS say otherwise.
  CommandResult send(std::vector<std::string> args) {
    args.insert(args.begin(), {RECADO_BIN, "-c", kTestConfig, "sim", "send"});
    return test::run_command(std::move(args),
                             {{"RECADO_CONFIG", ""},
                              {"RECADO_DEV_SIM_PORT", std::to_string(sim.port())},
                              {"RECADO_INGRESS_PORT", std::to_string(ingress_port)}},
                             60s);
  }

  long long inbound(const std::string& where = "true") {
    return db.count("SELECT count(*) FROM recado.inbound WHERE " + where);
  }

  TestDatabase db;
  SimulatorThread sim;
  int ingress_port = 0;
  std::unique_ptr<ChildProcess> ingress;
};

TEST_F(SimSendTest, AnEvolutionMessageReachesTheIngressSignedAndStartsItsReply) {
  auto r = send({"--tenant", "clinic", "--from", "+55 11 98765-4321", "--name", "Ana", "Oi,",
                 "quero", "marcar", "uma", "consulta"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("sent     evolution message 3EB0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("from +55 11 98765-4321 (Ana)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("to       " + ingress_url() + "/webhooks/clinic/evolution"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("text     Oi, quero marcar uma consulta"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ingress  200 {\"accepted\":1,\"duplicates\":0}"), std::string::npos)
      << r.out;

  EXPECT_EQ(db.scalar("SELECT tenant || '|' || provider || '|' || type || '|' || sender || '|' || "
                      "sender_name || '|' ||"
                      " body || '|' || from_me FROM recado.inbound"),
            "clinic|evolution|message|5511987654321|Ana|Oi, quero marcar uma consulta|false");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE kind = 'llm_reply' AND "
                     "payload->>'tenant' = 'clinic'"),
            1);

  // Each send is a new message (a fresh id), not a replay.
  auto again = send({"--tenant", "clinic", "--from", "5511987654321", "Ainda", "está", "aí?"});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_EQ(inbound("body = 'Ainda está aí?'"), 1);
  EXPECT_EQ(inbound(), 2);
  EXPECT_EQ(db.count("SELECT count(DISTINCT message_id) FROM recado.inbound"), 2);
}

TEST_F(SimSendTest, CloudApiAndWhaticketMessagesGoToTheGivenIngressAndSimulator) {
  for (const std::string provider : {"cloudapi", "whaticket"}) {
    SCOPED_TRACE(provider);
    auto r = test::run_command({RECADO_BIN, "-c", kTestConfig, "sim", "send", "--sim", sim.url(),
                                "--to", ingress_url() + "/", "--tenant", "clinic", "--provider",
                                provider, "--from", "5511900000042", "Olá"},
                               {{"RECADO_CONFIG", ""}}, 60s);
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("sent     " + provider + " message "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("/webhooks/clinic/" + provider + "\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("ingress  200 "), std::string::npos) << r.out;
    EXPECT_EQ(
        inbound("provider = '" + provider + "' AND sender = '5511900000042' AND body = 'Olá'"), 1);
  }
  EXPECT_EQ(inbound("provider = 'cloudapi' AND message_id LIKE 'wamid.%'"), 1);
}

TEST_F(SimSendTest, AWrongTokenIsRefusedByTheIngressAndExits1) {
  auto r =
      send({"--tenant", "clinic", "--from", "5511987654321", "--token", "not-the-token", "Oi"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("ingress  403 "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("the ingress refused the webhook with 403"), std::string::npos) << r.err;
  auto bad_secret = send({"--tenant", "clinic", "--provider", "cloudapi", "--from", "5511987654321",
                          "--secret", "not-the-secret", "Oi"});
  EXPECT_EQ(bad_secret.code, 1) << bad_secret.out << bad_secret.err;
  EXPECT_NE(bad_secret.out.find("ingress  403 "), std::string::npos) << bad_secret.out;
  EXPECT_EQ(inbound(), 0);
}

TEST_F(SimSendTest, NothingListeningOrAnUnknownTenantExitsNonZeroWithAReason) {
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(test::free_port());
  auto no_sim = send({"--sim", nowhere, "--tenant", "clinic", "--from", "5511987654321", "Oi"});
  EXPECT_EQ(no_sim.code, 1);
  EXPECT_NE(no_sim.err.find("the simulator at " + nowhere + " did not answer"), std::string::npos)
      << no_sim.err;
  EXPECT_EQ(no_sim.out, "");

  auto no_ingress = send({"--to", nowhere, "--tenant", "clinic", "--from", "5511987654321", "Oi"});
  EXPECT_EQ(no_ingress.code, 1);
  EXPECT_NE(no_ingress.out.find("ingress  no answer"), std::string::npos) << no_ingress.out;
  EXPECT_NE(no_ingress.err.find("the ingress at " + nowhere +
                                "/webhooks/clinic/evolution did not answer"),
            std::string::npos)
      << no_ingress.err;

  auto unknown = send({"--tenant", "nope", "--from", "5511987654321", "Oi"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("no tenant 'nope' in the configuration"), std::string::npos)
      << unknown.err;
  EXPECT_NE(unknown.err.find("tenants: clinic"), std::string::npos) << unknown.err;

  auto not_a_phone = send({"--tenant", "clinic", "--from", "ana", "Oi"});
  EXPECT_EQ(not_a_phone.code, 1);
  EXPECT_NE(not_a_phone.err.find(
                "the simulator refused the order (400): message.from must be a phone number"),
            std::string::npos)
      << not_a_phone.err;

  for (const std::vector<std::string>& usage :
       {std::vector<std::string>{"--tenant", "clinic", "--from", "5511987654321"},
        std::vector<std::string>{"--from", "5511987654321", "Oi"},
        std::vector<std::string>{"--tenant", "clinic", "Oi"},
        std::vector<std::string>{"--tenant", "clinic", "--from", "5511987654321", "--provider",
                                 "calcom", "Oi"}}) {
    auto r = send(usage);
    EXPECT_EQ(r.code, 2) << r.out << r.err;
  }
  EXPECT_EQ(inbound(), 0);
}

}  // namespace
}  // namespace recado
