// asio_acceptor and async_connect (asio_acceptor.hpp): accepts and connects
// run as coroutines in the stack and complete their Asio operation with an
// asio_stream; the io_context's shutdown drops an operation still waiting.
#include <coronet/api/asio_acceptor.hpp>

#include "asio_pending.hpp"

namespace coronet {

namespace asio = boost::asio;
using boost::system::error_code;

namespace detail {

// ---- the acceptor -----------------------------------------------------------

void acceptor_core::accept(std::unique_ptr<open_op> op) {
    if (!open_) return finish(op, asio::error::bad_descriptor, not_open());
    if (waiter_) return finish(op, asio::error::already_started, not_open());
    if (stash_) return finish(op, error_code{}, asio_stream{bridge_, take_stash()});
    waiter_ = std::move(op);
    if (!accepting_) {
        accepting_ = true;
        bridge_.executor().start(accept_next(shared_from_this()), "asio accept");
    }
    bridge_.wake();
}

void acceptor_core::cancel(int, std::uint64_t id, asio::cancellation_type_t) {
    if (!waiter_ || waiter_->id() != id) return;
    waiter_->cancelled_from_slot();
    cancel_all();
}

void acceptor_core::cancel_all() {
    if (waiter_) finish(waiter_, asio::error::operation_aborted, not_open());
}

void acceptor_core::close() {
    if (!open_) return;
    open_ = false;
    cancel_all();
    listener_.close();
    stash_.reset();
    bridge_.wake();
}

void acceptor_core::drop_pending() noexcept {
    auto keep = weak_from_this().lock();
    auto waiter = std::move(waiter_);
}

asio_stream acceptor_core::not_open() const { return asio_stream{bridge_.get_executor()}; }

connection acceptor_core::take_stash() {
    connection c = std::move(*stash_);
    stash_.reset();
    return c;
}

runtime::task<void> acceptor_core::accept_next([[maybe_unused]] std::shared_ptr<acceptor_core> self) {
    auto r = co_await listener_.accept();
    accepting_ = false;
    if (!waiter_) {
        if (r && open_) stash_ = std::move(*r);
    } else if (r) {
        finish(waiter_, error_code{}, asio_stream{bridge_, std::move(*r)});
    } else {
        finish(waiter_, to_asio_error(r.error()), not_open());
    }
}

// ---- connect ----------------------------------------------------------------

namespace {

struct connect_state final : pending_holder {
    connect_state(const asio_bridge& b, std::unique_ptr<open_op> o)
        : pending_holder(b.get_executor()), bridge(b), op(std::move(o)) {}
    void drop_pending() noexcept override { op.reset(); }
    asio_bridge bridge;
    std::unique_ptr<open_op> op;
};

runtime::task<void> connect_and_complete(std::unique_ptr<connect_state> s, tcp::tcp_layer& layer, endpoint remote,
                                         std::optional<runtime::duration> timeout) {
    auto r = co_await coronet::connect(layer, remote, timeout);
    if (!s->op) co_return;  // the io_context has shut down
    if (r)
        finish(s->op, error_code{}, asio_stream{s->bridge, std::move(*r)});
    else
        finish(s->op, to_asio_error(r.error()), asio_stream{s->bridge.get_executor()});
}

}  // namespace

void start_connect(const asio_bridge& bridge, tcp::tcp_layer& layer, endpoint remote,
                   std::optional<runtime::duration> timeout, std::unique_ptr<open_op> op) {
    auto s = std::make_unique<connect_state>(bridge, std::move(op));
    bridge.executor().start(connect_and_complete(std::move(s), layer, remote, timeout), "asio connect");
    bridge.wake();
}

}  // namespace detail

// ---- the public class ---------------------------------------------------------

asio_acceptor::asio_acceptor(const asio_bridge& bridge, listener l)
    : io_(bridge.get_executor()), core_(std::make_shared<detail::acceptor_core>(bridge, std::move(l))) {}

asio_acceptor& asio_acceptor::operator=(asio_acceptor&& other) noexcept {
    if (this != &other) {
        close();
        io_ = std::move(other.io_);
        core_ = std::move(other.core_);
    }
    return *this;
}

asio_acceptor::~asio_acceptor() { close(); }

bool asio_acceptor::is_open() const noexcept { return core_ && core_->is_open(); }

void asio_acceptor::cancel() {
    if (core_) core_->cancel_all();
}

void asio_acceptor::close() {
    if (core_) core_->close();
}

}  // namespace coronet
