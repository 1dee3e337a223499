// Deadlines of every waiter on one executor, kept in an intrusive binary heap:
// O(log n) insert and cancel, no allocation per timer (the node lives in the
// waiter). Equal deadlines fire in insertion order, which keeps the simulator
// deterministic.
#pragma once

#include <coronet/runtime/clock.hpp>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace coronet::runtime {

struct timer_node {
    static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
    time_point deadline{};
    std::uint64_t order = 0;
    std::size_t index = npos;  // position in the heap, npos when not queued
    // Called by the executor when the deadline passes (after removal);
    // context is the owner of the node.
    void (*on_expire)(timer_node&) = nullptr;
    void* context = nullptr;

    bool queued() const noexcept { return index != npos; }
};

class timer_queue {
public:
    // Queues node at its deadline; the node must not already be queued.
    void insert(timer_node& node);
    // Removes node if queued; no-op otherwise.
    void erase(timer_node& node) noexcept;
    // The earliest node, or nullptr when empty.
    timer_node* top() const noexcept { return heap_.empty() ? nullptr : heap_.front(); }
    // Removes and returns the earliest node if its deadline is <= now and it
    // was inserted before the insertion count `before`, else nullptr.
    timer_node* pop_expired(time_point now, std::uint64_t before = std::numeric_limits<std::uint64_t>::max()) noexcept;
    // How many inserts there have been (for pop_expired's `before`).
    std::uint64_t inserted() const noexcept { return next_order_; }
    std::size_t size() const noexcept { return heap_.size(); }
    bool empty() const noexcept { return heap_.empty(); }

private:
    static bool before(const timer_node* a, const timer_node* b) noexcept {
        return a->deadline < b->deadline || (a->deadline == b->deadline && a->order < b->order);
    }
    void place(std::size_t i, timer_node* n) noexcept {
        heap_[i] = n;
        n->index = i;
    }
    void sift_up(std::size_t i) noexcept;
    void sift_down(std::size_t i) noexcept;

    std::vector<timer_node*> heap_;
    std::uint64_t next_order_ = 0;
};

}  // namespace coronet::runtime
