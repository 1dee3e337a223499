#include "buffer_pool.hpp"

#include <algorithm>

namespace coronet::apps {

// A pump waiting for a buffer. give() hands a buffer straight to the first
// waiter and posts it; a waiter destroyed meanwhile (its coroutine destroyed)
// leaves the queue, and gives back a buffer it was handed but never used.
struct buffer_pool::waiter {
    buffer_pool& pool;
    std::coroutine_handle<> handle{};
    std::unique_ptr<std::byte[]> handed;
    std::list<waiter*>::iterator place{};
    bool queued = false;

    explicit waiter(buffer_pool& p) : pool(p) {}
    waiter(const waiter&) = delete;
    waiter& operator=(const waiter&) = delete;
    ~waiter() {
        if (queued) pool.waiters_.erase(place);
        if (handed) pool.give(std::move(handed));
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        handle = h;
        place = pool.waiters_.insert(pool.waiters_.end(), this);
        queued = true;
    }
    std::unique_ptr<std::byte[]> await_resume() noexcept { return std::move(handed); }
};

buffer_pool::buffer_pool(runtime::executor& ex, std::size_t buffer_size, std::size_t limit)
    : ex_(ex), buffer_size_(buffer_size), max_buffers_(std::max<std::size_t>(1, limit / buffer_size)) {
    spare_.reserve(max_spare);  // give() keeps spares without allocating
}

runtime::task<buffer_pool::lease> buffer_pool::take() {
    if (!spare_.empty()) {
        auto storage = std::move(spare_.back());
        spare_.pop_back();
        co_return lease{*this, std::move(storage)};
    }
    if (allocated_ < max_buffers_) {
        ++allocated_;
        peak_ = std::max(peak_, allocated_);
        // Allocated on the data path, but once per buffer: it is kept spare or reused after.
        co_return lease{*this, std::make_unique_for_overwrite<std::byte[]>(buffer_size_)};
    }
    ++waits_;
    co_return lease{*this, co_await waiter{*this}};
}

void buffer_pool::give(std::unique_ptr<std::byte[]> storage) noexcept {
    if (!waiters_.empty()) {
        waiter* w = waiters_.front();
        waiters_.pop_front();
        w->queued = false;
        w->handed = std::move(storage);
        ex_.post(w->handle);
        return;
    }
    if (spare_.size() < max_spare) {
        spare_.push_back(std::move(storage));
        return;
    }
    --allocated_;  // storage is freed here
}

buffer_pool::lease& buffer_pool::lease::operator=(lease&& other) noexcept {
    if (this != &other) {
        give_back();
        pool_ = std::exchange(other.pool_, nullptr);
        storage_ = std::move(other.storage_);
    }
    return *this;
}

void buffer_pool::lease::give_back() noexcept {
    if (pool_ && storage_) pool_->give(std::move(storage_));
    pool_ = nullptr;
}

}  // namespace coronet::apps
