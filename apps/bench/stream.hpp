// The one interface the benchmark's bulk/rr/crr logic is written against: a
// byte stream (read / write / shutdown / close as coroutines), an acceptor and
// a transport that makes them. Two transports implement it on the same
// runtime::loop: coronet's user-space TCP and kernel sockets driven through
// io_uring, so both stacks run exactly the same benchmark code.
#pragma once

#include <coronet/api/connection.hpp>
#include <coronet/runtime/clock.hpp>
#include <coronet/runtime/task.hpp>
#include <coronet/wire/bytes.hpp>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "loss_counts.hpp"

namespace coronet::bench {

using runtime::task;

class cancel_scope;

// Something with operations in flight that shutdown must be able to end.
class cancellable {
public:
    cancellable(const cancellable&) = delete;
    cancellable& operator=(const cancellable&) = delete;
    // Ends every pending and future operation with an error (no graceful close).
    virtual void abort() noexcept = 0;

protected:
    explicit cancellable(cancel_scope& scope);
    ~cancellable();
    // Where this was registered: what it makes (an acceptor's streams) goes there too.
    cancel_scope& scope() const noexcept { return scope_; }

private:
    cancel_scope& scope_;
};

// The live streams and acceptors of one transport, so that a signal or the
// watchdog can end them all and let their coroutines unwind while the stack
// still exists (a coroutine destroyed with the loop would touch a dead stack).
class cancel_scope {
public:
    void add(cancellable* c) { live_.insert(c); }
    void remove(cancellable* c) noexcept { live_.erase(c); }
    // Aborts everything live now; things opened later are not affected.
    void abort_all() noexcept;

private:
    std::unordered_set<cancellable*> live_;
};

inline cancellable::cancellable(cancel_scope& scope) : scope_(scope) { scope_.add(this); }
inline cancellable::~cancellable() { scope_.remove(this); }

inline void cancel_scope::abort_all() noexcept {
    // An abort may resume the stream's owner, which may destroy it (and so
    // unregister it): walk a copy, and skip what has gone meanwhile.
    const auto now = live_;
    for (cancellable* c : now)
        if (live_.contains(c)) c->abort();
}

class stream : public cancellable {
public:
    virtual ~stream() = default;
    // Up to buf.size() bytes; 0 when the peer has finished (FIN).
    virtual task<result<std::size_t>> read(wire::mut_bytes buf) = 0;
    // The next received bytes (at most scratch.size()) where the stack can
    // lend them: coronet's where they lie in its receive buffer
    // (connection::read_view), a kernel socket's after a receive into
    // scratch. Empty when the peer has finished (FIN). Valid until the next
    // call on the stream.
    virtual task<result<wire::bytes>> receive(wire::mut_bytes scratch) = 0;
    // All of data, or an error.
    virtual task<result<void>> write(wire::bytes data) = 0;
    // Half-close: FIN after the data written so far; reading goes on.
    virtual task<result<void>> shutdown_write() = 0;
    // Graceful close; the stream is unusable afterwards.
    virtual task<result<void>> close() = 0;
    // What this side resent and was told was resent needlessly, so far
    // (still valid after close).
    virtual loss_counts losses() const noexcept = 0;
    // The congestion control this connection runs, as its stack names it
    // (read back from the connection, not what was asked for).
    virtual std::string congestion() const = 0;

protected:
    using cancellable::cancellable;
};

class acceptor : public cancellable {
public:
    virtual ~acceptor() = default;
    // The next connection; operation_canceled once aborted.
    virtual task<result<std::unique_ptr<stream>>> accept() = 0;

protected:
    using cancellable::cancellable;
};

class transport {
public:
    virtual ~transport() = default;
    // "user" (coronet) or "kernel".
    virtual std::string_view name() const noexcept = 0;
    // An established connection to remote, with Nagle off; gives up after
    // timeout where the transport can (the caller bounds the run anyway).
    virtual task<result<std::unique_ptr<stream>>> connect(endpoint remote, runtime::duration timeout) = 0;
    // Listens on port (all addresses). Errors: address_in_use and the like.
    virtual result<std::unique_ptr<acceptor>> listen(std::uint16_t port) = 0;
    // Ends every live stream and acceptor (shutdown, watchdog).
    void abort_all() noexcept { scope_.abort_all(); }
    // --stats: the stack's counters as one line of JSON ("": none to give).
    virtual std::string counters() { return {}; }

protected:
    cancel_scope scope_;
};

// --stats: net's counters to stderr as one line (nothing from a transport without).
inline void print_counters(transport& net) {
    if (const std::string c = net.counters(); !c.empty()) std::fprintf(stderr, "%s\n", c.c_str());
}

}  // namespace coronet::bench
