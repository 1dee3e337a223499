// What wakes a connection's state coroutine: one `event` (a segment, a timer,
// a request from the application, an error from the network) returned by
// tcb::next_event(). Application requests wait in a small set until the state
// that can carry them out takes them.
#pragma once

#include <coronet/wire/tcp.hpp>
#include <cstdint>
#include <system_error>
#include <utility>

namespace coronet::tcp {

// What the application asked of its connection.
enum class app_request : std::uint8_t {
    send = 1 << 0,      // data was written: output may send
    read = 1 << 1,      // data was read: the window may have opened
    shutdown = 1 << 2,  // no more data: send a FIN after what is queued
    close = 1 << 3,     // shutdown, and the application is gone (reads nothing more)
    abort = 1 << 4,     // reset now
    options = 1 << 5,   // a per-connection option changed (keep-alive)
};

// A set of requests. The application adds; the state takes what it carries
// out. Requests not yet seen by the state are `fresh`: next_event() hands
// them out once.
class app_requests {
public:
    void add(app_request r) noexcept {
        all_ |= bit(r);
        fresh_ |= bit(r);
    }
    // Whether r was asked and not yet taken.
    bool has(app_request r) const noexcept { return (all_ & bit(r)) != 0; }
    // r is carried out (or dropped): it is no longer asked.
    void take(app_request r) noexcept {
        all_ &= static_cast<std::uint8_t>(~bit(r));
        fresh_ &= static_cast<std::uint8_t>(~bit(r));
    }
    // Whether some request came since the state last looked; it looks now.
    bool drain_fresh() noexcept { return std::exchange(fresh_, 0) != 0; }

private:
    static constexpr std::uint8_t bit(app_request r) noexcept { return static_cast<std::uint8_t>(r); }
    std::uint8_t all_ = 0, fresh_ = 0;
};

struct event {
    enum class kind : std::uint8_t {
        segment,    // a segment for this connection arrived (checksum verified)
        timer,      // one of the connection's deadlines fell due
        app,        // the application asked something (the tcb's app_requests)
        net_error,  // the network reported the peer unreachable
        evict,      // the layer needs this TIME_WAIT connection's place in a full table
    };
    kind what = kind::app;
    const wire::tcp_view* seg = nullptr;  // kind::segment: valid until the next wait
    bool listener_waiting = false;        // kind::segment: a listener would take a SYN for this 4-tuple
    std::error_code error;                // kind::net_error

    static event segment(const wire::tcp_view& s, bool listener_waiting) noexcept {
        return {kind::segment, &s, listener_waiting, {}};
    }
    static event timer() noexcept { return {kind::timer}; }
    static event app() noexcept { return {kind::app}; }
    static event net_error(std::error_code ec) noexcept { return {kind::net_error, nullptr, false, ec}; }
    static event evict() noexcept { return {kind::evict}; }
    bool is(kind k) const noexcept { return what == k; }
};

}  // namespace coronet::tcp
