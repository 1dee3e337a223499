// How coronet-bench ends, shared by the one-loop run (main.cpp) and the
// several-loop run (loops.cpp).
#pragma once

#include <chrono>
#include <coronet/runtime/loop.hpp>
#include <coronet/runtime/task.hpp>
#include <string>

#include "client.hpp"

namespace coronet::bench {

// A client's run must connect, drain the last data and close within this after --duration.
inline constexpr runtime::duration grace = std::chrono::seconds(10);
// After an abort, how long coroutines get to unwind before the program leaves anyway.
inline constexpr runtime::duration unwind_time = std::chrono::seconds(2);

// Leaves without destroying anything. For when coroutines that hold
// connections did not unwind in time: destroying them after the stack would
// touch freed memory, and there is nothing left worth tearing down in order.
[[noreturn]] void exit_now(int code);

// Ends the process by sig, as an interrupted program should: a shell running
// the client then knows it was interrupted (and stops a script), where an
// exit status would say it merely failed.
[[noreturn]] void die_by(int sig);

// Waits (polling: this runs only at shutdown) until ready() or unwind_time, then stops the loop.
template <class Ready>
runtime::task<void> stop_when(runtime::loop& loop, Ready ready) {
    const auto give_up = runtime::clock::now() + unwind_time;
    while (!ready() && runtime::clock::now() < give_up) co_await loop.sleep_for(std::chrono::milliseconds(5));
    loop.stop();
}

// Ends a client's run with an error, and the loop once its workers have unwound.
runtime::task<void> end_early(runtime::loop& loop, client& c, std::string why);
// Ends the run that way if it has not ended within its duration + grace.
runtime::task<void> watchdog(runtime::loop& loop, client& c, runtime::duration duration);

}  // namespace coronet::bench
