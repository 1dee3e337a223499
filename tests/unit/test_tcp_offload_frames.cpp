// How much data one segmentation-offload frame carries. On a LAN a window
// goes out as one frame of up to 64 KiB; on a 20 ms path a frame carries
// about a millisecond of the sending rate, so that a Linux receiver sees
// several per round trip (one full-window frame per round trip can keep its
// window at ~58 KB: tcb::frame_segments_for_rate says why).
#include <boost/test/unit_test.hpp>
#include <numeric>

#include "support/stack_under_test.hpp"

using namespace coronet;
using namespace coronet::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t peer_mss = 1460;
constexpr std::uint16_t peer_window = 40 * peer_mss;  // 58,400 bytes, no window scaling
const seq32 irs{1000};

// The payload of each data frame the stack sent since the last look (their
// checksums are left to the device, so sizes are what the test reads).
std::vector<std::size_t> data_frames(stack_under_test& s) {
    constexpr std::size_t headers = 14 + 20 + 20;  // Ethernet, IPv4, TCP without options
    std::vector<std::size_t> out;
    s.sim.end_turn();  // the turn the test played by hand sends
    for (const auto& p : s.dev.take_sent())
        if (p.size() > headers) out.push_back(p.size() - headers);
    return out;
}

std::size_t total(const std::vector<std::size_t>& frames) {
    return std::accumulate(frames.begin(), frames.end(), std::size_t{0});
}

// One round trip after `frames` left, the peer acknowledges them: each on
// its own (as a Linux receiver acknowledges each skb of more than one
// segment), or all with one ACK. Returns the frames those ACKs released.
enum class acks { each_frame, one };
std::vector<std::size_t> acknowledge(stack_under_test& s, seq32 iss, std::size_t& acked,
                                     const std::vector<std::size_t>& frames, acks how) {
    s.sim.run_for(20ms);
    const auto ack = [&] {
        s.inject(
            segment{40000, 50000}.seq(irs + 1).ack(iss + 1 + static_cast<std::uint32_t>(acked)).window(peer_window));
    };
    for (const std::size_t len : frames) {
        acked += len;
        if (how == acks::each_frame) ack();
    }
    if (how == acks::one) ack();
    s.sim.run_for(0us);  // what is ready now, so that the next round trip is exactly 20 ms
    return data_frames(s);
}

// Unpaced (pacing, the default, sizes frames to its rate instead: the
// sim's pacing suite): frames sized to the window over SRTT. NewReno,
// which asks for no pacing of its own (BBR, the default, does).
tcp::tcp_config unpaced() {
    tcp::tcp_config cfg;
    cfg.congestion = "newreno";
    cfg.pacing = tcp::tcp_config::pacing_mode::controller;
    return cfg;
}

struct bulk_sender {
    stack_under_test s;
    opened open;
    std::size_t acked = 0;

    // An offloading stack connected to a peer `rtt` away that offers a
    // 58,400-byte window, with 256 KiB to send.
    explicit bulk_sender(runtime::duration rtt, const tcp::tcp_config& cfg = unpaced(), bool offload = true)
        : s{cfg, 64, offload} {
        introduce_peer(s);
        wire::tcp_options options;
        options.mss = peer_mss;
        auto o = connect_to_peer(s, 50000,
                                 {.iss = irs, .port = 40000, .options = options, .window = peer_window, .rtt = rtt});
        BOOST_REQUIRE(o);
        open = *o;
        const std::vector<std::byte> data(256 * 1024, std::byte{'x'});
        BOOST_REQUIRE(open.conn->app_write(data) == data.size());
        s.sim.run_for(0us);  // what is ready now, so that the next round trip is exactly 20 ms
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_offload_frames)

BOOST_AUTO_TEST_CASE(on_a_lan_the_initial_window_goes_out_as_one_frame) {
    bulk_sender b(0ms);
    BOOST_TEST(b.open.conn->mss() == peer_mss);
    const auto frames = data_frames(b.s);
    BOOST_TEST(frames == std::vector<std::size_t>{10u * peer_mss}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(on_a_20_ms_path_a_window_goes_out_as_a_millisecond_of_the_rate_per_frame) {
    bulk_sender b(20ms);
    BOOST_TEST(b.open.conn->rtt().srtt() == runtime::duration(20ms));
    // The initial window, 10 segments: 2 x 14,600 B / 20 ms x 1 ms is one
    // segment, so frames of two (the least, as Linux's min_tso_segs).
    auto frames = data_frames(b.s);
    BOOST_TEST(frames == std::vector<std::size_t>(5, 2u * peer_mss), boost::test_tools::per_element());
    // Slow start doubles cwnd over each round trip of per-frame ACKs, until
    // the peer's 58,400-byte window holds it.
    frames = acknowledge(b.s, b.open.iss, b.acked, frames, acks::each_frame);
    BOOST_TEST(total(frames) == 20u * peer_mss);
    frames = acknowledge(b.s, b.open.iss, b.acked, frames, acks::each_frame);
    BOOST_TEST(total(frames) == std::size_t{peer_window});
    // A whole window opened by one ACK: 2 x 58,400 B / 20 ms x 1 ms is 4
    // segments a frame, 10 frames, where one frame of 40 segments went before.
    frames = acknowledge(b.s, b.open.iss, b.acked, frames, acks::one);
    BOOST_TEST(frames == std::vector<std::size_t>(10, 4u * peer_mss), boost::test_tools::per_element());
}

// On a LAN pacing is for rates at which the largest frame lasts 100 us or
// more: below that a loop turn per frame costs more than the burst (veth),
// above it something slower than the LAN is on the path (wan.sh's clean
// cell: a relay forwarding ~1 Gbit/s, which unpaced 1.3 MB bursts left
// idle for milliseconds). Pacing every connection, slow start's rate is
// twice the window over SRTT.
BOOST_AUTO_TEST_CASE(on_a_lan_frames_are_paced_only_below_a_lans_rate) {
    tcp::tcp_config all = unpaced();
    all.pacing = tcp::tcp_config::pacing_mode::all;
    tcp::tcp_config bbr;
    bbr.congestion = "bbr";
    {
        // 2 x 14,600 B / 20 us: 11.7 Gbit/s, a 64 KiB frame in 45 us. The
        // initial window goes out as one frame.
        bulk_sender b(20us, all);
        BOOST_TEST(b.open.conn->pacing_rate() == 0u);
        BOOST_TEST(data_frames(b.s) == std::vector<std::size_t>{10u * peer_mss}, boost::test_tools::per_element());
    }
    {
        // 2 x 14,600 B / 1 ms: 234 Mbit/s, a 64 KiB frame in 2.2 ms. The
        // initial window is one frame here too (a millisecond of the rate
        // is 20 segments).
        bulk_sender b(1ms, all);
        BOOST_TEST(b.open.conn->pacing_rate() == 2u * 10u * peer_mss * 1000u);
        BOOST_TEST(data_frames(b.s) == std::vector<std::size_t>{10u * peer_mss}, boost::test_tools::per_element());
    }
    {
        // BBR, the default, before its first ACK: 2.89 x 14,600 B per
        // handshake RTT (as Linux's bbr_init_pacing_rate_from_rtt): at 2 ms
        // 167 Mbit/s, paced; at 20 us 16.7 Gbit/s, a LAN's rate. Until
        // 2026-12-06 it took a nominal millisecond (334 Mbit/s) on every
        // path, so the first round trip of a LAN was paced.
        const auto rate = bulk_sender(2ms, bbr).open.conn->pacing_rate();
        BOOST_TEST(rate > 20'000'000u);
        BOOST_TEST(rate < 22'500'000u);
        BOOST_TEST(bulk_sender(20us, bbr).open.conn->pacing_rate() == 0u);
    }
    // Without offload a frame is one segment: 1,460 B lasts 50 us at 234
    // Mbit/s, unpaced (a turn per frame; pacing it cut bench.sh's row from
    // 4.3 to 1.1 Gbit/s); at 2 x 14,600 B / 2 ms (117 Mbit/s) it lasts 100 us.
    BOOST_TEST(bulk_sender(1ms, all, false).open.conn->pacing_rate() == 0u);
    BOOST_TEST(bulk_sender(2ms, all, false).open.conn->pacing_rate() == 2u * 10u * peer_mss * 500u);
}

// The counters count segments as the wire carries them (as Linux counts
// TcpOutSegs and tcpi_total_retrans), not frames: a frame of ten segments
// is ten sent, and a resend of two in one frame two retransmissions. Until
// 2026-12-06 each frame counted one, and wan.sh's retransmission columns
// set coronet's frames beside the kernel's segments.
BOOST_AUTO_TEST_CASE(segments_sent_and_resent_are_counted_as_the_wire_carries_them) {
    bulk_sender b(0ms);
    const auto& st = b.open.conn->stats();
    auto frames = data_frames(b.s);
    BOOST_REQUIRE(frames == std::vector<std::size_t>{10u * peer_mss});
    BOOST_TEST(st.segments_sent == 2u + 10u);  // the SYN, the handshake's ACK, the frame
    // Nothing comes back: the timeout resends the first segment (cwnd one segment).
    b.s.sim.run_for(b.open.conn->rtt().rto() + 1ms);
    frames = data_frames(b.s);
    BOOST_REQUIRE(frames == std::vector<std::size_t>{peer_mss});
    BOOST_TEST(st.retransmits == 1u);
    BOOST_TEST(st.timeouts == 1u);
    // Its ACK doubles cwnd: the next two segments are resent as one frame, two retransmissions.
    b.acked = peer_mss;
    b.s.inject(segment{40000, 50000}
                   .seq(irs + 1)
                   .ack(b.open.iss + 1 + static_cast<std::uint32_t>(b.acked))
                   .window(peer_window));
    b.s.sim.run_for(0us);
    frames = data_frames(b.s);
    BOOST_REQUIRE(frames == std::vector<std::size_t>{2u * peer_mss});
    BOOST_TEST(st.retransmits == 3u);
    BOOST_TEST(st.segments_sent == 2u + 10u + 1u + 2u);
    BOOST_TEST(b.s.tcp.counters().segments_out == st.segments_sent);  // the layer's count, the same way
}

BOOST_AUTO_TEST_SUITE_END()
