// The loop inside an io_context (asio_driver.hpp): detail::driver_state turns
// the coronet loop from Asio handlers (its wake-up eventfd, a steady_timer for
// its earliest timer, posts while it has more to do); loop_driver owns it.
#include <liburing.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <coronet/api/asio_driver.hpp>

namespace coronet {

namespace asio = boost::asio;
using boost::system::error_code;

namespace detail {

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
    // Re-armed only when the loop's earliest deadline came earlier: a later
    // one (TCP pushes its retransmission deadline back on every ACK) leaves
    // the timer to fire early, once, and step() arms it anew. Re-arming on
    // every change cost a timerfd_settime per write (1.75 per 4 KiB written
    // by coronet-beast-files, measured with strace -c).
    void arm_timer() {
        const runtime::timer_node* next = loop_.timers().top();
        const runtime::time_point due = next ? next->deadline : never;
        if (due >= armed_) return;  // never, too, when nothing is due
        armed_ = due;
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
