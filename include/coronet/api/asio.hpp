// Asio interop. asio_stream makes a coronet connection an Asio
// AsyncReadStream and AsyncWriteStream (async_read, async_write,
// async_read_until, use_awaitable, plain callbacks); asio_acceptor and
// async_connect open such streams; run_in() drives a coronet loop from an
// asio::io_context, so an Asio program adopts coronet without restructuring.
// Everything runs on one thread: the one that made the loop runs the io_context.
#pragma once

#include <coronet/api/connection.hpp>
#include <coronet/runtime/clock.hpp>
#include <coronet/runtime/executor.hpp>
#include <coronet/runtime/loop.hpp>
#include <coronet/runtime/task.hpp>
#include <coronet/wire/bytes.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

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
    decltype(boost::asio::make_work_guard(std::declval<Handler&>(), std::declval<boost::asio::any_io_executor&>())) work_;
    boost::asio::executor_work_guard<boost::asio::any_io_executor> io_work_;
};

// The sides of a stream that cancellation names.
enum side : int { read_side = 0, write_side = 1, accept_side = 0 };

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
std::unique_ptr<Op> make_op(Handler handler, const boost::asio::any_io_executor& io,
                            const std::shared_ptr<Core>& core, int which) {
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    auto op = make_op<Op>(std::move(handler), io);
    if (core && slot.is_connected()) slot.template emplace<canceller<Core>>(core, which, op->id());
    return op;
}

using io_op = pending_op<boost::system::error_code, std::size_t>;

// The stream's state, shared with the coroutines waiting in the stack; the
// stream's operations start here. Each completes its op (never inline).
class stream_core final : public pending_holder, public std::enable_shared_from_this<stream_core> {
public:
    stream_core(const asio_bridge& bridge, connection c)
        : pending_holder(bridge.get_executor()), bridge_(bridge), conn_(std::move(c)), open_(conn_.valid()) {}

    void read(boost::asio::mutable_buffer buf, std::unique_ptr<io_op> op);
    // A buffer of n bytes for the next write (reusing the last one's storage).
    std::vector<std::byte> staging(std::size_t n);
    void write(std::vector<std::byte> bytes, std::unique_ptr<io_op> op);
    // From a handler's cancellation slot: `which` is read_side or write_side.
    void cancel(int which, std::uint64_t id, boost::asio::cancellation_type_t type);
    void cancel_all();
    void close();
    void abort();
    boost::system::error_code shutdown_write();
    bool is_open() const noexcept { return open_; }
    connection& native() noexcept { return conn_; }
    void drop_pending() noexcept override;

private:
    bool read_ready() const noexcept;
    void deliver_read();
    void start_probe();
    runtime::task<void> probe(std::shared_ptr<stream_core> self);
    void start_flush(std::vector<std::byte> bytes);
    runtime::task<void> flush(std::shared_ptr<stream_core> self, std::vector<std::byte> bytes);
    void abandon_reader();
    void abandon_writer();

    asio_bridge bridge_;
    connection conn_;
    bool open_;
    // Reading. A read that must wait does so in probe(), which reads one byte
    // into probe_: a cancelled read returns the caller's buffer at once, and
    // the byte, if it comes, is kept (stashed_) for the next read.
    std::unique_ptr<io_op> reader_;
    wire::mut_bytes read_buf_;
    bool probing_ = false;
    bool stashed_ = false;
    std::byte probe_{};
    // Writing. The bytes were copied at initiation; flush() hands them to the
    // stack. A write issued while an abandoned one still flushes waits in waiting_.
    std::unique_ptr<io_op> writer_;
    bool flushing_ = false;
    bool writer_owns_flush_ = false;
    std::vector<std::byte> waiting_;
    std::vector<std::byte> spare_;  // the last flush's storage, for the next write
};

// The first non-empty buffer of a sequence (a read fills one buffer, as
// Asio's own stream adapters do).
template <class MutableBufferSequence>
boost::asio::mutable_buffer first_buffer(const MutableBufferSequence& buffers) {
    const auto end = boost::asio::buffer_sequence_end(buffers);
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end; ++it)
        if (boost::asio::mutable_buffer b(*it); b.size() > 0) return b;
    return {};
}

}  // namespace detail

// A coronet connection as an Asio AsyncReadStream / AsyncWriteStream. One
// read and one write may be outstanding at a time (as for Asio sockets).
// Cancellation: close(), abort() and cancel() complete pending operations
// with operation_aborted; so does a handler's cancellation slot (a read
// consumes nothing then; a write stops only for terminal cancellation, and
// bytes it already handed to the stack may still be sent).
class asio_stream {
public:
    using executor_type = boost::asio::any_io_executor;
    static constexpr std::size_t max_write_chunk = 64 * 1024;

    // A stream that is not open (what a failed accept or connect yields).
    explicit asio_stream(executor_type io) : io_(std::move(io)) {}
    // Wraps c; the bridge's executors run on this thread.
    asio_stream(const asio_bridge& bridge, connection c);
    asio_stream(asio_stream&&) noexcept = default;
    // Closes this stream first.
    asio_stream& operator=(asio_stream&& other) noexcept;
    // Closes the stream (as close()).
    ~asio_stream();

    executor_type get_executor() const noexcept { return io_; }

    // Reads at least one byte into the first non-empty buffer: handler(ec, n).
    // Errors: asio::error::eof after the peer's FIN, the connection's error
    // (connection_reset, timed_out, ...), already_started when a read is
    // pending, bad_descriptor once closed.
    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, std::size_t)>(
            [](auto handler, std::shared_ptr<detail::stream_core> core, const executor_type& io,
               boost::asio::mutable_buffer buf) {
                auto op = detail::make_op<detail::io_op>(std::move(handler), io, core, detail::read_side);
                if (!core) return op->complete(boost::asio::error::bad_descriptor, 0);
                core->read(buf, std::move(op));
            },
            token, core_, io_, detail::first_buffer(buffers));
    }

    // Copies up to max_write_chunk bytes of buffers (what one write holds;
    // async_write loops) and completes once the stack's send buffer holds
    // them all: handler(ec, n). Errors:
    // broken_pipe after shutdown_write, the connection's error,
    // already_started when a write is pending, bad_descriptor once closed.
    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
            [](auto handler, std::shared_ptr<detail::stream_core> core, const executor_type& io,
               const ConstBufferSequence& data) {
                auto op = detail::make_op<detail::io_op>(std::move(handler), io, core, detail::write_side);
                if (!core) return op->complete(boost::asio::error::bad_descriptor, 0);
                // Copied now: the stack may hold the bytes after a cancelled
                // operation has returned the caller's buffers.
                auto bytes = core->staging(std::min(boost::asio::buffer_size(data), max_write_chunk));
                boost::asio::buffer_copy(boost::asio::buffer(bytes), data);
                core->write(std::move(bytes), std::move(op));
            },
            token, core_, io_, buffers);
    }

    bool is_open() const noexcept;
    // Half-close: FIN after the queued data; reading goes on. Errors: the
    // connection's, bad_descriptor once closed.
    boost::system::error_code shutdown_write();
    // Completes the pending operations with operation_aborted; stays open.
    void cancel();
    // Graceful close: FIN after the data already written, unread input
    // dropped; pending operations complete with operation_aborted.
    void close();
    // Sends RST; pending operations complete with operation_aborted.
    void abort();
    // The connection (state, endpoints, options); nullptr for a stream made
    // without one, not valid() once closed.
    coronet::connection* native_connection() noexcept;

private:
    executor_type io_;
    std::shared_ptr<detail::stream_core> core_;
};

namespace detail {

using open_op = pending_op<boost::system::error_code, asio_stream>;

// The acceptor's state, shared with the accept waiting in the stack. One
// accept in the stack at a time; what it yields after its operation was
// cancelled waits in stash_ for the next one.
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
            detail::start_connect(b, *l, to, limit, detail::make_op<detail::open_op>(std::move(handler), b.get_executor()));
        },
        token, bridge, &layer, remote, timeout);
}

template <class ConnectToken>
auto async_connect(const asio_bridge& bridge, tcp::tcp_layer& layer, endpoint remote, ConnectToken&& token) {
    return async_connect(bridge, layer, remote, std::nullopt, std::forward<ConnectToken>(token));
}

namespace detail {
class driver_state;
}

// Drives a coronet loop from an asio::io_context (see run_in). Declare it
// after the loop, the stack and the io_context, so that it goes first, and
// the adapters after it. The io_context must go before the stack: its
// coroutines may still own streams. The adapters wake the loop after
// touching the stack; other coronet work started from an Asio handler
// (loop.spawn, loop.submit) calls bridge().wake() after it. loop.stop()
// does not stop the driver: stop() or io_context::stop() does.
class loop_driver {
public:
    explicit loop_driver(boost::asio::io_context& io, runtime::loop& loop);
    ~loop_driver();
    loop_driver(const loop_driver&) = delete;
    loop_driver& operator=(const loop_driver&) = delete;

    // Stops driving: the io_context holds no more work for the loop.
    void stop();
    // What the adapters need (asio_stream, asio_acceptor, async_connect).
    const asio_bridge& bridge() const noexcept { return bridge_; }

private:
    std::shared_ptr<detail::driver_state> state_;
    asio_bridge bridge_;
};

// Runs loop inside io: from now on io.run() (on the loop's thread) reaps
// coronet's io_uring completions, fires its timers and runs its coroutines;
// nothing else needs to call the loop. Throws std::system_error when the
// ring cannot signal an eventfd.
[[nodiscard]] inline loop_driver run_in(boost::asio::io_context& io, runtime::loop& loop) {
    return loop_driver{io, loop};
}

}  // namespace coronet
