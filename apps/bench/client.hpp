// The benchmark client: runs one mode (bulk, rr or crr) over N concurrent
// connections of a transport for a fixed duration and sums what they did into
// one result, printed as one JSON line.
#pragma once

#include <coronet/runtime/loop.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "protocol.hpp"

namespace coronet::bench {

struct client_config {
    endpoint remote;
    mode m = mode::bulk;
    bool reverse = false;
    std::uint32_t size = 0;                                // rr/crr: message bytes; bulk: bytes per write
    runtime::duration duration = std::chrono::seconds(5);  // with total_bytes: the most the transfer may take
    unsigned connections = 1;
    std::uint64_t total_bytes = 0;  // bulk: send (or, reversed, receive) exactly this much of the pattern
};

// What the two ends of a fixed-size transfer (--bytes) report of the data.
struct fixed_result {
    std::string sha256_sender, sha256_receiver;  // hex, of the data as sent and as received
    bool verified = false;                       // the receiver found every byte where the pattern puts it
    std::uint64_t peer_retransmits = 0;          // the server's, when it sent its trailer
};

// What one connection (bulk, rr) or one chain of connections (crr) did.
struct tally {
    std::uint64_t bytes = 0, transactions = 0;
    loss_counts losses;
    runtime::time_point start{}, end{};
    std::vector<std::uint32_t> latency_ns;  // one per transaction (rr, crr)
    std::string congestion;                 // what this side's connection ran (read back from it)
    std::optional<fixed_result> fixed;      // bulk with --bytes
};

class client {
public:
    client(runtime::loop& loop, transport& net, client_config cfg);

    // Starts the workers; done() turns true, and on_done runs, when all have finished.
    void start(std::function<void()> on_done);
    // Ends the run early with an error (watchdog, signal): aborts every connection.
    void fail(std::string why);
    bool done() const noexcept { return finished_ == tallies_.size(); }
    // The first error, as a message for the user.
    const std::optional<std::string>& error() const noexcept { return error_; }
    // The summed result as one JSON object (call once done, without error).
    std::string json() const;
    // What each connection (or crr chain) did.
    const std::vector<tally>& tallies() const noexcept { return tallies_; }
    // The sum of tallies, from a run of cfg on `stack` over `loops` loops, as one JSON object.
    static std::string json(const client_config& cfg, std::string_view stack, const std::vector<tally>& tallies,
                            unsigned loops);

private:
    task<void> worker(tally& t);
    task<result<void>> bulk(tally& t);
    task<result<void>> send_fixed(stream& s, tally& t);
    task<result<void>> receive_fixed(stream& s, tally& t);
    task<result<void>> finish_fixed(stream& s, tally& t);
    task<result<void>> rr(tally& t);
    task<result<void>> crr(tally& t);
    task<result<std::unique_ptr<stream>>> open(std::string_view what);
    task<result<void>> finish(stream& s, tally& t);
    void record(tally& t, runtime::time_point since) const;

    runtime::loop& loop_;
    transport& net_;
    client_config cfg_;
    header header_;
    std::vector<tally> tallies_;
    std::size_t finished_ = 0;
    std::optional<std::string> error_;
    std::function<void()> on_done_;
};

}  // namespace coronet::bench
