// asio_stream (asio_stream.hpp) and its state, detail::stream_core: reads
// wait in the stack through a one-byte probe, writes are copied and flushed
// by a coroutine, and cancellation never loses or reorders a byte.
#include <coronet/api/asio_stream.hpp>
#include <coronet/runtime/log.hpp>
#include <coronet/tcp/tcb.hpp>
#include <exception>

#include "asio_pending.hpp"

namespace coronet {

namespace asio = boost::asio;
using boost::system::error_code;

namespace detail {

namespace {

// Runs a stack operation that cannot wait (its readiness was checked) and
// returns its result.
template <class T>
T run_now(runtime::task<T> t) {
    t.raw().resume();
    if (!t.done()) {
        // Destroying it would leave the TCB holding a dead coroutine.
        runtime::logger().critical("coronet asio adapter: an operation that should finish at once is waiting");
        std::terminate();
    }
    return t.result();
}

}  // namespace

void stream_core::read(asio::mutable_buffer buf, std::unique_ptr<io_op> op) {
    if (!open_) return op->complete(asio::error::bad_descriptor, 0);
    if (reader_) return op->complete(asio::error::already_started, 0);
    if (buf.size() == 0) return op->complete(error_code{}, 0);
    reader_ = std::move(op);
    read_buf_ = {static_cast<std::byte*>(buf.data()), buf.size()};
    if (!probing_) {  // else the probe delivers when it returns
        if (stashed_ || read_ready())
            deliver_read();
        else
            start_probe();
    }
    bridge_.wake();
}

// Whether connection::read returns at once: it waits only while the receive
// buffer is empty and the connection open and unfinished.
bool stream_core::read_ready() const noexcept {
    if (!conn_.valid()) return true;
    const tcp::tcb& t = conn_.tcb();
    return t.readable() || t.peer_finished() || t.error() || t.current() == tcp::state::closed;
}

void stream_core::deliver_read() {
    std::size_t n = 0;
    if (stashed_) {
        read_buf_[0] = probe_;
        stashed_ = false;
        n = 1;
    }
    error_code ec;
    if (n < read_buf_.size() && read_ready()) {
        const auto r = conn_.try_read(read_buf_.subspan(n));  // cannot say would-block: read_ready
        if (!r)
            ec = to_asio_error(r.error());
        else if (*r == 0)
            ec = asio::error::eof;
        else
            n += *r;
    }
    // Bytes first: an error or EOF behind them comes with the next read.
    finish(reader_, n > 0 ? error_code{} : ec, n);
}

void stream_core::start_probe() {
    probing_ = true;
    bridge_.executor().start(probe(shared_from_this()), "asio read");
}

runtime::task<void> stream_core::probe([[maybe_unused]] std::shared_ptr<stream_core> self) {
    const auto r = co_await conn_.read({&probe_, 1});
    probing_ = false;
    stashed_ = r && *r == 1;
    // An error or EOF needs no keeping: the connection repeats it.
    if (reader_) deliver_read();
}

bool stream_core::can_write_now(std::size_t n) const noexcept {
    return open_ && !writer_ && !flushing_ && conn_.writable() >= n;
}

std::size_t stream_core::write_now(wire::bytes data) noexcept {
    const auto r = conn_.try_write(data);
    return r ? *r : 0;  // an error comes with the write that waits
}

void stream_core::written_now(std::unique_ptr<io_op> op, std::size_t n) {
    op->complete(error_code{}, n);
    bridge_.wake();
}

std::vector<std::byte> stream_core::staging(std::size_t n) {
    std::vector<std::byte> bytes = std::move(spare_);
    bytes.resize(n);
    return bytes;
}

void stream_core::write(std::vector<std::byte> bytes, std::unique_ptr<io_op> op) {
    if (!open_) return op->complete(asio::error::bad_descriptor, 0);
    if (writer_) return op->complete(asio::error::already_started, 0);
    if (bytes.empty()) return op->complete(error_code{}, 0);
    // An ended connection fails at once (and an orphan's loop may be gone).
    if (conn_.error()) return op->complete(to_asio_error(conn_.error()), 0);
    writer_ = std::move(op);
    if (flushing_)
        waiting_ = std::move(bytes);  // keeps the byte order behind an abandoned write
    else
        start_flush(std::move(bytes));
    bridge_.wake();
}

void stream_core::start_flush(std::vector<std::byte> bytes) {
    flushing_ = true;
    writer_owns_flush_ = true;
    bridge_.executor().start(flush(shared_from_this(), std::move(bytes)), "asio write");
}

runtime::task<void> stream_core::flush([[maybe_unused]] std::shared_ptr<stream_core> self,
                                       std::vector<std::byte> bytes) {
    const auto r = co_await conn_.write(bytes);
    flushing_ = false;
    const std::size_t n = bytes.size();
    spare_ = std::move(bytes);
    if (!writer_) co_return;
    if (!writer_owns_flush_) {
        start_flush(std::move(waiting_));
        co_return;
    }
    writer_owns_flush_ = false;
    finish(writer_, r ? error_code{} : to_asio_error(r.error()), r ? n : 0);
}

void stream_core::abandon_reader() {
    if (reader_) finish(reader_, asio::error::operation_aborted, 0);
}

void stream_core::abandon_writer() {
    writer_owns_flush_ = false;
    waiting_.clear();
    if (writer_) finish(writer_, asio::error::operation_aborted, 0);
}

void stream_core::cancel(int which, std::uint64_t id, asio::cancellation_type_t type) {
    if (which == close_side) {
        if (!closer_ || closer_->id() != id) return;
        closer_->cancelled_from_slot();
        return finish(closer_, asio::error::operation_aborted);  // the close itself goes on
    }
    std::unique_ptr<io_op>& op = which == read_side ? reader_ : writer_;
    if (!op || op->id() != id) return;  // a stale slot: that operation has completed
    // Bytes already in the stack cannot be taken back: only terminal
    // cancellation, which leaves the stream unusable, abandons them.
    if (which == write_side && writer_owns_flush_ &&
        (type & asio::cancellation_type::terminal) == asio::cancellation_type::none)
        return;
    op->cancelled_from_slot();
    which == read_side ? abandon_reader() : abandon_writer();
}

void stream_core::cancel_all() {
    abandon_reader();
    abandon_writer();
    if (closer_) finish(closer_, asio::error::operation_aborted);
}

// The TCP layer was destroyed before this stream (the stack first, then the
// io_context): its loop may be gone too, so nothing may start there.
bool stream_core::stack_gone() const noexcept { return conn_.valid() && conn_.tcb().orphaned(); }

void stream_core::close(std::unique_ptr<close_op> op) {
    if (closer_ && op) return op->complete(asio::error::already_started);
    if (!open_ && !closing_) {
        if (op) op->complete(asio::error::bad_descriptor);
        return;
    }
    if (open_) {
        open_ = false;
        cancel_all();  // a pending async_shutdown too
        if (stack_gone()) {
            close_result_ = to_asio_error(conn_.error());
            conn_.abort();  // keeps the accessors
        } else {
            closing_ = true;
            bridge_.executor().start(closing(shared_from_this()), "asio close");
        }
    }
    if (op) closer_ = std::move(op);                           // joins a close already under way
    if (!closing_ && closer_) finish(closer_, close_result_);  // it ended at once
    bridge_.wake();
}

runtime::task<void> stream_core::closing([[maybe_unused]] std::shared_ptr<stream_core> self) {
    const auto r = co_await conn_.close();
    closing_ = false;
    close_result_ = r ? error_code{} : to_asio_error(r.error());
    if (closer_) finish(closer_, close_result_);
}

void stream_core::shutdown(std::unique_ptr<close_op> op) {
    if (!open_) return op->complete(asio::error::bad_descriptor);
    if (closer_) return op->complete(asio::error::already_started);
    if (conn_.error()) return op->complete(to_asio_error(conn_.error()));
    closer_ = std::move(op);
    bridge_.executor().start(shutting(shared_from_this()), "asio shutdown");
    bridge_.wake();
}

runtime::task<void> stream_core::shutting([[maybe_unused]] std::shared_ptr<stream_core> self) {
    const auto r = co_await conn_.shutdown_write_acknowledged();
    if (closer_ && open_) finish(closer_, r ? error_code{} : to_asio_error(r.error()));
}

void stream_core::abort() {
    if (!open_ && !closing_) return;
    open_ = false;
    cancel_all();
    conn_.abort();  // a close under way ends with connection_aborted
    bridge_.wake();
}

error_code stream_core::shutdown_write() {
    if (!open_) return asio::error::bad_descriptor;
    const auto r = run_now(conn_.shutdown_write());
    bridge_.wake();
    return r ? error_code{} : to_asio_error(r.error());
}

void stream_core::drop_pending() noexcept {
    auto keep = weak_from_this().lock();  // the handlers may own the last stream on this core
    auto reader = std::move(reader_);
    auto writer = std::move(writer_);
    auto closer = std::move(closer_);
    writer_owns_flush_ = false;
    waiting_.clear();
}

}  // namespace detail

asio_stream::asio_stream(const asio_bridge& bridge, connection c)
    : io_(bridge.get_executor()), core_(std::make_shared<detail::stream_core>(bridge, std::move(c))) {}

asio_stream& asio_stream::operator=(asio_stream&& other) noexcept {
    if (this != &other) {
        close();
        io_ = std::move(other.io_);
        core_ = std::move(other.core_);
    }
    return *this;
}

asio_stream::~asio_stream() { close(); }

bool asio_stream::is_open() const noexcept { return core_ && core_->is_open(); }

error_code asio_stream::shutdown_write() {
    return core_ ? core_->shutdown_write() : error_code{asio::error::bad_descriptor};
}

void asio_stream::cancel() {
    if (core_) core_->cancel_all();
}

void asio_stream::close() {
    if (core_) core_->close();
}

void asio_stream::abort() {
    if (core_) core_->abort();
}

endpoint asio_stream::local() const noexcept { return core_ ? core_->native().local() : endpoint{}; }

endpoint asio_stream::remote() const noexcept { return core_ ? core_->native().remote() : endpoint{}; }

tcp::connection_stats asio_stream::stats() const noexcept {
    return core_ ? core_->native().stats() : tcp::connection_stats{};
}

connection* asio_stream::native_connection() noexcept { return core_ ? &core_->native() : nullptr; }

}  // namespace coronet
