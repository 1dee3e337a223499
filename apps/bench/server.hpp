// The benchmark server: accepts connections on one transport, reads each
// one's header and serves the mode it names (bulk in or out, request/response
// echo), any number of clients at once, until it is stopped.
#pragma once

#include <coronet/runtime/loop.hpp>
#include <string>

#include "../common/json.hpp"
#include "protocol.hpp"

namespace coronet::bench {

struct server_totals {
    std::uint64_t connections = 0, bytes_in = 0, bytes_out = 0, errors = 0;
    loss_counts losses;
    // Fixed-size transfers (--bytes) received intact (pattern and length), and not.
    std::uint64_t fixed_verified = 0, fixed_failed = 0;
    std::string congestion;   // what the first connection ran (read back from it)
    std::string last_sha256;  // of the last fixed-size transfer sent or received, hex
};

class server {
public:
    server(runtime::loop& loop, transport& net) : loop_(loop), net_(net) {}

    // Accepts until the acceptor is aborted; each connection gets its own task.
    task<void> accept_loop(std::unique_ptr<acceptor> a);
    // Aborts the acceptor and every connection; idle() turns true once their
    // tasks have unwound.
    void stop() noexcept;
    bool idle() const noexcept { return !accepting_ && active_ == 0; }
    const server_totals& totals() const noexcept { return totals_; }
    // The totals as one JSON object.
    std::string json() const;
    // totals of a server on `stack` as one JSON object, with the members of extra appended.
    static std::string json(std::string_view stack, const server_totals& totals, const apps::json& extra);

private:
    task<void> serve(std::unique_ptr<stream> s);
    task<result<void>> exchange(stream& s);
    task<result<void>> receive_bulk(stream& s);
    task<result<void>> send_bulk(stream& s, const header& h);
    task<result<void>> receive_fixed(stream& s, const header& h);
    task<result<void>> send_fixed(stream& s, const header& h);
    task<result<void>> echo(stream& s, const header& h);

    runtime::loop& loop_;
    transport& net_;
    server_totals totals_;
    std::size_t active_ = 0;
    bool accepting_ = false, stopping_ = false;
};

}  // namespace coronet::bench
