#pragma once
// Plain-text tables for people: columns sized to their widest cell.
#include <ostream>
#include <string>
#include <vector>

namespace recado {

void print_table(std::ostream& out, const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows);

}  // namespace recado
