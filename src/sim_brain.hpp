#pragma once
// The simulator's built-in secretary: how the simulated LLMs answer a request that offers
// tools when no scripted turn is queued (`recado dev`'s tour books through it). A simple,
// deterministic, Portuguese secretary over recado's booking tools. Pure; safe from any thread.
//
// The contract with recado (names fixed on both sides):
//   tools   find_slots {"date":"YYYY-MM-DD"?, "days":int?,
//                       "part_of_day":"morning"|"afternoon"|"evening"?}
//           book_slot {"start":"YYYY-MM-DDTHH:MM" (tenant local time), "name"?}
//           cancel_booking {"booking_uid"?, "reason"?}
//           reschedule_booking {"start":"YYYY-MM-DDTHH:MM", "booking_uid"?}
//   results find_slots: {"time_zone":"...","slots":[{"start":"2026-11-27T09:00",
//           "label":"sexta-feira, 27/11/2026 09:00"}, ...]}; success {"booked":true,...},
//           {"cancelled":true,...}, {"rescheduled":true,...}; errors {"error":"slot_taken"|
//           "invalid_arguments"|"calendar_unavailable"|"no_booking","message":"...",
//           "slots":[...] (slot_taken only)}
//   the system prompt holds "local time YYYY-MM-DDTHH:MM" (now, in the tenant's zone).
//
// The rules, first match wins (a tool is only called when the request offers it):
//   (a) the last message carries tool results → a text about them (an error result first,
//       else the last): slots → "Tenho estes horários livres: <label>; ... Qual prefere?"
//       (at most 6); none → there are none, another day?; slot_taken → that time was just
//       taken, and the other slots offered; another error → an apology quoting its message;
//       booked / cancelled / rescheduled → a short "Pronto! ..." text.
//   (b) the last user message (text folded to lower case):
//       - mentions "cancel" or "desmarc" → cancel_booking {};
//       - names a time ("9h", "9h30", "9:30", "09:00", "às 10", "10 horas") and the latest
//         assistant text holds labels "DD/MM/YYYY HH:MM" → the first label of that hour (and
//         minute, when named) → reschedule_booking {start} when the latest user message
//         stating an intent (this one or an earlier one) says "remarc", else book_slot {start};
//       - mentions "marc", "agend", "horário", "consulta" → find_slots with "date" from
//         "hoje" / "amanhã" / "depois de amanhã" (relative to the system prompt's local time)
//         and then "days":1, "part_of_day" from "manhã" / "tarde" / "noite" (greetings like
//         "boa tarde" do not count).
//   (c) otherwise the deterministic text answer (simulated_answer).
#include "src/sim_llm.hpp"

namespace recado {

LlmAnswer secretary_answer(const LlmPrompt& prompt);

}  // namespace recado
