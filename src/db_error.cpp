#include "src/db_error.hpp"

#include <pqxx/pqxx>

namespace recado {

DbError translate_db_exception(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const pqxx::broken_connection& x) {
    return {DbError::Kind::connection, x.what(), {}};
  } catch (const pqxx::in_doubt_error& x) {
    return {DbError::Kind::in_doubt, x.what(), {}};
  } catch (const pqxx::unique_violation& x) {
    return {DbError::Kind::unique_violation, x.what(), x.sqlstate()};
  } catch (const pqxx::serialization_failure& x) {
    return {DbError::Kind::conflict, x.what(), {}};
  } catch (const pqxx::deadlock_detected& x) {
    return {DbError::Kind::conflict, x.what(), {}};
  } catch (const pqxx::sql_error& x) {
    // Class 08 is connection trouble even when libpqxx reports it as an SQL error.
    const std::string state = x.sqlstate();
    if (state.rfind("08", 0) == 0 || state == "57P01")
      return {DbError::Kind::connection, x.what(), state};
    return {DbError::Kind::query, x.what(), state};
  } catch (const std::exception& x) {
    return {DbError::Kind::other, x.what(), {}};
  } catch (...) {
    return {DbError::Kind::other, "unknown exception", {}};
  }
}

}  // namespace recado
