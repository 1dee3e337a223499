// coronet-bench --loops N: one thread per loop, each with its own io_uring
// loop, its own coronet stack (each TCP flow on the interface is served by
// one loop: README "Two loops") and its own server or
// client; the results are summed into the one JSON line.
#pragma once

#include "options.hpp"

namespace coronet::bench {

// Runs o's server or client role on `loops` loops of the user-space stack;
// returns the exit status (as the one-loop run: 0, 1 on a failed run, 2 on
// bad options). The client splits --connections across the loops.
int run_loops(const bench_options& o, unsigned loops);

}  // namespace coronet::bench
