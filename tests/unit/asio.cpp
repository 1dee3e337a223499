// run_in: the io_uring loop driven from an asio::io_context that only
// io_context.run() turns: coronet timers fire, io_uring completions arrive
// while the io_context sleeps (with DEFER_TASKRUN, the default, and on a
// plain ring), and coronet work started from an Asio handler runs.
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <coronet/api/asio.hpp>
#include <thread>

namespace asio = boost::asio;
using namespace coronet;
using namespace std::chrono_literals;
using runtime::task;

namespace {

// Fails the test and stops io if it is still running after `limit`.
struct watchdog {
    asio::steady_timer timer;
    watchdog(asio::io_context& io, std::chrono::milliseconds limit) : timer(io, limit) {
        timer.async_wait([&io](boost::system::error_code ec) {
            if (ec) return;
            BOOST_ERROR("the io_context ran into the watchdog");
            io.stop();
        });
    }
};

struct pipe_fds {
    int read = -1, write = -1;
    pipe_fds() {
        int fds[2];
        BOOST_REQUIRE(::pipe(fds) == 0);
        read = fds[0];
        write = fds[1];
    }
    ~pipe_fds() {
        ::close(read);
        ::close(write);
    }
};

// A pipe read through the loop's ring completes when another thread writes:
// the io_context, asleep in epoll, must wake for it.
void completion_wakes_the_io_context(runtime::loop_options opts) {
    runtime::loop loop{opts};
    asio::io_context io;
    auto driver = run_in(io, loop);
    watchdog guard{io, 3000ms};
    pipe_fds p;
    char byte = 0;
    int result = -1;
    auto reader = [&]() -> task<void> {
        result = co_await loop.submit([&](io_uring_sqe* s) { io_uring_prep_read(s, p.read, &byte, 1, 0); });
        io.stop();
    };
    loop.spawn(reader());
    std::thread writer([&] {
        std::this_thread::sleep_for(50ms);
        [[maybe_unused]] const auto n = ::write(p.write, "x", 1);  // Boost.Test checks only on the main thread
    });
    io.run();
    writer.join();
    BOOST_TEST(result == 1);
    BOOST_TEST(byte == 'x');
}

}  // namespace

BOOST_AUTO_TEST_SUITE(asio_run_in)

BOOST_AUTO_TEST_CASE(an_io_uring_completion_wakes_the_io_context_on_a_defer_taskrun_ring) {
    completion_wakes_the_io_context({});
}

BOOST_AUTO_TEST_CASE(an_io_uring_completion_wakes_the_io_context_on_a_plain_ring) {
    completion_wakes_the_io_context({.defer_taskrun = false});
}

BOOST_AUTO_TEST_CASE(coronet_timers_fire_from_io_context_run) {
    runtime::loop loop;
    asio::io_context io;
    auto driver = run_in(io, loop);
    watchdog guard{io, 3000ms};
    std::vector<int> order;
    auto sleeper = [&](int id, runtime::duration d) -> task<void> {
        co_await loop.sleep_for(d);
        order.push_back(id);
        if (order.size() == 3) io.stop();
    };
    const auto start = runtime::clock::now();
    loop.spawn(sleeper(3, 60ms));
    loop.spawn(sleeper(1, 20ms));
    loop.spawn(sleeper(2, 40ms));
    io.run();
    BOOST_TEST((order == std::vector<int>{1, 2, 3}));
    BOOST_TEST((runtime::clock::now() - start >= 60ms));
}

BOOST_AUTO_TEST_CASE(coronet_work_started_from_an_asio_handler_runs_after_a_wake) {
    runtime::loop loop;
    asio::io_context io;
    auto driver = run_in(io, loop);
    watchdog guard{io, 3000ms};
    pipe_fds p;
    int written = -1;
    auto writer = [&]() -> task<void> {
        written = co_await loop.submit([&](io_uring_sqe* s) { io_uring_prep_write(s, p.write, "y", 1, 0); });
        io.stop();
    };
    asio::steady_timer later{io, 20ms};
    later.async_wait([&](boost::system::error_code) {
        loop.spawn(writer());
        driver.bridge().wake();  // the loop takes a turn although no completion is due
    });
    io.run();
    BOOST_TEST(written == 1);
    char byte = 0;
    BOOST_TEST(::read(p.read, &byte, 1) == 1);
    BOOST_TEST(byte == 'y');
}

BOOST_AUTO_TEST_CASE(a_stopped_driver_leaves_the_io_context_without_work) {
    runtime::loop loop;
    asio::io_context io;
    auto driver = run_in(io, loop);
    driver.stop();
    io.run();  // returns: nothing of the loop is pending any more
    BOOST_TEST(io.stopped());
}

BOOST_AUTO_TEST_SUITE_END()
