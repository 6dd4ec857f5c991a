// print_table: columns as wide as their widest cell, two spaces apart, headers upper-cased.
#include "src/table.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace recado {
namespace {

std::string table(const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows) {
  std::ostringstream out;
  print_table(out, headers, rows);
  return out.str();
}

TEST(PrintTable, ColumnsFitTheirWidestCell) {
  EXPECT_EQ(table({"id", "state", "kind"},
                  {{"1", "available", "noop"}, {"1042", "running", "whatsapp_send"}}),
            "ID    STATE      KIND\n"
            "1     available  noop\n"
            "1042  running    whatsapp_send\n");
}

TEST(PrintTable, HeaderWiderThanEveryCell) {
  EXPECT_EQ(table({"attempt", "queue"}, {{"1", "default"}, {"2", "q"}}),
            "ATTEMPT  QUEUE\n"
            "1        default\n"
            "2        q\n");
}

TEST(PrintTable, NoRowsPrintsTheHeaderOnly) {
  EXPECT_EQ(table({"queue", "available"}, {}), "QUEUE  AVAILABLE\n");
}

TEST(PrintTable, LinesHaveNoTrailingSpaces) {
  EXPECT_EQ(table({"id", "error"}, {{"1", ""}, {"2", "timeout"}}),
            "ID  ERROR\n"
            "1\n"
            "2   timeout\n");
}

TEST(PrintTable, ShortRowsAreBlankFilledAndExtraCellsDropped) {
  EXPECT_EQ(table({"a", "b", "c"}, {{"x"}, {"1", "2", "3", "ignored"}}),
            "A  B  C\n"
            "x\n"
            "1  2  3\n");
}

}  // namespace
}  // namespace recado
