// run_in(): a coronet loop driven from an asio::io_context, so that
// io_context::run() alone runs coronet; loop_driver keeps it going and hands
// the adapters their asio_bridge. The driver's state is in asio_driver.cpp.
#pragma once

#include <boost/asio/io_context.hpp>
#include <coronet/api/asio_service.hpp>
#include <coronet/runtime/loop.hpp>
#include <memory>

namespace coronet {

namespace detail {
class driver_state;
}

// Drives a coronet loop from an asio::io_context (see run_in). Declare it
// after the loop and the io_context, so that it goes first, and the adapters
// after it. The io_context may go before or after the stack and the loop:
// a stream its coroutines still own when the stack has gone closes without
// touching it (connection_aborted). The adapters wake the loop after
// touching the stack; other coronet work started from an Asio handler
// (loop.spawn, loop.submit) calls bridge().wake() after it. loop.stop()
// does not stop the driver: stop() or io_context::stop() does.
class loop_driver {
public:
    explicit loop_driver(boost::asio::io_context& io, runtime::loop& loop);
    ~loop_driver();
    loop_driver(const loop_driver&) = delete;
    loop_driver& operator=(const loop_driver&) = delete;

    // Stops driving: the io_context holds no more work for the loop.
    void stop();
    // What the adapters need (asio_stream, asio_acceptor, async_connect).
    const asio_bridge& bridge() const noexcept { return bridge_; }

private:
    std::shared_ptr<detail::driver_state> state_;
    asio_bridge bridge_;
};

// Runs loop inside io: from now on io.run() (on the loop's thread) reaps
// coronet's io_uring completions, fires its timers and runs its coroutines;
// nothing else needs to call the loop. Throws std::system_error when the
// ring cannot signal an eventfd.
[[nodiscard]] inline loop_driver run_in(boost::asio::io_context& io, runtime::loop& loop) {
    return loop_driver{io, loop};
}

}  // namespace coronet
