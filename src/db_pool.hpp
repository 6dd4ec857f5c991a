#pragma once
// The database threads of a process. libpqxx blocks, so the event loop never calls it:
// it hands work to this pool, each thread runs it on its own connection, and the result
// comes back to the loop through EventLoop::post. Exceptions are translated at this one
// boundary into DbError values.
#include <pqxx/pqxx>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "src/db_error.hpp"
#include "src/event_loop.hpp"

namespace recado {

template <typename T>
struct DbResult {
  std::optional<T> value;
  DbError error;
  bool ok() const { return value.has_value(); }
};

class DbPool {
 public:
  // Opens no connection yet: each thread connects on its first task (and reconnects after
  // a broken connection on its next one).
  DbPool(EventLoop& loop, std::string url, int threads);
  ~DbPool();  // stops the threads; queued work not yet started is dropped
  DbPool(const DbPool&) = delete;
  DbPool& operator=(const DbPool&) = delete;

  // Runs `work` on a database thread; `done` runs later on the loop thread. Loop thread.
  template <typename T>
  void submit(std::function<T(pqxx::connection&)> work, std::function<void(DbResult<T>)> done) {
    enqueue([work = std::move(work), done = std::move(done), this](pqxx::connection* conn,
                                                                   const DbError* conn_error) {
      auto result = std::make_shared<DbResult<T>>();
      if (conn_error) {
        result->error = *conn_error;
      } else {
        try {
          result->value.emplace(work(*conn));
        } catch (...) {
          result->error = translate_db_exception(std::current_exception());
        }
      }
      loop_.post([done, result] { done(std::move(*result)); });
      return result->error.kind == DbError::Kind::connection && !result->ok();
    });
  }

  int size() const { return static_cast<int>(threads_.size()); }

 private:
  // Returns true when the connection should be dropped (it broke).
  using Task = std::function<bool(pqxx::connection*, const DbError*)>;
  void enqueue(Task task);
  void thread_main();

  EventLoop& loop_;
  std::string url_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace recado
