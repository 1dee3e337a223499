// asio_stream: a coronet connection as an Asio AsyncReadStream and
// AsyncWriteStream (async_read, async_write, async_read_until, use_awaitable,
// plain callbacks). Its state, detail::stream_core, is defined in asio_stream.cpp.
#pragma once

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>
#include <coronet/api/asio_service.hpp>
#include <coronet/api/connection.hpp>
#include <coronet/runtime/task.hpp>
#include <coronet/wire/bytes.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace coronet {

namespace detail {

using io_op = pending_op<boost::system::error_code, std::size_t>;
using close_op = pending_op<boost::system::error_code>;

// The stream's state, shared with the coroutines waiting in the stack.
// Declared here so that async_read_some and async_write_some call it
// directly; its members are defined in asio_stream.cpp.
class stream_core final : public pending_holder, public std::enable_shared_from_this<stream_core> {
public:
    stream_core(const asio_bridge& bridge, connection c)
        : pending_holder(bridge.get_executor()), bridge_(bridge), conn_(std::move(c)), open_(conn_.valid()) {}

    void read(boost::asio::mutable_buffer buf, std::unique_ptr<io_op> op);
    // The fast write: whether the send buffer takes n bytes now (open, no
    // write pending or flushing, room for all), then write_now() copies them
    // straight from the caller's buffers, and op completes with n.
    bool can_write_now(std::size_t n) const noexcept;
    std::size_t write_now(wire::bytes data) noexcept;
    void written_now(std::unique_ptr<io_op> op, std::size_t n);
    // A buffer of n bytes for the next write (reusing the last one's storage).
    std::vector<std::byte> staging(std::size_t n);
    void write(std::vector<std::byte> bytes, std::unique_ptr<io_op> op);
    // From a handler's cancellation slot: `which` is read_side, write_side or close_side.
    void cancel(int which, std::uint64_t id, boost::asio::cancellation_type_t type);
    void cancel_all();
    // Starts the graceful close; op (may be null) completes when the peer
    // has acknowledged the FIN.
    void close(std::unique_ptr<close_op> op = nullptr);
    // Half-close; op completes when the peer has acknowledged the FIN.
    void shutdown(std::unique_ptr<close_op> op);
    void abort();
    boost::system::error_code shutdown_write();
    bool is_open() const noexcept { return open_; }
    connection& native() noexcept { return conn_; }
    void drop_pending() noexcept override;

private:
    bool stack_gone() const noexcept;
    runtime::task<void> closing(std::shared_ptr<stream_core> self);
    runtime::task<void> shutting(std::shared_ptr<stream_core> self);
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
    // Closing: closing() runs connection::close() (it keeps this core, and
    // so the connection's accessors, alive until it returns); closer_ is the
    // async_close or async_shutdown waiting for the FIN's acknowledgement.
    bool closing_ = false;
    boost::system::error_code close_result_;  // for an async_close joining a close that ended at once
    std::unique_ptr<close_op> closer_;
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
                if (std::size_t n = write_now(*core, data); n > 0) return core->written_now(std::move(op), n);
                // Copied now: the stack may hold the bytes after a cancelled
                // operation has returned the caller's buffers.
                auto bytes = core->staging(std::min(boost::asio::buffer_size(data), max_write_chunk));
                boost::asio::buffer_copy(boost::asio::buffer(bytes), data);
                core->write(std::move(bytes), std::move(op));
            },
            token, core_, io_, buffers);
    }

    // Graceful close that can be waited for: FIN after the data already
    // written, unread input dropped, pending operations completed with
    // operation_aborted; handler(ec) runs once the peer has acknowledged the
    // FIN, so every byte written has arrived. A program that leaves
    // io_context::run() after close() instead may lose what the stack still
    // held. Errors: connection_reset, timed_out (the peer stopped
    // acknowledging), operation_aborted (abort(), or the handler's
    // cancellation slot: the close goes on), already_started (a close or
    // shutdown is pending), bad_descriptor (closed without waiting, or never open).
    template <class CloseToken>
    auto async_close(CloseToken&& token) {
        return initiate_ending(&detail::stream_core::close, std::forward<CloseToken>(token));
    }
    // Half-close that can be waited for: FIN after the data already written;
    // reading goes on; handler(ec) runs once the peer has acknowledged the
    // FIN. Errors as async_close.
    template <class ShutdownToken>
    auto async_shutdown(ShutdownToken&& token) {
        return initiate_ending(&detail::stream_core::shutdown, std::forward<ShutdownToken>(token));
    }

    bool is_open() const noexcept;
    // Half-close: FIN after the queued data; reading goes on. Errors: the
    // connection's, bad_descriptor once closed.
    boost::system::error_code shutdown_write();
    // Completes the pending operations with operation_aborted; stays open.
    void cancel();
    // Graceful close without waiting (async_close waits): FIN after the data
    // already written, unread input dropped; pending operations complete with
    // operation_aborted. The stack goes on sending while its loop runs.
    void close();
    // Sends RST; pending operations, an async_close included, complete with
    // operation_aborted.
    void abort();
    // The connection's addresses and counters; they stay readable after
    // close() and abort(), and are empty (0.0.0.0:0, zeros) for a stream
    // made without a connection.
    endpoint local() const noexcept;
    endpoint remote() const noexcept;
    tcp::connection_stats stats() const noexcept;
    // The connection (state, endpoints, options); nullptr for a stream made
    // without one (or moved from). valid() until its close completes; its
    // accessors keep working after.
    coronet::connection* native_connection() noexcept;

private:
    // Writes buffers (up to max_write_chunk) buffer by buffer when the send
    // buffer has room for all of them now, without a copy of its own; else 0.
    template <class ConstBufferSequence>
    static std::size_t write_now(detail::stream_core& core, const ConstBufferSequence& buffers) {
        const std::size_t total = std::min(boost::asio::buffer_size(buffers), max_write_chunk);
        if (total == 0 || !core.can_write_now(total)) return 0;
        std::size_t n = 0;
        const auto end = boost::asio::buffer_sequence_end(buffers);
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end && n < max_write_chunk; ++it) {
            const boost::asio::const_buffer b(*it);
            const std::size_t want = std::min(b.size(), max_write_chunk - n);
            const std::size_t took = core.write_now({static_cast<const std::byte*>(b.data()), want});
            n += took;
            if (took < want) break;
        }
        return n;
    }
    template <class Token>
    auto initiate_ending(void (detail::stream_core::*start)(std::unique_ptr<detail::close_op>), Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [start](auto handler, std::shared_ptr<detail::stream_core> core, const executor_type& io) {
                auto op = detail::make_op<detail::close_op>(std::move(handler), io, core, detail::close_side);
                if (!core) return op->complete(boost::asio::error::bad_descriptor);
                ((*core).*start)(std::move(op));
            },
            token, core_, io_);
    }

    executor_type io_;
    std::shared_ptr<detail::stream_core> core_;
};

}  // namespace coronet
