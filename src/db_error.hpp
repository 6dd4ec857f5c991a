#pragma once
// The one place libpqxx's exceptions become values: what kind of failure, and its text.
#include <exception>
#include <string>

namespace recado {

struct DbError {
  enum class Kind {
    connection,        // the connection broke; the work may be retried on a new one
    unique_violation,  // a unique index refused the row
    conflict,          // serialization failure or deadlock; retry the transaction
    in_doubt,          // the commit's outcome is unknown
    timeout,           // no answer in time; the work may still land
    query,             // any other SQL error: a bug or bad input
    other,
  };
  Kind kind = Kind::other;
  std::string message;
  std::string sqlstate;
};

// Call from a catch block: translates the exception in flight.
DbError translate_db_exception(std::exception_ptr e);

}  // namespace recado
