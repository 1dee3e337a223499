// The stack under test for the harnesses that feed it frames: one host
// (10.0.0.1) with TCP on virtual time, on a device whose far end is the
// harness, and the frames a hand-driven peer (10.0.0.2) sends it. Runs are
// deterministic: fixed ISN secret, fixed clock origin, logging off.
#pragma once

#include <coronet/link/device.hpp>
#include <coronet/net/host.hpp>
#include <coronet/runtime/sim_loop.hpp>
#include <coronet/tcp/layer.hpp>
#include <coronet/wire/arp.hpp>
#include <coronet/wire/tcp.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace coronet::fuzz {

inline const wire::address_v4 stack_ip{0x0a000001}, peer_ip{0x0a000002};
inline constexpr wire::mac_address stack_mac{{2, 0, 0, 0, 0, 1}}, peer_mac{{2, 0, 0, 0, 0, 2}};

// Whether CORONET_FUZZ_TRACE is set: harnesses then say what they do, for
// replaying one input by hand.
bool tracing();

// A device whose far end is the harness: frames the host sends wait in the
// device, holding their pool buffers (so a small pool runs dry as a real one
// does), until the harness calls take_sent(); inject() hands the host a frame.
class tap_device final : public link::device {
public:
    explicit tap_device(std::size_t frames, std::uint16_t mtu = 1500);

    wire::mac_address mac() const override { return stack_mac; }
    std::uint16_t mtu() const override { return mtu_; }
    std::string name() const override { return "tap"; }
    void start(link::frame_sink& sink) override { sink_ = &sink; }
    using link::device::allocate;
    std::optional<storage::packet> allocate(std::size_t wanted) override;
    void transmit(storage::packet frame) override;
    const link::device_counters& counters() const override { return counters_; }

    // Hands one frame to the host as received.
    void inject(wire::bytes frame, const storage::rx_meta& meta = {});
    // The frames sent since the last call; their buffers return to the pool when dropped.
    std::vector<storage::packet> take_sent() { return std::exchange(sent_, {}); }

private:
    std::uint16_t mtu_;
    storage::packet_pool pool_;
    link::frame_sink* sink_ = nullptr;
    std::vector<storage::packet> sent_;
    link::device_counters counters_;
};

// A frame the stack sent, decoded; fail()s if it is not well formed (bad
// length, header or checksum, or larger than the MTU).
struct sent_frame {
    std::optional<wire::arp_repr> arp;
    std::optional<wire::tcp_repr> tcp;  // with its payload:
    wire::bytes payload;                // valid while the frame is
};
sent_frame decode_sent(wire::bytes frame, std::uint16_t mtu);

// A frame from the peer: Ethernet, IPv4 and this TCP header before payload;
// the TCP checksum is damaged unless good_checksum. (A vector per frame:
// test input, not the data path.)
std::vector<std::byte> peer_tcp_frame(const wire::tcp_repr& h, wire::bytes payload, bool good_checksum = true);
// An ARP request (who has 10.0.0.1?) or reply (10.0.0.2 is at peer_mac) from the peer.
std::vector<std::byte> peer_arp_frame(std::uint16_t op);

// The host and its TCP on a sim_loop and a tap_device of `frames` buffers.
struct stack_under_test {
    runtime::sim_loop sim;
    tap_device dev;
    net::host host;
    tcp::tcp_layer tcp;

    stack_under_test(const tcp::tcp_config& cfg, std::size_t frames);
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
};

// The peer's side of an opening handshake.
struct peer_open {
    wire::seq32 iss;
    std::uint16_t port = 40000;
    wire::tcp_options options;  // of its SYN or SYN+ACK
    std::uint16_t window = 65535;
};

// A connection the handshake established, and what the stack's SYN said.
struct opened {
    std::shared_ptr<tcp::tcb> conn;
    wire::seq32 iss;
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

}  // namespace coronet::fuzz
