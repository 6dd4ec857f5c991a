// The reply job's pure parts (jobs/llm_reply): the key a question is cached under, cutting
// long messages by UTF-8 characters, and the booking tools: which a tenant's model gets, and
// the labels and confirmations the contact reads, in the tenant's language and time zone.
#include "jobs/llm_reply/llm_reply.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <regex>
#include <string>
#include <vector>

#include "jobs/llm_reply/tools.hpp"
#include "src/time_format.hpp"

namespace recado::jobs::llm_reply {
namespace {

using json = nlohmann::json;

Timestamp at(const char* rfc3339) {
  const auto t = parse_rfc3339(rfc3339);
  if (!t) ADD_FAILURE() << "not a time: " << rfc3339;
  return t.value_or(Timestamp{});
}

// UTF-8 characters in `s` (bytes that do not continue a character).
size_t chars_in(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// --- normalise_question -----------------------------------------------------------------------

TEST(LlmReplyNormalise, LowerCasesAsciiAndLatin1Capitals) {
  EXPECT_EQ(normalise_question("Qual o ENDEREÇO?"), "qual o endereço");
  EXPECT_EQ(normalise_question("ÁÉÍÓÚ ÂÊÔ ÃÕ À Ç Ñ Ü Ö È Þ"), "áéíóú âêô ãõ à ç ñ ü ö è þ");
  // Small letters stay as they are, accented or not.
  EXPECT_EQ(normalise_question("horário às três"), "horário às três");
  // × (C3 97) sits among the capitals but is not a letter; ß (C3 9F) has no capital here.
  EXPECT_EQ(normalise_question("2×3 ß"), "2×3 ß");
  // Other scripts and emoji pass through byte for byte.
  EXPECT_EQ(normalise_question("Oi 👋 €5"), "oi 👋 €5");
}

TEST(LlmReplyNormalise, RunsOfWhiteSpaceAreOneSpace) {
  EXPECT_EQ(normalise_question("Qual  o\thorário\n\nde   amanhã"), "qual o horário de amanhã");
  EXPECT_EQ(normalise_question(" \t\r\n Oi \r\n"), "oi");
}

TEST(LlmReplyNormalise, PunctuationAndSpaceAreTrimmedAtBothEnds) {
  EXPECT_EQ(normalise_question("Tem vaga amanhã???"), "tem vaga amanhã");
  EXPECT_EQ(normalise_question("...Oi!!!"), "oi");
  EXPECT_EQ(normalise_question("?! Oi . ! ?"), "oi");
  // Inside the text they stay.
  EXPECT_EQ(normalise_question("Tem vaga? Amanhã?"), "tem vaga? amanhã");
  EXPECT_EQ(normalise_question("Dr. Silva atende?"), "dr. silva atende");
  // Other punctuation is not trimmed.
  EXPECT_EQ(normalise_question("¿Dónde?"), "¿dónde");
  EXPECT_EQ(normalise_question("(oi)"), "(oi)");
}

TEST(LlmReplyNormalise, NothingLeftIsEmpty) {
  EXPECT_EQ(normalise_question(""), "");
  EXPECT_EQ(normalise_question("   \t\n"), "");
  EXPECT_EQ(normalise_question("?!."), "");
  EXPECT_EQ(normalise_question(" ? ! . "), "");
}

TEST(LlmReplyNormalise, SpellingsOfOneQuestionShareAKey) {
  const std::string key = normalise_question("Qual o endereço?");
  EXPECT_EQ(normalise_question("  QUAL O ENDEREÇO!! "), key);
  EXPECT_EQ(normalise_question("qual\to\nendereço."), key);
  EXPECT_NE(normalise_question("Qual o endereco?"), key);  // accents are not folded
}

// --- cut_text ---------------------------------------------------------------------------------

TEST(LlmReplyCut, ShorterOrEqualTextIsUnchanged) {
  EXPECT_EQ(cut_text("hello", 10), std::make_pair(std::string("hello"), size_t{5}));
  EXPECT_EQ(cut_text("hello", 5), std::make_pair(std::string("hello"), size_t{5}));
  EXPECT_EQ(cut_text("ação", 4), std::make_pair(std::string("ação"), size_t{4}));
  EXPECT_EQ(cut_text("", 3), std::make_pair(std::string(), size_t{0}));
}

TEST(LlmReplyCut, CountsCharactersNotBytes) {
  // "ação" is 6 bytes and 4 characters.
  EXPECT_EQ(cut_text("ação", 2), std::make_pair(std::string("aç"), size_t{4}));
  EXPECT_EQ(cut_text("ação", 3), std::make_pair(std::string("açã"), size_t{4}));
  EXPECT_EQ(cut_text("hello", 3), std::make_pair(std::string("hel"), size_t{5}));
  // Four-byte characters.
  EXPECT_EQ(cut_text("👍👍👍", 2), std::make_pair(std::string("👍👍"), size_t{3}));
  // 6 characters of 1, 2, 3 and 4 bytes each: all fit in 6, though they are 14 bytes.
  EXPECT_EQ(cut_text("aé€👍bc", 6), std::make_pair(std::string("aé€👍bc"), size_t{6}));
  EXPECT_EQ(cut_text("aé€👍bc", 4), std::make_pair(std::string("aé€👍"), size_t{6}));
}

TEST(LlmReplyCut, LimitZeroKeepsNothingButCountsAll) {
  EXPECT_EQ(cut_text("ação", 0), std::make_pair(std::string(), size_t{4}));
  EXPECT_EQ(cut_text("", 0), std::make_pair(std::string(), size_t{0}));
}

TEST(LlmReplyCut, NeverCutsInsideACharacter) {
  const std::string text = "Olá, ação 👍 às 9h — ñ€";
  const size_t total = chars_in(text);
  ASSERT_EQ(total, 22u);
  for (size_t max = 0; max <= total + 1; ++max) {
    const auto [cut, chars] = cut_text(text, max);
    EXPECT_EQ(chars, total) << max;
    EXPECT_EQ(text.compare(0, cut.size(), cut), 0) << max << ": not a prefix";
    EXPECT_EQ(chars_in(cut), std::min(max, total)) << max;
    // What follows the cut starts a character.
    if (cut.size() < text.size()) {
      EXPECT_NE(static_cast<unsigned char>(text[cut.size()]) & 0xC0, 0x80) << max << ": cut inside a character";
    }
  }
}

// --- booking_tools ----------------------------------------------------------------------------

TenantConfig calcom_tenant() {
  TenantConfig t;
  t.id = "clinic1";
  t.calcom.api_key = {"cal_live_x", "config"};
  t.calcom.event_type_ids = {42};
  return t;
}

TEST(LlmReplyTools, NoToolsWithoutCalcomOrAnEventType) {
  EXPECT_TRUE(booking_tools(TenantConfig{}).empty());
  TenantConfig no_key = calcom_tenant();
  no_key.calcom.api_key = {};
  EXPECT_TRUE(booking_tools(no_key).empty());
  TenantConfig no_event_type = calcom_tenant();
  no_event_type.calcom.event_type_ids.clear();
  EXPECT_TRUE(booking_tools(no_event_type).empty());
}

TEST(LlmReplyTools, FourToolsWithTheirRequiredParameters) {
  const auto tools = booking_tools(calcom_tenant());
  ASSERT_EQ(tools.size(), 4u);
  const std::regex name_pattern("[a-zA-Z0-9_]+");
  struct Expected {
    const char* name;
    std::vector<std::string> properties;
    std::vector<std::string> required;
  };
  const Expected expected[] = {
      {"find_slots", {"date", "days", "part_of_day"}, {}},
      {"book_slot", {"name", "start"}, {"start"}},
      {"cancel_booking", {"booking_uid", "reason"}, {}},
      {"reschedule_booking", {"booking_uid", "start"}, {"start"}},
  };
  for (size_t i = 0; i < tools.size(); ++i) {
    const providers::ToolSpec& tool = tools[i];
    SCOPED_TRACE(tool.name);
    EXPECT_EQ(tool.name, expected[i].name);
    EXPECT_TRUE(std::regex_match(tool.name, name_pattern));
    EXPECT_FALSE(tool.description.empty());
    const json& p = tool.parameters;
    EXPECT_EQ(p.at("type"), "object");
    std::vector<std::string> properties;
    for (const auto& [key, value] : p.at("properties").items()) properties.push_back(key);
    EXPECT_EQ(properties, expected[i].properties);  // nlohmann orders keys
    if (expected[i].required.empty()) {
      EXPECT_FALSE(p.contains("required")) << p.dump();
    } else {
      EXPECT_EQ(p.at("required").get<std::vector<std::string>>(), expected[i].required);
    }
  }
  // find_slots bounds its days and names the parts of the day.
  const json& find = tools[0].parameters.at("properties");
  EXPECT_EQ(find.at("days").at("type"), "integer");
  EXPECT_EQ(find.at("days").at("minimum"), 1);
  EXPECT_EQ(find.at("days").at("maximum"), 14);
  EXPECT_EQ(find.at("part_of_day").at("enum"), json({"morning", "afternoon", "evening"}));
  EXPECT_EQ(tools[1].parameters.at("properties").at("start").at("type"), "string");
}

// --- slot_label and confirmation --------------------------------------------------------------

TenantConfig tenant_speaking(const std::string& language, const std::string& zone = "America/Sao_Paulo") {
  TenantConfig t = calcom_tenant();
  t.llm.language = language;
  t.business_hours.time_zone = zone;
  return t;
}

// Friday 27 November 2026, 09:00 in São Paulo (UTC-3).
constexpr const char* kFriday9am = "2026-11-27T12:00:00Z";

TEST(LlmReplyTools, SlotLabelInTheTenantsLanguageAndZone) {
  const Timestamp t = at(kFriday9am);
  EXPECT_EQ(slot_label(tenant_speaking("pt-BR"), t), "sexta-feira, 27/11/2026 09:00");
  EXPECT_EQ(slot_label(tenant_speaking("es"), t), "viernes, 27/11/2026 09:00");
  EXPECT_EQ(slot_label(tenant_speaking("en"), t), "Friday, 2026-11-27 09:00");
  EXPECT_EQ(slot_label(tenant_speaking("en", "UTC"), t), "Friday, 2026-11-27 12:00");
  // Late evening in São Paulo is already the next day in UTC: the label is the local day.
  EXPECT_EQ(slot_label(tenant_speaking("pt-BR"), at("2026-12-01T02:30:00Z")), "segunda-feira, 30/11/2026 23:30");
}

BookingChange change(BookingChange::Kind kind, const char* start) {
  BookingChange c;
  c.kind = kind;
  c.booking.tenant = "clinic1";
  c.booking.uid = "bk_1";
  c.booking.title = "Limpeza";
  c.booking.start = at(start);
  c.booking.end = c.booking.start + std::chrono::minutes{30};
  return c;
}

TEST(LlmReplyTools, DefaultConfirmationsInPortuguese) {
  const TenantConfig t = tenant_speaking("pt-BR");
  EXPECT_EQ(confirmation(t, change(BookingChange::Kind::booked, kFriday9am), "Ana"),
            "Pronto! Sua consulta está marcada para sexta-feira, 27/11/2026 às 09:00.");
  EXPECT_EQ(confirmation(t, change(BookingChange::Kind::cancelled, kFriday9am), "Ana"),
            "Sua consulta de sexta-feira, 27/11/2026 às 09:00 foi cancelada.");
  EXPECT_EQ(confirmation(t, change(BookingChange::Kind::rescheduled, kFriday9am), "Ana"),
            "Pronto! Sua consulta foi remarcada para sexta-feira, 27/11/2026 às 09:00.");
}

TEST(LlmReplyTools, DefaultConfirmationsInSpanishAndEnglish) {
  const TenantConfig es = tenant_speaking("es-AR");
  EXPECT_EQ(confirmation(es, change(BookingChange::Kind::booked, kFriday9am), ""),
            "¡Listo! Tu cita quedó para el viernes 27/11/2026 a las 09:00.");
  EXPECT_EQ(confirmation(es, change(BookingChange::Kind::cancelled, kFriday9am), ""),
            "Tu cita del viernes 27/11/2026 a las 09:00 fue cancelada.");
  EXPECT_EQ(confirmation(es, change(BookingChange::Kind::rescheduled, kFriday9am), ""),
            "¡Listo! Tu cita pasó al viernes 27/11/2026 a las 09:00.");
  const TenantConfig en = tenant_speaking("en-GB", "Europe/Lisbon");  // UTC+0 in November
  EXPECT_EQ(confirmation(en, change(BookingChange::Kind::booked, kFriday9am), ""),
            "All set! Your appointment is booked for Friday, 2026-11-27 at 12:00.");
  EXPECT_EQ(confirmation(en, change(BookingChange::Kind::cancelled, kFriday9am), ""),
            "Your appointment on Friday, 2026-11-27 at 12:00 is cancelled.");
  EXPECT_EQ(confirmation(en, change(BookingChange::Kind::rescheduled, kFriday9am), ""),
            "Done! Your appointment is moved to Friday, 2026-11-27 at 12:00.");
  // Any other language gets English.
  EXPECT_EQ(confirmation(tenant_speaking("fr", "UTC"), change(BookingChange::Kind::booked, kFriday9am), ""),
            "All set! Your appointment is booked for Friday, 2026-11-27 at 12:00.");
}

TEST(LlmReplyTools, AConfiguredTextWinsForItsKindOnly) {
  TenantConfig t = tenant_speaking("pt-BR");
  t.calcom.booked_text = "Oi {name}! {title} na {tenant}: {weekday}, {date} às {time}.";
  t.calcom.cancelled_text = "Cancelado: {date} {time}";
  EXPECT_EQ(confirmation(t, change(BookingChange::Kind::booked, kFriday9am), "Ana"),
            "Oi Ana! Limpeza na clinic1: sexta-feira, 27/11/2026 às 09:00.");
  EXPECT_EQ(confirmation(t, change(BookingChange::Kind::cancelled, kFriday9am), "Ana"), "Cancelado: 27/11/2026 09:00");
  // No rescheduled_text: the default.
  EXPECT_EQ(confirmation(t, change(BookingChange::Kind::rescheduled, kFriday9am), "Ana"),
            "Pronto! Sua consulta foi remarcada para sexta-feira, 27/11/2026 às 09:00.");
  t.calcom.rescheduled_text = "Nova data: {date}";
  EXPECT_EQ(confirmation(t, change(BookingChange::Kind::rescheduled, "2026-12-01T02:30:00Z"), "Ana"),
            "Nova data: 30/11/2026");
}

// Language tags are case-insensitive: PT-BR picks the Portuguese sentence, as it picks the
// Portuguese date parts (one language_of for both).
TEST(LlmReplyTools, ConfirmationLanguageIgnoresTheTagsCase) {
  EXPECT_EQ(confirmation(tenant_speaking("PT-BR"), change(BookingChange::Kind::booked, kFriday9am), "Ana"),
            "Pronto! Sua consulta está marcada para sexta-feira, 27/11/2026 às 09:00.");
}

}  // namespace
}  // namespace recado::jobs::llm_reply
