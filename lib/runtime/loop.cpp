#include <coronet/runtime/loop.hpp>

#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <system_error>

namespace coronet::runtime {

namespace {
__kernel_timespec to_timespec(duration d) {
    if (d < duration::zero()) d = duration::zero();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return {.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
}
}  // namespace

loop::loop(loop_options opts) {
    int rc = -1;
    if (opts.defer_taskrun) {
        io_uring_params p{};
        p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        rc = io_uring_queue_init_params(opts.entries, &ring_, &p);
    }
    if (rc < 0) rc = io_uring_queue_init(opts.entries, &ring_, 0);
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
    ++counters_.submits;
    const timer_node* next = timers().top();
    if (!block || has_ready() || (next && next->deadline <= now())) {
        io_uring_submit_and_get_events(&ring_);
    } else {
        io_uring_cqe* cqe = nullptr;
        if (next) {
            __kernel_timespec ts = to_timespec(next->deadline - now());
            io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
        } else {
            io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, nullptr, nullptr);
        }
    }
    reap();
    run_ready();
}

void loop::reap() {
    io_uring_cqe* cqe;
    unsigned head;
    unsigned count = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
        ++count;
        if (auto* op = static_cast<io_operation*>(io_uring_cqe_get_data(cqe))) op->complete(*cqe);
    }
    io_uring_cq_advance(&ring_, count);
    counters_.completions += count;
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
