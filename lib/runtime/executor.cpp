#include <coronet/runtime/executor.hpp>
#include <coronet/runtime/log.hpp>

namespace coronet::runtime {

namespace detail {

void detached_promise::unhandled_exception() noexcept { ex->report(name, std::current_exception()); }

void detached_promise::link(executor& e) noexcept {
    ex = &e;
    next = ex->detached_head_;
    if (next) next->prev = this;
    ex->detached_head_ = this;
    ++ex->detached_count_;
}

void detached_promise::unlink() noexcept {
    if (ex == nullptr) return;  // never started
    if (prev)
        prev->next = next;
    else
        ex->detached_head_ = next;
    if (next) next->prev = prev;
    --ex->detached_count_;
}

// The name by value: the root's frame holds it for the promise to point at.
static detached run_detached(task<void> t, std::string) { co_await std::move(t); }

}  // namespace detail

executor::executor()
    : on_error_([](std::string_view name, std::exception_ptr e) {
          try {
              std::rethrow_exception(e);
          } catch (const std::exception& ex) {
              runtime::logger().error("task '{}' failed: {}", name, ex.what());
          } catch (...) {
              runtime::logger().error("task '{}' failed with a non-standard exception", name);
          }
      }) {}

executor::~executor() { destroy_detached(); }

void executor::spawn(task<void> t, std::string name) {
    auto h = detail::run_detached(std::move(t), std::move(name)).release();
    h.promise().link(*this);
    post(h);
}

void executor::start(task<void> t, std::string name) {
    auto h = detail::run_detached(std::move(t), std::move(name)).release();
    h.promise().link(*this);
    h.resume();
}

void executor::start(detached d, const char* name) {
    auto h = d.release();
    h.promise().name = name;
    h.promise().link(*this);
    h.resume();
}

void executor::report(std::string_view name, std::exception_ptr e) {
    if (on_error_) on_error_(name, e);
}

void executor::destroy_detached() noexcept {
    ready_.clear();
    while (detached_head_) {
        auto h = std::coroutine_handle<detail::detached_promise>::from_promise(*detached_head_);
        h.destroy();  // unlinks itself
    }
}

std::size_t executor::run_ready() {
    // Only timers queued before this pass: one that a callback re-arms in the
    // past waits for the next pass, so I/O is never starved by a timer loop.
    const std::uint64_t before = timers_.inserted();
    while (timer_node* n = timers_.pop_expired(now(), before)) n->on_expire(*n);
    // Run only what is ready now: what these coroutines post runs on the next
    // pass, after I/O and timers have had their turn.
    std::size_t resumed = 0;
    for (std::size_t batch = ready_.size(); batch > 0; --batch) {
        auto h = ready_.front();
        ready_.pop_front();
        h.resume();
        ++resumed;
    }
    end_turn();
    return resumed;
}

void executor::at_turn_end(turn_end_node& n) noexcept {
    if (turn_end_queued(n)) return;
    n.next = nullptr;
    n.prev = turn_end_tail_;
    if (turn_end_tail_)
        turn_end_tail_->next = &n;
    else
        turn_end_head_ = &n;
    turn_end_tail_ = &n;
}

void executor::cancel_turn_end(turn_end_node& n) noexcept {
    if (!turn_end_queued(n)) return;
    (n.prev ? n.prev->next : turn_end_head_) = n.next;
    (n.next ? n.next->prev : turn_end_tail_) = n.prev;
    n.next = n.prev = nullptr;
}

void executor::end_turn() {
    while (turn_end_node* n = turn_end_head_) {
        cancel_turn_end(*n);  // first: its work may queue it again
        n->on_turn_end(*n);
    }
    ++turns_;
}

void timer::expire(timer_node& n) {
    auto* self = static_cast<timer*>(n.context);
    self->expired_ = true;
    self->ex_.post(std::exchange(self->waiter_, {}));
}

void event::notify() {
    set_ = true;
    if (!waiter_) return;
    ex_.timers().erase(node_);
    ex_.post(std::exchange(waiter_, {}));
}

void event::expire(timer_node& n) {
    auto* self = static_cast<event*>(n.context);
    self->ex_.post(std::exchange(self->waiter_, {}));
}

}  // namespace coronet::runtime
