#include <coronet/runtime/timer_queue.hpp>

namespace coronet::runtime {

void timer_queue::insert(timer_node& node) {
    node.order = next_order_++;
    heap_.push_back(&node);
    node.index = heap_.size() - 1;
    sift_up(node.index);
}

void timer_queue::erase(timer_node& node) noexcept {
    if (!node.queued()) return;
    std::size_t i = node.index;
    timer_node* last = heap_.back();
    heap_.pop_back();
    node.index = timer_node::npos;
    if (last == &node) return;
    place(i, last);
    sift_up(i);
    sift_down(last->index);
}

timer_node* timer_queue::pop_expired(time_point now, std::uint64_t before) noexcept {
    if (heap_.empty() || heap_.front()->deadline > now || heap_.front()->order >= before) return nullptr;
    timer_node* n = heap_.front();
    erase(*n);
    return n;
}

void timer_queue::sift_up(std::size_t i) noexcept {
    timer_node* n = heap_[i];
    while (i > 0) {
        std::size_t parent = (i - 1) / 2;
        if (!before(n, heap_[parent])) break;
        place(i, heap_[parent]);
        i = parent;
    }
    place(i, n);
}

void timer_queue::sift_down(std::size_t i) noexcept {
    timer_node* n = heap_[i];
    const std::size_t size = heap_.size();
    for (;;) {
        std::size_t child = 2 * i + 1;
        if (child >= size) break;
        if (child + 1 < size && before(heap_[child + 1], heap_[child])) ++child;
        if (!before(heap_[child], n)) break;
        place(i, heap_[child]);
        i = child;
    }
    place(i, n);
}

}  // namespace coronet::runtime
