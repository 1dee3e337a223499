// The two ways to open an asio_stream: asio_acceptor, which accepts from a
// coronet listener, and async_connect, which connects through a tcp_layer.
// The acceptor's state, detail::acceptor_core, is defined in asio_acceptor.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>
#include <coronet/api/asio_service.hpp>
#include <coronet/api/asio_stream.hpp>
#include <coronet/api/connection.hpp>
#include <coronet/runtime/clock.hpp>
#include <coronet/runtime/task.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

namespace coronet {

namespace detail {

using open_op = pending_op<boost::system::error_code, asio_stream>;

// The acceptor's state, shared with the accept waiting in the stack (declared
// here so that async_accept calls it directly). One accept in the stack at a
// time; what it yields after its operation was cancelled waits in stash_ for
// the next one.
class acceptor_core final : public pending_holder, public std::enable_shared_from_this<acceptor_core> {
public:
    acceptor_core(const asio_bridge& bridge, listener l)
        : pending_holder(bridge.get_executor()), bridge_(bridge), listener_(std::move(l)) {}

    void accept(std::unique_ptr<open_op> op);
    // From a handler's cancellation slot: any type aborts the accept.
    void cancel(int which, std::uint64_t id, boost::asio::cancellation_type_t type);
    void cancel_all();
    void close();
    bool is_open() const noexcept { return open_; }
    std::uint16_t port() const noexcept { return listener_.port(); }
    void drop_pending() noexcept override;

private:
    asio_stream not_open() const;
    connection take_stash();
    runtime::task<void> accept_next(std::shared_ptr<acceptor_core> self);

    asio_bridge bridge_;
    listener listener_;
    bool open_ = true;
    bool accepting_ = false;
    std::unique_ptr<open_op> waiter_;
    std::optional<connection> stash_;
};

// Starts connecting through layer; op completes with the stream.
void start_connect(const asio_bridge& bridge, tcp::tcp_layer& layer, endpoint remote,
                   std::optional<runtime::duration> timeout, std::unique_ptr<open_op> op);

}  // namespace detail

// A coronet listener as an Asio-style acceptor of asio_streams.
class asio_acceptor {
public:
    using executor_type = boost::asio::any_io_executor;

    asio_acceptor(const asio_bridge& bridge, listener l);
    asio_acceptor(asio_acceptor&&) noexcept = default;
    asio_acceptor& operator=(asio_acceptor&& other) noexcept;
    // Closes the acceptor (as close()).
    ~asio_acceptor();

    executor_type get_executor() const noexcept { return io_; }

    // The next established connection: handler(ec, asio_stream). Errors:
    // operation_aborted (closed or cancelled while waiting; a connection
    // that arrives after a cancellation is kept for the next accept),
    // already_started when an accept is pending, bad_descriptor once closed.
    template <class AcceptToken>
    auto async_accept(AcceptToken&& token) {
        return boost::asio::async_initiate<AcceptToken, void(boost::system::error_code, asio_stream)>(
            [](auto handler, std::shared_ptr<detail::acceptor_core> core, const executor_type& io) {
                auto op = detail::make_op<detail::open_op>(std::move(handler), io, core, detail::accept_side);
                if (!core) return op->complete(boost::asio::error::bad_descriptor, asio_stream{io});
                core->accept(std::move(op));
            },
            token, core_, io_);
    }

    bool is_open() const noexcept;
    // The port it accepts on, also once closed; 0 for a moved-from acceptor.
    std::uint16_t port() const noexcept { return core_ ? core_->port() : 0; }
    // Completes a pending accept with operation_aborted; stays open.
    void cancel();
    // Stops listening (connections not yet accepted are reset); a pending
    // accept completes with operation_aborted.
    void close();

private:
    executor_type io_;
    std::shared_ptr<detail::acceptor_core> core_;
};

// Opens a connection through layer and completes with it as an asio_stream:
// handler(ec, asio_stream). Errors as coronet::connect (connection_refused,
// timed_out after the SYN retries or `timeout`, host_unreachable, ...). Not
// cancellable: bound it with timeout.
template <class ConnectToken>
auto async_connect(const asio_bridge& bridge, tcp::tcp_layer& layer, endpoint remote,
                   std::optional<runtime::duration> timeout, ConnectToken&& token) {
    return boost::asio::async_initiate<ConnectToken, void(boost::system::error_code, asio_stream)>(
        [](auto handler, const asio_bridge& b, tcp::tcp_layer* l, endpoint to, std::optional<runtime::duration> limit) {
            detail::start_connect(b, *l, to, limit,
                                  detail::make_op<detail::open_op>(std::move(handler), b.get_executor()));
        },
        token, bridge, &layer, remote, timeout);
}

template <class ConnectToken>
auto async_connect(const asio_bridge& bridge, tcp::tcp_layer& layer, endpoint remote, ConnectToken&& token) {
    return async_connect(bridge, layer, remote, std::nullopt, std::forward<ConnectToken>(token));
}

}  // namespace coronet
