// What the Asio adapters share: asio_bridge (the executors and the wake-up
// they use), to_asio_error, and the pending operations that hold Asio handlers
// until the stack completes them, owned by an io_context service (asio_service.cpp).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>
#include <coronet/runtime/executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>
#include <type_traits>
#include <utility>

namespace coronet {

// The stack's error (generic category, POSIX value) as Asio reports a
// socket's: system category, so `ec == asio::error::connection_reset` holds.
boost::system::error_code to_asio_error(const std::error_code& ec);

// Where coronet meets Asio: the Asio executor completion handlers go
// through, the coronet executor the stack runs on (same thread), and a
// wake-up the adapters call after touching the stack from an Asio handler,
// so that what they queued is sent before the io_context sleeps.
class asio_bridge {
public:
    using executor_type = boost::asio::any_io_executor;
    asio_bridge(executor_type io, runtime::executor& rt, std::function<void()> wake = {})
        : io_(std::move(io)), rt_(&rt), wake_(std::move(wake)) {}

    executor_type get_executor() const noexcept { return io_; }
    runtime::executor& executor() const noexcept { return *rt_; }
    void wake() const {
        if (wake_) wake_();
    }

private:
    executor_type io_;
    runtime::executor* rt_;
    std::function<void()> wake_;
};

namespace detail {

class asio_service;

// Something holding Asio handlers until the stack completes them. The
// io_context's shutdown destroys what it holds, as Asio's own services do:
// a handler owns its coroutine, which may own the very stream holding the
// handler, a cycle nothing else breaks.
class pending_holder {
public:
    pending_holder(const pending_holder&) = delete;
    pending_holder& operator=(const pending_holder&) = delete;
    // Destroys the handlers held, without calling them.
    virtual void drop_pending() noexcept = 0;

protected:
    // Registers with io's execution context; unregisters on destruction.
    explicit pending_holder(const boost::asio::any_io_executor& io);
    ~pending_holder();

private:
    friend class asio_service;
    asio_service* service_ = nullptr;
    pending_holder* prev_ = nullptr;
    pending_holder* next_ = nullptr;
};

std::uint64_t next_operation_id() noexcept;

template <class Handler, class... Args>
class pending_handler;

// One Asio operation waiting for the stack, its handler type-erased so the
// stack side needs no templates. complete() posts the handler with the
// result through its associated executor: never inline in the initiation.
template <class... Args>
class pending_op {
public:
    template <class Handler>
    using for_handler = pending_handler<Handler, Args...>;

    pending_op() noexcept : id_(next_operation_id()) {}
    virtual ~pending_op() = default;
    pending_op(const pending_op&) = delete;
    pending_op& operator=(const pending_op&) = delete;

    virtual void complete(Args... args) = 0;
    // Completion from inside the handler's cancellation slot, which must not
    // be cleared while its own handler runs.
    void cancelled_from_slot() noexcept { keep_slot_ = true; }
    // Tells a stale cancellation from the slot of an earlier operation.
    std::uint64_t id() const noexcept { return id_; }

protected:
    bool keep_slot_ = false;

private:
    std::uint64_t id_;
};

template <class Handler, class... Args>
class pending_handler final : public pending_op<Args...> {
public:
    pending_handler(Handler h, const boost::asio::any_io_executor& io)
        : handler_(std::move(h)), io_(io), work_(boost::asio::make_work_guard(handler_, io_)), io_work_(io_) {}

    void complete(Args... args) override {
        auto slot = boost::asio::get_associated_cancellation_slot(handler_);
        if (!this->keep_slot_ && slot.is_connected()) slot.clear();
        boost::asio::post(io_, boost::asio::append(std::move(handler_), std::move(args)...));
    }

private:
    Handler handler_;
    boost::asio::any_io_executor io_;
    decltype(boost::asio::make_work_guard(std::declval<Handler&>(),
                                          std::declval<boost::asio::any_io_executor&>())) work_;
    boost::asio::executor_work_guard<boost::asio::any_io_executor> io_work_;
};

// The sides of a stream that cancellation names.
enum side : int { read_side = 0, write_side = 1, close_side = 2, accept_side = 0 };

// Installed in a handler's cancellation slot: forwards to the core that
// holds the operation (`which` names the read, write or accept side).
template <class Core>
struct canceller {
    canceller(std::weak_ptr<Core> c, int w, std::uint64_t i) : core(std::move(c)), which(w), id(i) {}
    void operator()(boost::asio::cancellation_type_t type) const {
        if (auto c = core.lock()) c->cancel(which, id, type);
    }
    std::weak_ptr<Core> core;
    int which;
    std::uint64_t id;
};

// The type-erased operation for handler.
template <class Op, class Handler>
std::unique_ptr<Op> make_op(Handler handler, const boost::asio::any_io_executor& io) {
    return std::make_unique<typename Op::template for_handler<Handler>>(std::move(handler), io);
}

// The same, and when the handler has a connected cancellation slot,
// cancelling it reaches core's `which` side.
template <class Op, class Core, class Handler>
std::unique_ptr<Op> make_op(Handler handler, const boost::asio::any_io_executor& io, const std::shared_ptr<Core>& core,
                            int which) {
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    auto op = make_op<Op>(std::move(handler), io);
    if (core && slot.is_connected()) slot.template emplace<canceller<Core>>(core, which, op->id());
    return op;
}

}  // namespace detail

}  // namespace coronet
