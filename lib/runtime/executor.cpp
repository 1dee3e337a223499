#include <coronet/runtime/executor.hpp>
#include <coronet/runtime/log.hpp>

namespace coronet::runtime {

namespace detail {

// The frame of a detached task: registers itself with its executor so that
// shutdown can destroy what is still suspended, and frees itself when done.
struct detached_promise {
    executor& ex;
    std::string name;
    detached_promise* prev = nullptr;
    detached_promise* next = nullptr;

    // The name parameter is a reference: GCC hands it over as an xvalue, clang as an lvalue.
    detached_promise(executor& e, task<void>&, std::string&& n) : ex(e), name(std::move(n)) { link(); }
    detached_promise(executor& e, task<void>&, std::string& n) : ex(e), name(std::move(n)) { link(); }
    static void* operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void* frame, std::size_t size) noexcept { deallocate_frame(frame, size); }

    struct root {
        using promise_type = detached_promise;
        std::coroutine_handle<detached_promise> h;
    };

    root get_return_object() noexcept { return {std::coroutine_handle<detached_promise>::from_promise(*this)}; }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() noexcept {
        struct awaiter {
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<detached_promise> h) const noexcept { h.destroy(); }
            void await_resume() const noexcept {}
        };
        return awaiter{};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { ex.report(name, std::current_exception()); }
    ~detached_promise() { unlink(); }

    void link() noexcept {
        next = ex.detached_head_;
        if (next) next->prev = this;
        ex.detached_head_ = this;
        ++ex.detached_count_;
    }
    void unlink() noexcept {
        if (prev)
            prev->next = next;
        else
            ex.detached_head_ = next;
        if (next) next->prev = prev;
        --ex.detached_count_;
    }
};

// The name by reference: the promise moves it in before the caller returns,
// and the frame holds no second copy (a frame per connection).
static detached_promise::root run_detached(executor&, task<void> t, std::string&&) { co_await std::move(t); }

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
    auto root = detail::run_detached(*this, std::move(t), std::move(name));
    post(root.h);
}

void executor::start(task<void> t, std::string name) {
    auto root = detail::run_detached(*this, std::move(t), std::move(name));
    root.h.resume();
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
    if (n.queued) return;
    n.queued = true;
    n.next = nullptr;
    n.prev = turn_end_tail_;
    if (turn_end_tail_)
        turn_end_tail_->next = &n;
    else
        turn_end_head_ = &n;
    turn_end_tail_ = &n;
}

void executor::cancel_turn_end(turn_end_node& n) noexcept {
    if (!n.queued) return;
    (n.prev ? n.prev->next : turn_end_head_) = n.next;
    (n.next ? n.next->prev : turn_end_tail_) = n.prev;
    n.next = n.prev = nullptr;
    n.queued = false;
}

void executor::end_turn() {
    while (turn_end_node* n = turn_end_head_) {
        cancel_turn_end(*n);  // first: its work may queue it again
        n->on_turn_end(*n);
    }
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
