#include <coronet/runtime/sim_loop.hpp>

namespace coronet::runtime {

void sim_loop::drain() {
    while (run_ready() > 0 || has_ready()) {
    }
}

bool sim_loop::run_until(const std::function<bool()>& pred, time_point limit) {
    for (;;) {
        drain();
        if (pred()) return true;
        const timer_node* next = timers().top();
        if (!next || next->deadline > limit) return false;
        if (next->deadline > now_) now_ = next->deadline;
    }
}

void sim_loop::run_for(duration d) {
    const time_point limit = now_ + d;
    run_until([] { return false; }, limit);
    now_ = limit;
    drain();
}

bool sim_loop::run_until_idle(duration limit) {
    return run_until([this] { return !has_ready() && timers().empty(); }, now_ + limit);
}

}  // namespace coronet::runtime
