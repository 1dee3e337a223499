#include "shutdown.hpp"

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace coronet::bench {

[[noreturn]] void exit_now(int code) {
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code);
}

[[noreturn]] void die_by(int sig) {
    std::fflush(stdout);
    std::fflush(stderr);
    std::signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    std::raise(sig);
    std::_Exit(128 + sig);
}

runtime::task<void> end_early(runtime::loop& loop, client& c, std::string why) {
    c.fail(std::move(why));
    co_await stop_when(loop, [&c] { return c.done(); });
}

runtime::task<void> watchdog(runtime::loop& loop, client& c, runtime::duration duration) {
    co_await loop.sleep_for(duration + grace);
    co_await end_early(loop, c, "the run did not end within --duration + 10 s");
}

}  // namespace coronet::bench
