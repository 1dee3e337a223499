// Asio interop (asio.hpp): the stream, acceptor and connect adapters, the
// io_context service that lets shutdown destroy their pending handlers, and
// the driver that runs a coronet loop inside an io_context.
#include <coronet/api/asio.hpp>

#include <coronet/tcp/tcb.hpp>

#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/steady_timer.hpp>

#include <liburing.h>
#include <spdlog/spdlog.h>

#include <exception>

namespace coronet {

namespace asio = boost::asio;
using boost::system::error_code;

error_code to_asio_error(const std::error_code& ec) {
    if (!ec) return {};
    // Asio reports a socket's errors as errno values in the system category.
    if (ec.category() == std::generic_category() || ec.category() == std::system_category())
        return {ec.value(), boost::system::system_category()};
    return ec;
}

namespace detail {

std::uint64_t next_operation_id() noexcept {
    thread_local std::uint64_t last = 0;
    return ++last;
}

namespace {

// Runs a stack operation that cannot wait (its readiness was checked) and
// returns its result.
template <class T>
T run_now(runtime::task<T> t) {
    t.raw().resume();
    if (!t.done()) {
        // Destroying it would leave the TCB holding a dead coroutine.
        spdlog::critical("coronet asio adapter: an operation that should finish at once is waiting");
        std::terminate();
    }
    return t.result();
}

// Completes the operation in slot, leaving slot empty.
template <class Op, class... A>
void finish(std::unique_ptr<Op>& slot, A&&... args) {
    auto op = std::move(slot);
    op->complete(std::forward<A>(args)...);
}

}  // namespace

// ---- the io_context service -------------------------------------------------

class asio_service final : public asio::execution_context::service {
public:
    static asio::execution_context::id id;
    explicit asio_service(asio::execution_context& ctx) : service(ctx) {}

    void add(pending_holder& h) noexcept {
        if (shut_down_) return;  // too late: nothing will run its handlers
        h.service_ = this;
        h.next_ = head_;
        if (head_) head_->prev_ = &h;
        head_ = &h;
    }
    void remove(pending_holder& h) noexcept {
        if (h.prev_) h.prev_->next_ = h.next_;
        else head_ = h.next_;
        if (h.next_) h.next_->prev_ = h.prev_;
        h.service_ = nullptr;
        h.prev_ = h.next_ = nullptr;
    }

private:
    void shutdown() override {
        shut_down_ = true;
        // Dropping handlers may destroy other holders, which unlink themselves.
        while (head_) {
            pending_holder& h = *head_;
            remove(h);
            h.drop_pending();
        }
    }

    pending_holder* head_ = nullptr;
    bool shut_down_ = false;
};

asio::execution_context::id asio_service::id;

pending_holder::pending_holder(const asio::any_io_executor& io) {
    asio::use_service<asio_service>(asio::query(io, asio::execution::context)).add(*this);
}

pending_holder::~pending_holder() {
    if (service_) service_->remove(*this);
}

// ---- the stream -------------------------------------------------------------

void stream_core::read(asio::mutable_buffer buf, std::unique_ptr<io_op> op) {
    if (!open_) return op->complete(asio::error::bad_descriptor, 0);
    if (reader_) return op->complete(asio::error::already_started, 0);
    if (buf.size() == 0) return op->complete(error_code{}, 0);
    reader_ = std::move(op);
    read_buf_ = {static_cast<std::byte*>(buf.data()), buf.size()};
    if (!probing_) {  // else the probe delivers when it returns
        if (stashed_ || read_ready()) deliver_read();
        else start_probe();
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
        const auto r = run_now(conn_.read(read_buf_.subspan(n)));
        if (!r) ec = to_asio_error(r.error());
        else if (*r == 0) ec = asio::error::eof;
        else n += *r;
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

std::vector<std::byte> stream_core::staging(std::size_t n) {
    std::vector<std::byte> bytes = std::move(spare_);
    bytes.resize(n);
    return bytes;
}

void stream_core::write(std::vector<std::byte> bytes, std::unique_ptr<io_op> op) {
    if (!open_) return op->complete(asio::error::bad_descriptor, 0);
    if (writer_) return op->complete(asio::error::already_started, 0);
    if (bytes.empty()) return op->complete(error_code{}, 0);
    writer_ = std::move(op);
    if (flushing_) waiting_ = std::move(bytes);  // keeps the byte order behind an abandoned write
    else start_flush(std::move(bytes));
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
}

void stream_core::close() {
    if (!open_) return;
    open_ = false;
    cancel_all();
    { connection dropped = std::move(conn_); }  // a dropped connection closes gracefully
    bridge_.wake();
}

void stream_core::abort() {
    if (!open_) return;
    open_ = false;
    cancel_all();
    conn_.abort();
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
    writer_owns_flush_ = false;
    waiting_.clear();
}

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
    if (r) finish(s->op, error_code{}, asio_stream{s->bridge, std::move(*r)});
    else finish(s->op, to_asio_error(r.error()), asio_stream{s->bridge.get_executor()});
}

}  // namespace

void start_connect(const asio_bridge& bridge, tcp::tcp_layer& layer, endpoint remote,
                   std::optional<runtime::duration> timeout, std::unique_ptr<open_op> op) {
    auto s = std::make_unique<connect_state>(bridge, std::move(op));
    bridge.executor().start(connect_and_complete(std::move(s), layer, remote, timeout), "asio connect");
    bridge.wake();
}

// ---- the loop inside an io_context --------------------------------------------

// Turns the loop whenever its wake-up eventfd fires (completions; why not the
// ring's fd: loop.cpp), when its earliest timer is due, and right away while
// it has more to do (posted, so other Asio handlers get their turn).
class driver_state : public std::enable_shared_from_this<driver_state> {
public:
    driver_state(asio::io_context& io, runtime::loop& loop)
        : loop_(loop), io_(io), wakeup_(io, loop.wakeup_fd()), timer_(io) {}
    ~driver_state() { stop(); }

    void start() {
        watch();
        schedule();  // whatever was queued before run_in
    }
    void stop() noexcept {
        if (stopped_) return;
        stopped_ = true;
        wakeup_.release();  // the loop owns the eventfd; this cancels the wait
        timer_.cancel();
    }
    // After an Asio handler touched the stack: a turn soon if that queued
    // submissions or coroutines, and the timer re-armed if it added an
    // earlier one. Inside a turn nothing is needed: the turn ends with both.
    void wake() {
        if (stopped_ || stepping_) return;
        if (loop_.has_ready() || io_uring_sq_ready(&loop_.ring()) > 0) schedule();
        arm_timer();
    }

private:
    void step() {
        posted_ = false;
        if (stopped_) return;
        stepping_ = true;
        const bool more = loop_.poll_once();
        stepping_ = false;
        if (more) schedule();
        arm_timer();
    }
    void schedule() {
        if (posted_) return;
        posted_ = true;
        asio::post(io_, [w = weak_from_this()] {
            if (auto s = w.lock()) s->step();
        });
    }
    void watch() {
        wakeup_.async_wait(asio::posix::descriptor_base::wait_read, [w = weak_from_this()](const error_code& ec) {
            auto s = w.lock();
            if (!s || ec || s->stopped_) return;
            s->step();
            s->watch();
        });
    }
    void arm_timer() {
        const runtime::timer_node* next = loop_.timers().top();
        const runtime::time_point due = next ? next->deadline : never;
        if (due == armed_) return;
        armed_ = due;
        if (due == never) {
            timer_.cancel();
            return;
        }
        timer_.expires_at(due);  // cancels the wait for the previous deadline
        timer_.async_wait([w = weak_from_this(), due](const error_code& ec) {
            auto s = w.lock();
            if (!s || ec || s->stopped_ || s->armed_ != due) return;
            s->armed_ = never;
            s->step();
        });
    }

    static constexpr runtime::time_point never = runtime::time_point::max();
    runtime::loop& loop_;
    asio::io_context& io_;
    asio::posix::stream_descriptor wakeup_;
    asio::steady_timer timer_;
    runtime::time_point armed_ = never;
    bool stopped_ = false;
    bool stepping_ = false;
    bool posted_ = false;
};

}  // namespace detail

// ---- the public classes ---------------------------------------------------------

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

connection* asio_stream::native_connection() noexcept { return core_ ? &core_->native() : nullptr; }

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

loop_driver::loop_driver(asio::io_context& io, runtime::loop& loop)
    : state_(std::make_shared<detail::driver_state>(io, loop)),
      bridge_(io.get_executor(), loop, [w = std::weak_ptr<detail::driver_state>(state_)] {
          if (auto s = w.lock()) s->wake();
      }) {
    state_->start();
}

loop_driver::~loop_driver() { stop(); }

void loop_driver::stop() { state_->stop(); }

}  // namespace coronet
