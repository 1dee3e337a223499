// The stack under test: one host (10.0.0.1) with TCP on virtual time, on a
// tap_device whose far end is the test, which plays the peer (10.0.0.2) by
// hand: it injects the peer's segments, runs the clock, and checks what the
// stack sent (expect_sent / expect_nothing) and the connection's state.
// Runs are deterministic: fixed ISN secret, fixed clock origin; logging is
// off unless CORONET_TEST_TRACE is set.
#pragma once

#include <algorithm>
#include <array>
#include <coronet/net/host.hpp>
#include <coronet/runtime/sim_loop.hpp>
#include <coronet/tcp/layer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/frames.hpp"
#include "support/segment.hpp"
#include "support/tap_device.hpp"
#include "support/transition_log.hpp"

namespace coronet::test {

// The seed of every stack under test's random source (its ISNs and ports are
// reproducible, and ISNs placeable: place_next_iss).
inline constexpr std::uint64_t stack_seed = 1;

struct stack_under_test {
    runtime::sim_loop sim;
    tap_device dev;
    net::host host;
    tcp::tcp_layer tcp;
    transition_log transitions;  // an arrow not in the diagram fail()s

    // The host and its TCP on a tap_device of `frames` buffers (and as many
    // 64 KiB ones for segmentation-offload frames with `offload`).
    explicit stack_under_test(const tcp::tcp_config& cfg = {}, std::size_t frames = 64, bool offload = false);

    // Runs virtual time forward by d one timer at a time, calling between(),
    // which takes and answers the frames sent, after each.
    template <class F>
    void advance(runtime::duration d, F&& between) {
        const runtime::time_point end = sim.now() + d;
        while (const runtime::timer_node* next = sim.timers().top()) {
            if (next->deadline > end) break;
            sim.run_for(std::max(next->deadline - sim.now(), runtime::duration::zero()));
            between();
        }
        sim.run_for(end - sim.now());
        between();
    }

    // Takes every frame sent so far, decoded, to each(const sent_frame&);
    // answers the stack's ARP requests for the peer, and goes on until the
    // stack sends nothing more. What the test did by hand since the clock
    // last ran (frames injected, application calls) was a turn of the
    // loop: it ends first, so that its output is sent.
    template <class F>
    void drain(F&& each) {
        for (;;) {
            sim.end_turn();
            auto frames = dev.take_sent();
            if (frames.empty()) return;
            bool asked = false;
            for (auto& p : frames) {
                const sent_frame f = decode_sent(p.data(), dev.mtu());
                asked = asked || f.asks_for_peer();
                each(f);
            }
            frames.clear();
            if (asked) dev.inject(peer_arp_frame(wire::arp_op::reply));
        }
    }

    // The peer sends s (its checksum good).
    void inject(const segment& s) { dev.inject(peer_tcp_frame(s)); }
    // The TCP segments the stack sent since the last look (drain()).
    std::vector<received_segment> take_segments();
    // The stack sent exactly one segment since the last look, and it matches
    // want (mismatch()); fail()s otherwise. Returns it.
    received_segment expect_sent(const segment& want);
    // The stack sent no segment since the last look; fail()s otherwise.
    void expect_nothing();
    // fail()s unless every connection has snd_una <= snd_nxt, its queues
    // within its buffers and an MSS that fits the MTU, and no datagram was
    // too large to send.
    void check_invariants() const;
};

// Moves the clock forward (by less than 2^32 ticks of 4 us, about 4.8 hours)
// so that the ISN the stack picks now for this 4-tuple is iss: RFC 6528's
// ISN = M + F(4-tuple), M a 4 us clock. Call it before the open.
void place_next_iss(stack_under_test& s, std::uint16_t local_port, std::uint16_t peer_port, seq32 iss);

// The peer's side of an opening handshake.
struct peer_open {
    seq32 iss;
    std::uint16_t port = 40000;
    wire::tcp_options options;  // of its SYN or SYN+ACK
    std::uint16_t window = 65535;
    runtime::duration rtt{};  // connect_to_peer: the SYN+ACK comes this long after the SYN
};

// A connection the handshake established, and what the stack's SYN said.
struct opened {
    std::shared_ptr<tcp::tcb> conn;
    seq32 iss;
    wire::tcp_options options;
};

// The peer's ARP request for the stack's address, from which the host learns its MAC.
void introduce_peer(stack_under_test& s);
// The peer connects to listener l (port local_port): SYN, the stack's SYN+ACK, ACK.
// nullopt when the stack did not answer as a listener must.
std::optional<opened> accept_from_peer(stack_under_test& s, tcp::listener_state& l, std::uint16_t local_port,
                                       const peer_open& p);
// The stack connects from local_port to the peer: its SYN, the peer's SYN+ACK, its ACK.
std::optional<opened> connect_to_peer(stack_under_test& s, std::uint16_t local_port, const peer_open& p);

// The options of the peer's SYN or SYN+ACK: an MSS, SACK-permitted, and
// timestamps from tsval when given.
wire::tcp_options peer_syn_options(std::uint16_t mss, bool sack = false, std::optional<std::uint32_t> tsval = {});

// A stack under test with one connection it opened to the peer (port 50000
// to 40000; the peer's ISN 1000, its SYN+ACK carrying `options`): where
// tests that drive an established connection by hand start.
struct connected_stack {
    static constexpr std::uint16_t our_port = 50000, peer_port = 40000;
    stack_under_test s;
    std::shared_ptr<tcp::tcb> conn;
    seq32 iss, irs{1000};
    explicit connected_stack(const wire::tcp_options& options, const tcp::tcp_config& cfg = {});
    // A segment from the peer's port to ours (the caller numbers it).
    segment from_peer() const { return segment{peer_port, our_port}; }
};

}  // namespace coronet::test
