// ICMP errors reaching TCP (RFC 5927): "fragmentation needed" lowers the
// path MTU and the MSS and resends what the narrow hop dropped (RFC 1191);
// unreachable ends an open at once and is a soft error later (RFC 1122
// 4.2.3.9); errors that quote no connection, or a sequence number not in
// flight, change nothing. On virtual time, against a hand-driven peer and
// a router that exists only as the ICMP it sends.
#include <boost/test/unit_test.hpp>
#include <coronet/wire/icmp.hpp>

#include "support/boost_print.hpp"
#include "support/stack_under_test.hpp"

using namespace coronet;
using namespace coronet::test;
using namespace std::chrono_literals;
namespace icmp_type = wire::icmp_type;
namespace unreachable = wire::icmp_unreachable;

namespace {

// An established connection (the peer's MSS 1460, no timestamps) with
// `segments` full segments of data sent and not yet acknowledged.
struct sending_pair : connected_stack {
    explicit sending_pair(std::size_t segments, const tcp::tcp_config& cfg = {}, bool sack = false)
        : connected_stack(peer_syn_options(1460, sack), cfg) {
        BOOST_REQUIRE_EQUAL(conn->mss(), 1460u);
        write(segments * 1460);
        BOOST_REQUIRE_EQUAL(s.take_segments().size(), segments);
    }
    void write(std::size_t n) {
        const std::string data(n, 'd');
        BOOST_REQUIRE_EQUAL(conn->app_write(std::as_bytes(std::span{data.data(), data.size()})), n);
        s.sim.run_for(1ms);
    }
    // An ICMP error quoting our segment at offset `at` of the stream.
    void icmp(std::uint8_t type, std::uint8_t code, std::uint32_t at, std::uint16_t mtu = 0,
              std::uint16_t port = connected_stack::peer_port) {
        s.dev.inject(icmp_error_frame(type, code, {connected_stack::our_port, port, iss + 1 + at, 1500}, mtu));
        s.sim.run_for(1ms);
    }
    void ack(std::uint32_t bytes) {
        s.inject(segment{connected_stack::peer_port, connected_stack::our_port}.seq(irs + 1).ack(iss + 1 + bytes));
        s.sim.run_for(1ms);
    }
};

// The payloads of segments, each at most max_payload, cover [from, to) of
// the sequence space in order.
void check_cover(const std::vector<received_segment>& segs, seq32 from, seq32 to, std::size_t max_payload) {
    seq32 next = from;
    for (const auto& g : segs) {
        BOOST_TEST(g.payload.size() <= max_payload, describe(g));
        BOOST_TEST(g.h.seq.value == next.value, describe(g));
        next = g.h.seq + static_cast<std::uint32_t>(g.payload.size());
    }
    BOOST_TEST(next.value == to.value);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(icmp)

BOOST_AUTO_TEST_CASE(fragmentation_needed_resends_the_flight_in_smaller_segments_at_once) {
    sending_pair p(4);
    const std::uint32_t cwnd = p.conn->cwnd();
    p.icmp(icmp_type::dest_unreachable, unreachable::fragmentation_needed, 0, 1400);
    BOOST_TEST(p.conn->mss() == 1360u);
    BOOST_TEST(p.conn->stats().mss_reductions == 1u);
    BOOST_TEST(p.s.tcp.counters().icmp_path_mtu == 1u);
    BOOST_TEST(p.s.host.path_mtu(peer_ip).mtu == 1400u);
    // All four were too big: resent now, not after a timeout, in 1360-byte segments.
    const auto resent = p.s.take_segments();
    BOOST_TEST(resent.size() == 5u);
    check_cover(resent, p.iss + 1, p.iss + 1 + 4 * 1460, 1360);
    BOOST_TEST(p.conn->cwnd() == cwnd);  // the window is not a loss's: nothing more is in the network
    BOOST_TEST(p.conn->stats().timeouts == 0u);
    // The same report again (the router answers every big datagram) is no news.
    p.icmp(icmp_type::dest_unreachable, unreachable::fragmentation_needed, 1460, 1400);
    p.s.expect_nothing();
    BOOST_TEST(p.s.tcp.counters().icmp_mtu_ignored == 1u);
    // New data goes out at the new size.
    p.ack(4 * 1460);
    p.write(3 * 1360);
    check_cover(p.s.take_segments(), p.iss + 1 + 4 * 1460, p.iss + 1 + 4 * 1460 + 3 * 1360, 1360);
    p.s.check_invariants();
}

// A path-MTU drop inside a fast recovery marks lost what it sent there, at
// the old size, and that is resent without a reduction (the narrow hop is
// no congestion): the ACK that ends the recovery starts no other, as data
// that loss detection marked lost past the recovery point would.
BOOST_AUTO_TEST_CASE(what_a_path_mtu_drop_marked_lost_starts_no_recovery_as_one_ends) {
    tcp::tcp_config cfg;
    cfg.congestion = "newreno";
    cfg.pacing = tcp::tcp_config::pacing_mode::off;
    sending_pair p(10, cfg, true);
    p.write(10 * 1460);  // waits for the window
    BOOST_REQUIRE(p.s.take_segments().empty());
    const seq32 first = p.iss + 1;
    wire::tcp_options o;
    o.sack[0] = {first + 1460, first + 10 * 1460};
    o.sack_count = 1;
    p.s.inject(p.from_peer().seq(p.irs + 1).ack(first).options(o));  // the first segment was lost
    p.s.sim.run_for(1ms);
    BOOST_REQUIRE(p.conn->stats().recoveries == 1u);
    BOOST_REQUIRE(p.s.take_segments().size() > 1u);  // the resend, and new data under PRR
    const std::uint32_t ssthresh = p.conn->congestion().ssthresh();
    p.icmp(icmp_type::dest_unreachable, unreachable::fragmentation_needed, 10 * 1460, 1400);
    BOOST_REQUIRE(p.conn->stats().mss_reductions == 1u);
    p.s.take_segments();
    p.ack(10 * 1460);  // past the recovery point; the new data is still out, resent smaller
    BOOST_REQUIRE(p.conn->board().lost_bytes() > 0u);
    BOOST_TEST(p.conn->stats().recoveries == 1u);
    BOOST_TEST(p.conn->congestion().ssthresh() == ssthresh);
    BOOST_TEST(p.conn->cwnd() == ssthresh);  // the recovery ended there
    BOOST_TEST(p.conn->stats().timeouts == 0u);
}

BOOST_AUTO_TEST_CASE(forged_or_stale_errors_change_nothing) {
    sending_pair p(2);
    // A sequence number not in flight: beyond what was sent, and below SND.UNA once acknowledged.
    p.icmp(icmp_type::dest_unreachable, unreachable::fragmentation_needed, 2 * 1460, 576);
    p.icmp(icmp_type::dest_unreachable, unreachable::host, 5 * 1460);
    BOOST_TEST(p.s.tcp.counters().icmp_out_of_window == 2u);
    // Another port pair: no such connection.
    p.icmp(icmp_type::dest_unreachable, unreachable::fragmentation_needed, 0, 576, connected_stack::peer_port + 1);
    BOOST_TEST(p.s.tcp.counters().icmp_no_connection == 1u);
    // An MTU no smaller than the datagram it quotes is not about it (RFC 1191 4).
    p.icmp(icmp_type::dest_unreachable, unreachable::fragmentation_needed, 0, 1500);
    BOOST_TEST(p.s.tcp.counters().icmp_mtu_ignored == 1u);
    // Codes with no meaning, and a source quench (RFC 6633: ignored).
    p.icmp(icmp_type::dest_unreachable, 200, 0);
    BOOST_TEST(p.s.tcp.counters().icmp_ignored == 1u);
    p.icmp(icmp_type::source_quench, 0, 0);
    BOOST_TEST(p.s.host.counters().icmp_other == 1u);
    p.s.expect_nothing();
    BOOST_TEST(p.conn->mss() == 1460u);
    BOOST_TEST(p.conn->stats().network_errors == 0u);
    BOOST_TEST(p.conn->current() == tcp::state::established);
    p.ack(2 * 1460);
    p.icmp(icmp_type::dest_unreachable, unreachable::fragmentation_needed, 0, 576);
    BOOST_TEST(p.s.tcp.counters().icmp_out_of_window == 3u);
    BOOST_TEST(p.conn->mss() == 1460u);
}

BOOST_AUTO_TEST_CASE(an_error_that_quotes_someone_elses_datagram_is_dropped_by_the_host) {
    sending_pair p(1);
    auto frame = icmp_error_frame(icmp_type::dest_unreachable, unreachable::port,
                                  {connected_stack::our_port, connected_stack::peer_port, p.iss + 1});
    // The quoted source is not us: flip a byte of it, and fix the ICMP checksum.
    constexpr std::size_t icmp_at = 14 + 20, quoted_src = icmp_at + 8 + 12;
    frame[quoted_src + 3] ^= std::byte{0x01};
    const wire::mut_bytes msg{frame.data() + icmp_at, frame.size() - icmp_at};
    wire::icmp_repr{.type = icmp_type::dest_unreachable, .code = unreachable::port}.emit(msg);
    p.s.dev.inject(frame);
    p.s.sim.run_for(1ms);
    BOOST_TEST(p.s.host.counters().icmp_errors_dropped == 1u);
    BOOST_TEST(p.conn->current() == tcp::state::established);
}

BOOST_AUTO_TEST_CASE(an_unreachable_answer_to_the_syn_fails_the_open_at_once) {
    const std::pair<std::uint8_t, std::errc> cases[] = {
        {unreachable::port, std::errc::connection_refused},
        {unreachable::protocol, std::errc::no_protocol_option},
        {unreachable::host, std::errc::host_unreachable},
        {unreachable::net, std::errc::network_unreachable},
        {unreachable::admin_prohibited, std::errc::host_unreachable},
    };
    for (const auto& [code, expected] : cases) {
        BOOST_TEST_CONTEXT("code " << int{code}) {
            stack_under_test s;
            introduce_peer(s);
            auto c = s.tcp.connect(peer_ip, connected_stack::peer_port, connected_stack::our_port);
            BOOST_REQUIRE(c);
            s.sim.run_for(1ms);
            const auto syn = s.take_segments();
            BOOST_REQUIRE_EQUAL(syn.size(), 1u);
            // A forged error (a sequence number other than the SYN's) changes nothing...
            s.dev.inject(
                icmp_error_frame(icmp_type::dest_unreachable, code,
                                 {connected_stack::our_port, connected_stack::peer_port, syn[0].h.seq + 7, 60}));
            s.sim.run_for(1ms);
            BOOST_TEST((*c)->current() == tcp::state::syn_sent);
            // ...the one that quotes the SYN ends the open, long before a SYN timeout.
            s.dev.inject(icmp_error_frame(icmp_type::dest_unreachable, code,
                                          {connected_stack::our_port, connected_stack::peer_port, syn[0].h.seq, 60}));
            s.sim.run_for(1ms);
            BOOST_TEST((*c)->current() == tcp::state::closed);
            BOOST_TEST((*c)->error() == std::make_error_code(expected));
            BOOST_TEST(s.transitions.saw(tcp::state::syn_sent, tcp::state::closed));
        }
    }
}

BOOST_AUTO_TEST_CASE(an_unreachable_once_established_is_a_soft_error_the_timeout_reports) {
    tcp::tcp_config cfg;
    cfg.max_retransmits = 3;
    sending_pair p(1, cfg);
    p.icmp(icmp_type::dest_unreachable, unreachable::host, 0);
    BOOST_TEST(p.conn->current() == tcp::state::established);
    BOOST_TEST(p.conn->stats().network_errors == 1u);
    BOOST_TEST(!p.conn->error());
    // The peer stays silent: the retransmission timeout ends the connection
    // with the reason the network gave, not a bare "timed out".
    p.s.sim.run_for(10min);
    BOOST_TEST(p.conn->current() == tcp::state::closed);
    BOOST_TEST(p.conn->error() == std::make_error_code(std::errc::host_unreachable));
}

BOOST_AUTO_TEST_CASE(a_path_below_the_floor_is_taken_as_the_floor_without_df) {
    sending_pair p(1);
    p.icmp(icmp_type::dest_unreachable, unreachable::fragmentation_needed, 0, 296);
    BOOST_TEST(p.s.host.path_mtu(peer_ip).mtu == 552u);
    BOOST_TEST(p.conn->mss() == 512u);
    std::vector<bool> df;
    p.s.drain([&](const sent_frame& f) {
        if (f.tcp) df.push_back(f.dont_fragment);
    });
    BOOST_REQUIRE_EQUAL(df.size(), 3u);    // 1460 bytes again, in 512-byte segments
    for (bool set : df) BOOST_TEST(!set);  // the narrow hop may fragment them
}

BOOST_AUTO_TEST_CASE(a_learned_path_mtu_expires_and_the_mss_comes_back) {
    sending_pair p(1);
    p.icmp(icmp_type::dest_unreachable, unreachable::fragmentation_needed, 0, 1400);
    p.s.take_segments();
    p.ack(1460);
    p.s.sim.run_for(11min);  // RFC 1191 5: try the interface's MTU again after 10 minutes
    p.s.take_segments();     // keep-alive is off: nothing, or only ACKs
    p.write(2 * 1460);
    const auto segs = p.s.take_segments();
    BOOST_REQUIRE_EQUAL(segs.size(), 2u);
    BOOST_TEST(segs[0].payload.size() == 1460u);
    BOOST_TEST(p.conn->mss() == 1460u);
}

BOOST_AUTO_TEST_SUITE_END()
