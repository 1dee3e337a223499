#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <coronet/runtime/loop.hpp>
#include <csignal>
#include <cstdint>
#include <system_error>

namespace coronet::runtime {

namespace {
// The completion queue's entries per submission entry (the kernel's default is 2).
constexpr unsigned cq_entries_per_entry = 4;

__kernel_timespec to_timespec(duration d) {
    if (d < duration::zero()) d = duration::zero();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return {.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
}
}  // namespace

loop::loop(loop_options opts) : busy_poll_(opts.busy_poll) {
    // Room for every completion that can be pending at once: an AF_PACKET
    // device's sends in flight (512 + 512 buffers) and its receive buffers
    // (256), with timers and signals beside them. A full completion queue
    // ends a multishot receive, and what overflows takes the kernel's slow path.
    auto params = [&](unsigned flags) {
        io_uring_params p{};
        p.flags = flags | IORING_SETUP_CQSIZE;
        p.cq_entries = opts.entries * cq_entries_per_entry;
        return p;
    };
    int rc = -1;
    if (opts.defer_taskrun) {
        io_uring_params p = params(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
        rc = io_uring_queue_init_params(opts.entries, &ring_, &p);
    }
    if (rc < 0) {
        io_uring_params p = params(0);
        rc = io_uring_queue_init_params(opts.entries, &ring_, &p);
    }
    if (rc < 0) throw std::system_error(-rc, std::generic_category(), "io_uring_queue_init");
}

loop::~loop() {
    destroy_detached();
    io_uring_queue_exit(&ring_);
}

io_uring_sqe* loop::sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    while (!s) {
        io_uring_submit(&ring_);
        ++counters_.submits;
        s = io_uring_get_sqe(&ring_);
    }
    return s;
}

void loop::run() {
    stopped_ = false;
    while (!stopped_) run_once(true);
}

void loop::run_once(bool block) {
    ++counters_.iterations;
    const timer_node* next = timers().top();
    const auto t = now();
    const bool spin = busy_poll_ > duration::zero() && t - last_work_ < busy_poll_;
    if (!block || spin || has_ready() || (next && next->deadline <= t)) {
        bool enter = true;
        if (block && spin && !has_ready()) {
            ++counters_.busy_polls;
            // Past the first eighth of the spin, let a thread waiting for
            // this CPU run first: when the peer (the other end's loop, a
            // kernel client) shares the CPU, spinning without yielding held
            // each hand-off for the whole busy-poll time.
            if (t - last_work_ > busy_poll_ / 8) sched_yield();
            // The pollers see the rings without a system call; the kernel is
            // entered for what they cannot see (the ring's overflow socket,
            // ARP, signals, cancellations: task work) now and then, and on
            // the turn after they found frames, when more may have come
            // past the rings.
            enter = spin_pollers_.empty() || polled_last_ || io_uring_sq_ready(&ring_) > 0 ||
                    ++quiet_spins_ % spins_per_enter == 0;
        }
        if (enter) {
            io_uring_submit_and_get_events(&ring_);
            ++counters_.submits;
            quiet_spins_ = 0;
        } else {
            ++counters_.quiet_spins;
        }
    } else {
        ++counters_.submits;
        io_uring_cqe* cqe = nullptr;
        if (next) {
            __kernel_timespec ts = to_timespec(next->deadline - now());
            io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
        } else {
            io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, nullptr, nullptr);
        }
    }
    turn_time_ = clock::now();
    in_turn_ = true;
    struct end_turn {
        bool& in_turn;
        ~end_turn() { in_turn = false; }
    } end{in_turn_};
    // The completions first, in the order the kernel made them (a link
    // error, a frame of the overflow socket, sends that free buffers), then
    // the rings. By index: a frame's handling may add or remove a device.
    const unsigned reaped = reap();
    bool polled = false;
    if (spin)
        for (std::size_t i = 0; i < spin_pollers_.size(); ++i) polled = spin_pollers_[i]->poll() || polled;
    polled_last_ = polled;
    if ((reaped > 0 || polled) && busy_poll_ > duration::zero()) last_work_ = turn_time_;
    run_ready();
}

// ---- submit()'s slots ------------------------------------------------------

void op_slot::complete(const io_uring_cqe& cqe) {
    io_operation* target = target_;
    owner_->release(*this);  // first: the completion may submit again
    if (target) target->complete(cqe);
}

op_slot& loop::slot_for(io_operation& op) {
    if (!free_slots_) {
        slots_.push_back(std::make_unique<op_slot>());
        slots_.back()->owner_ = this;
        free_slots_ = slots_.back().get();
    }
    op_slot& slot = *std::exchange(free_slots_, free_slots_->next_free_);
    slot.target_ = &op;
    return slot;
}

void loop::release(op_slot& slot) noexcept {
    slot.target_ = nullptr;
    slot.next_free_ = std::exchange(free_slots_, &slot);
}

// The operation's coroutine is gone: its completion is dropped when it comes
// (the slot is reused only then), and the kernel is asked to end it soon.
void loop::abandon(op_slot& slot) noexcept {
    slot.target_ = nullptr;
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel(s, static_cast<io_operation*>(&slot), 0);
    io_uring_sqe_set_data(s, nullptr);
}

// The completions there at the start, and no more: the kernel appends while
// they are handled, and a reap that followed the tail would not end while
// frames arrived as fast as it handled them, holding back what the turn's
// end does (the ACKs and window updates decided then) and the readers. The
// next turn takes the rest at once (the wait returns for completions already
// there).
unsigned loop::reap() {
    const unsigned ready = io_uring_cq_ready(&ring_);
    io_uring_cqe* cqe;
    unsigned head;
    unsigned count = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
        if (count == ready) break;
        ++count;
        if (auto* op = static_cast<io_operation*>(io_uring_cqe_get_data(cqe))) op->complete(*cqe);
    }
    io_uring_cq_advance(&ring_, count);
    counters_.completions += count;
    return count;
}

// ---- driving the loop from another event loop ---------------------------
//
// Measured on Linux 6.18 (a pipe read pending on the ring, the pipe written
// from another thread): with IORING_SETUP_DEFER_TASKRUN the completion waits
// as task work until the ring's owner enters the kernel with GETEVENTS; a
// level check (poll with timeout 0) on the ring fd does report it, but
// nothing wakes a poll/epoll already sleeping on the ring fd, so an outer
// loop watching that fd sleeps through it. An eventfd registered with
// io_uring_register_eventfd is signalled for deferred work too, and for every
// completion of a plain ring, so the outer loop watches that instead and the
// ring keeps DEFER_TASKRUN, the faster set-up (README, "Receive path").
// Also measured: a non-blocking GETEVENTS enter runs at most 20 deferred
// completions; the rest stay queued, still visible to the level check.

int loop::wakeup_fd() {
    if (wakeup_.fd >= 0) return wakeup_.fd;
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    if (const int rc = io_uring_register_eventfd(&ring_, fd); rc < 0) {
        ::close(fd);
        throw std::system_error(-rc, std::generic_category(), "io_uring_register_eventfd");
    }
    wakeup_.fd = fd;
    return fd;
}

bool loop::poll_once() {
    run_once(false);
    if (io_uring_sq_ready(&ring_) > 0) {
        io_uring_submit(&ring_);
        ++counters_.submits;
    }
    // Cleared after the turn, as the completions it reaped signalled it too.
    // Whatever came after the clear signals again; whatever came before it
    // is still in sight of the checks below.
    clear_wakeup();
    return has_ready() || io_uring_cq_ready(&ring_) > 0 || deferred_work_left();
}

void loop::clear_wakeup() noexcept {
    if (wakeup_.fd < 0) return;
    std::uint64_t count = 0;
    [[maybe_unused]] const auto n = ::read(wakeup_.fd, &count, sizeof count);  // EAGAIN: nothing was signalled
}

bool loop::deferred_work_left() const noexcept {
    if (!(ring_.flags & IORING_SETUP_DEFER_TASKRUN)) return false;
    pollfd p{.fd = ring_.ring_fd, .events = POLLIN, .revents = 0};
    return ::poll(&p, 1, 0) > 0;
}

loop::owned_fd::~owned_fd() {
    if (fd >= 0) ::close(fd);
}

signal_set::signal_set(loop& l, std::initializer_list<int> signals) : loop_(l) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : signals) sigaddset(&mask, s);
    if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0)
        throw std::system_error(errno, std::generic_category(), "sigprocmask");
    fd_ = signalfd(-1, &mask, SFD_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
}

signal_set::~signal_set() {
    if (fd_ >= 0) ::close(fd_);
}

task<int> signal_set::wait() {
    signalfd_siginfo info{};
    int rc = co_await loop_.submit([&](io_uring_sqe* s) { io_uring_prep_read(s, fd_, &info, sizeof info, 0); });
    if (rc < 0) co_return rc;
    co_return static_cast<int>(info.ssi_signo);
}

}  // namespace coronet::runtime
