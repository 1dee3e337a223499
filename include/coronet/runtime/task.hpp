// task<T>: the coroutine type of coronet. Lazy (starts when awaited) and
// move-only; exceptions propagate to the awaiter. A child that completes
// synchronously hands control back without suspending its awaiter, and one
// that completes later resumes its awaiter by symmetric transfer: long chains
// of synchronous co_awaits run in constant stack even where the compiler makes
// no tail calls (GCC at -O0 or under ASan). Frames come from the thread's
// recycling frame allocator (frame_allocator.hpp), not from malloc per call.
#pragma once

#include <coronet/runtime/frame_allocator.hpp>
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace coronet::runtime {

template <class T = void>
class task;

namespace detail {

// How a task was started: by its awaiter's await_suspend (and still inside
// it), or resumed later from the loop.
enum class start_state : unsigned char { not_started, running_inline, finished_inline, running_async };

struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) const noexcept {
        auto& p = h.promise();
        if (p.state_ == start_state::running_inline) {
            // The awaiter is still on the stack below us: let it continue there.
            p.state_ = start_state::finished_inline;
            return std::noop_coroutine();
        }
        return p.continuation_;
    }
    void await_resume() const noexcept {}
};

struct promise_base {
    std::coroutine_handle<> continuation_ = std::noop_coroutine();
    start_state state_ = start_state::not_started;
    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }

    static void* operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void* frame, std::size_t size) noexcept { deallocate_frame(frame, size); }
};

template <class T>
struct promise final : promise_base {
    std::variant<std::monostate, T, std::exception_ptr> result_;

    task<T> get_return_object() noexcept;
    void unhandled_exception() noexcept { result_.template emplace<2>(std::current_exception()); }
    template <class U>
    requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) { result_.template emplace<1>(std::forward<U>(value)); }
    T take() {
        if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
        return std::move(std::get<1>(result_));
    }
};

template <>
struct promise<void> final : promise_base {
    std::exception_ptr error_;

    task<void> get_return_object() noexcept;
    void unhandled_exception() noexcept { error_ = std::current_exception(); }
    void return_void() noexcept {}
    void take() {
        if (error_) std::rethrow_exception(error_);
    }
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
public:
    using promise_type = detail::promise<T>;
    using handle = std::coroutine_handle<promise_type>;

    task() noexcept = default;
    explicit task(handle h) noexcept : h_(h) {}
    task(task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            reset();
            h_ = std::exchange(other.h_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { reset(); }

    bool valid() const noexcept { return static_cast<bool>(h_); }
    bool done() const noexcept { return h_ && h_.done(); }

    // Awaiting a task starts it; the awaiter resumes when it finishes.
    auto operator co_await() && noexcept {
        struct awaiter {
            handle h;
            bool await_ready() const noexcept { return !h || h.done(); }
            bool await_suspend(std::coroutine_handle<> caller) {
                auto& p = h.promise();
                p.continuation_ = caller;
                p.state_ = detail::start_state::running_inline;
                h.resume();
                if (p.state_ == detail::start_state::finished_inline) return false;  // done: caller goes on
                p.state_ = detail::start_state::running_async;
                return true;
            }
            T await_resume() { return h.promise().take(); }
        };
        return awaiter{h_};
    }

    // For runners (spawn, sync_wait): the raw handle; the task keeps ownership.
    handle raw() const noexcept { return h_; }
    // The result of a finished task (rethrows its exception).
    T result() { return h_.promise().take(); }

private:
    void reset() noexcept {
        if (h_) h_.destroy();
        h_ = {};
    }
    handle h_;
};

namespace detail {
template <class T>
task<T> promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<promise<T>>::from_promise(*this)};
}
inline task<void> promise<void>::get_return_object() noexcept {
    return task<void>{std::coroutine_handle<promise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace coronet::runtime
