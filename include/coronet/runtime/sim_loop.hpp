// An executor on virtual time: when nothing is ready, time jumps to the next
// timer. A 60 s TIME_WAIT takes microseconds and every run with the same
// inputs is the same run.
#pragma once

#include <coronet/runtime/executor.hpp>
#include <functional>
#include <optional>
#include <stdexcept>

namespace coronet::runtime {

class sim_loop final : public executor {
public:
    // Virtual time starts at `start` (an arbitrary, non-zero origin by default).
    explicit sim_loop(time_point start = time_point{} + std::chrono::hours(1)) : now_(start) {}
    ~sim_loop() override { destroy_detached(); }

    time_point now() const noexcept override { return now_; }

    // Runs ready work and advances time until pred() holds or time passes
    // `limit`; returns pred().
    bool run_until(const std::function<bool()>& pred, time_point limit);
    // Runs everything due up to now()+d, leaving the clock at now()+d.
    void run_for(duration d);
    // Runs until no coroutine is ready and no timer is queued, or until
    // `limit` of virtual time has passed; returns true when idle.
    bool run_until_idle(duration limit = std::chrono::hours(24));

    // Runs t to completion and returns its result; throws std::runtime_error
    // if it has not finished within `limit` of virtual time.
    template <class T>
    T run_task(task<T> t, duration limit = std::chrono::hours(24)) {
        bool done = false;
        std::optional<std::conditional_t<std::is_void_v<T>, int, T>> out;
        std::exception_ptr error;
        spawn(wrap(std::move(t), done, out, error), "run_task");
        run_until([&] { return done; }, now_ + limit);
        if (!done) throw std::runtime_error("sim_loop::run_task: task did not finish in time");
        if (error) std::rethrow_exception(error);
        if constexpr (!std::is_void_v<T>) return std::move(*out);
    }

private:
    template <class T, class O>
    static task<void> wrap(task<T> t, bool& done, O& out, std::exception_ptr& error) {
        try {
            if constexpr (std::is_void_v<T>)
                co_await std::move(t);
            else
                out.emplace(co_await std::move(t));
        } catch (...) {
            error = std::current_exception();
        }
        done = true;
    }
    // Runs ready work at the current time until none is left.
    void drain();

    time_point now_;
};

}  // namespace coronet::runtime
