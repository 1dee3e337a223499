// The copy buffers of coronet-proxy's pumps. A pump holds one only while it
// moves data (from the moment its source is readable until that source has
// nothing more to give), so an idle session holds none. Every byte the pool
// allocates, in use or kept spare, counts against its limit; at the limit a
// pump waits for a buffer another pump gives back (its source's receive
// window closes meanwhile) instead of the proxy growing.
#pragma once

#include <coronet/runtime/executor.hpp>
#include <coronet/runtime/task.hpp>
#include <coronet/wire/bytes.hpp>
#include <cstddef>
#include <list>
#include <memory>
#include <vector>

namespace coronet::apps {

class buffer_pool {
public:
    // Buffers of buffer_size bytes, at most limit bytes of them (at least one buffer).
    buffer_pool(runtime::executor& ex, std::size_t buffer_size, std::size_t limit);
    buffer_pool(const buffer_pool&) = delete;
    buffer_pool& operator=(const buffer_pool&) = delete;

    // One buffer, given back to the pool when the lease ends.
    class lease {
    public:
        lease() = default;
        lease(buffer_pool& pool, std::unique_ptr<std::byte[]> storage) noexcept
            : pool_(&pool), storage_(std::move(storage)) {}
        lease(lease&& other) noexcept = default;
        lease& operator=(lease&& other) noexcept;
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        ~lease() { give_back(); }
        wire::mut_bytes bytes() const noexcept { return {storage_.get(), pool_ ? pool_->buffer_size_ : 0}; }

    private:
        void give_back() noexcept;
        buffer_pool* pool_ = nullptr;
        std::unique_ptr<std::byte[]> storage_;
    };

    // A buffer: at once when one is spare or the limit allows another, else
    // when another lease ends (first come, first served).
    runtime::task<lease> take();

    std::size_t buffer_size() const noexcept { return buffer_size_; }
    std::size_t limit() const noexcept { return max_buffers_ * buffer_size_; }
    // Bytes allocated now (in use and spare), and the most ever: both at most limit().
    std::size_t allocated() const noexcept { return allocated_ * buffer_size_; }
    std::size_t peak() const noexcept { return peak_ * buffer_size_; }
    std::size_t in_use() const noexcept { return (allocated_ - spare_.size()) * buffer_size_; }
    // Times a pump had to wait for a buffer (the limit was reached).
    std::uint64_t waits() const noexcept { return waits_; }

private:
    struct waiter;
    void give(std::unique_ptr<std::byte[]> storage) noexcept;

    // Spare buffers beyond this many are freed: after a burst the memory goes back.
    static constexpr std::size_t max_spare = 8;

    runtime::executor& ex_;
    std::size_t buffer_size_, max_buffers_;
    std::size_t allocated_ = 0, peak_ = 0;
    std::uint64_t waits_ = 0;
    std::vector<std::unique_ptr<std::byte[]>> spare_;
    std::list<waiter*> waiters_;
};

}  // namespace coronet::apps
