#include "src/db_pool.hpp"

namespace recado {

DbPool::DbPool(EventLoop& loop, std::string url, int threads) : loop_(loop), url_(std::move(url)) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { thread_main(); });
}

DbPool::~DbPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    tasks_.clear();
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void DbPool::enqueue(Task task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void DbPool::thread_main() {
  std::unique_ptr<pqxx::connection> conn;
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    std::optional<DbError> conn_error;
    if (!conn || !conn->is_open()) {
      conn.reset();
      try {
        conn = std::make_unique<pqxx::connection>(url_);
      } catch (...) {
        conn_error = translate_db_exception(std::current_exception());
        conn_error->kind = DbError::Kind::connection;
      }
    }
    const bool broken = task(conn_error ? nullptr : conn.get(), conn_error ? &*conn_error : nullptr);
    if (broken) conn.reset();
  }
}

}  // namespace recado
