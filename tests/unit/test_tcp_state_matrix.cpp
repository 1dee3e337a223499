// RFC 9293 3.10.7 (with RFC 5961) for one connection, as a table: every
// state a connection can be driven into, times every kind of segment the
// peer can send, and the answer each must draw (what the stack sends, the
// state it is in afterwards), after the FreeBSD tcp-testsuite's
// state-event-engine. States are reached only through the public surface
// (connect/listen, the application calls, the peer's segments); both ISNs
// sit just below 2^32, so every cell's numbers wrap.
#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>

#include "support/boost_print.hpp"
#include "support/data_test_case.hpp"
#include "support/stack_under_test.hpp"

using namespace coronet;
using namespace coronet::test;
using namespace std::chrono_literals;
using tcp::state;
namespace bdata = boost::unit_test::data;

namespace {

// ---- the segments ---------------------------------------------------------

enum class kind {
    syn,                 // SYN alone at RCV.NXT (in SYN_SENT: the peer's SYN crossing ours)
    syn_again,           // SYN alone at the peer's ISN: its SYN again (an old segment once synchronized)
    syn_ack,             // SYN+ACK at the peer's ISN acking all we sent: its SYN+ACK again
    ack,                 // ACK of all we sent (SND.NXT)
    old_ack,             // ACK of SND.UNA - 1: a duplicate (RFC 9293: ignored)
    too_old_ack,         // ACK below SND.UNA - MAX.SND.WND (RFC 5961 5.2)
    unsent_ack,          // ACK of data never sent (SND.NXT + 1000)
    data,                // 5 bytes at RCV.NXT, ACK of SND.NXT
    old_data,            // 5 bytes ending at RCV.NXT - 1: a retransmission
    data_beyond_window,  // 5 bytes 2^30 past RCV.NXT
    fin,                 // the peer's FIN: at RCV.NXT acking all we sent, or, once it had one, that FIN again
    rst,                 // RST alone at RCV.NXT
    rst_in_window,       // RST alone at RCV.NXT + 1000
    rst_out_of_window,   // RST alone 2^30 past RCV.NXT
    rst_ack,             // RST+ACK at RCV.NXT acking all we sent (a refusal, in SYN_SENT)
    data_without_ack,    // 5 bytes at RCV.NXT, no ACK flag
};
constexpr std::array kinds{kind::syn,           kind::syn_again,          kind::syn_ack,    kind::ack,
                           kind::old_ack,       kind::too_old_ack,        kind::unsent_ack, kind::data,
                           kind::old_data,      kind::data_beyond_window, kind::fin,        kind::rst,
                           kind::rst_in_window, kind::rst_out_of_window,  kind::rst_ack,    kind::data_without_ack};

constexpr const char* name(kind k) {
    constexpr std::array names{"SYN",
                               "SYN again",
                               "SYN+ACK",
                               "ACK",
                               "old ACK",
                               "too old ACK",
                               "ACK of unsent data",
                               "in-window data",
                               "old data",
                               "data beyond the window",
                               "FIN",
                               "RST at RCV.NXT",
                               "in-window RST",
                               "out-of-window RST",
                               "RST+ACK",
                               "data without ACK"};
    return names[static_cast<std::size_t>(k)];
}

const state states[] = {state::syn_sent,   state::syn_rcvd, state::established, state::fin_wait_1, state::fin_wait_2,
                        state::close_wait, state::closing,  state::last_ack,    state::time_wait};

// ---- the answers ----------------------------------------------------------

enum class reply {
    nothing,
    ack,             // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, RCV.NXT after what the segment brought
    rst,             // <SEQ=SEG.ACK><CTL=RST>
    syn_ack,         // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
    ack_or_nothing,  // the RFC says only "ignore the segment text": either is right
};

struct answer {
    reply sent;
    state after;
    std::uint32_t taken = 0;  // sequence numbers the stack accepts from the segment (data, FIN)
};

// The RFC's answers, one row per state in `states`, one column per kind in `kinds`.
constexpr answer N(state s) { return {reply::nothing, s}; }
constexpr answer A(state s, std::uint32_t taken = 0) { return {reply::ack, s, taken}; }
constexpr answer R(state s) { return {reply::rst, s}; }
constexpr answer I(state s) { return {reply::ack_or_nothing, s}; }
using enum state;

// clang-format off
constexpr answer rfc[9][16] = {
//  SYN                    SYN again               SYN+ACK                 ACK              old ACK          too old ACK      unsent ACK       data               old data         beyond window    FIN                  RST          in-window RST    out-of-window RST  RST+ACK      no ACK
// SYN_SENT, RFC 9293 3.10.7.3: an unacceptable ACK draws <SEQ=SEG.ACK><CTL=RST>; RST counts only with an acceptable ACK; neither SYN nor RST: dropped.
  {{reply::syn_ack, syn_rcvd}, {reply::syn_ack, syn_rcvd}, A(established),    N(syn_sent),     R(syn_sent),     R(syn_sent),     R(syn_sent),     N(syn_sent),       N(syn_sent),     N(syn_sent),     N(syn_sent),         N(syn_sent), N(syn_sent),     N(syn_sent),       N(closed),   N(syn_sent)},
// SYN_RCVD from a passive open, 3.10.7.4: a SYN or an RST at RCV.NXT returns it to LISTEN (RFC 1122 4.2.2.20 (e));
// an ACK that is not SND.UNA < SEG.ACK =< SND.NXT draws <SEQ=SEG.ACK><CTL=RST>; an unacceptable segment an ACK
// (first check), an in-window RST a challenge ACK (RFC 5961 3.2).
  {N(listen),              A(syn_rcvd),            A(syn_rcvd),            N(established),  R(syn_rcvd),     R(syn_rcvd),     R(syn_rcvd),     A(established, 5), A(syn_rcvd),     A(syn_rcvd),     A(close_wait, 1),    N(listen),   A(syn_rcvd),     N(syn_rcvd),       N(listen),   N(syn_rcvd)},
// ESTABLISHED: RFC 5961 challenge ACKs for a SYN (4) and an in-window RST (3); an ACK outside
// [SND.UNA - MAX.SND.WND, SND.NXT] draws an ACK (5.2); a duplicate is ignored.
  {A(established),         A(established),         A(established),         N(established),  N(established),  A(established),  A(established),  A(established, 5), A(established),  A(established),  A(close_wait, 1),    N(closed),   A(established),  N(established),    N(closed),   N(established)},
  {A(fin_wait_1),          A(fin_wait_1),          A(fin_wait_1),          N(fin_wait_2),   N(fin_wait_1),   A(fin_wait_1),   A(fin_wait_1),   A(fin_wait_2, 5),  A(fin_wait_1),   A(fin_wait_1),   A(time_wait, 1),     N(closed),   A(fin_wait_1),   N(fin_wait_1),     N(closed),   N(fin_wait_1)},
  {A(fin_wait_2),          A(fin_wait_2),          A(fin_wait_2),          N(fin_wait_2),   N(fin_wait_2),   A(fin_wait_2),   A(fin_wait_2),   A(fin_wait_2, 5),  A(fin_wait_2),   A(fin_wait_2),   A(time_wait, 1),     N(closed),   A(fin_wait_2),   N(fin_wait_2),     N(closed),   N(fin_wait_2)},
// After the peer's FIN, its text is ignored (3.10.7.4 seventh) and its FIN again is an old segment: ACKed.
// TIME_WAIT (last row) is no exception to the first four checks nor to RFC 5961's.
  {A(close_wait),          A(close_wait),          A(close_wait),          N(close_wait),   N(close_wait),   A(close_wait),   A(close_wait),   I(close_wait),     A(close_wait),   A(close_wait),   A(close_wait),       N(closed),   A(close_wait),   N(close_wait),     N(closed),   N(close_wait)},
  {A(closing),             A(closing),             A(closing),             N(time_wait),    N(closing),      A(closing),      A(closing),      I(time_wait),      A(closing),      A(closing),      A(closing),          N(closed),   A(closing),      N(closing),        N(closed),   N(closing)},
  {A(last_ack),            A(last_ack),            A(last_ack),            N(closed),       N(last_ack),     A(last_ack),     A(last_ack),     I(closed),         A(last_ack),     A(last_ack),     A(last_ack),         N(closed),   A(last_ack),     N(last_ack),       N(closed),   N(last_ack)},
  {A(time_wait),           A(time_wait),           A(time_wait),           N(time_wait),    N(time_wait),    A(time_wait),    A(time_wait),    I(time_wait),      A(time_wait),    A(time_wait),    A(time_wait),        N(closed),   A(time_wait),    N(time_wait),      N(closed),   N(time_wait)},
};
// clang-format on

// ---- the connection -------------------------------------------------------

constexpr std::uint16_t peer_port = 40000, active_port = 50000, service_port = 80;
// Long enough for a delayed ACK (RFC 9293 3.8.6.3: under 0.5 s; ours 40 ms),
// short of any retransmission (RFC 6298 2.4's 1 s floor, set below).
constexpr auto settle = 200ms;

tcp::tcp_config config() {
    tcp::tcp_config cfg;
    cfg.rto.min = 1s;
    return cfg;
}

// One connection driven into `target`, and the peer's view of its numbers
// (kept by the test, not read from the TCB): our ISS, the peer's IRS,
// SND.UNA, SND.NXT and RCV.NXT as they must be.
struct one_connection {
    stack_under_test s{config()};
    std::shared_ptr<tcp::listener_state> listener;
    std::shared_ptr<tcp::tcb> conn;
    std::uint16_t local_port = active_port;
    const seq32 iss = before_wrap(1), irs = before_wrap(2);
    seq32 snd_una = iss, snd_nxt = iss + 1, rcv_nxt = irs + 1;

    explicit one_connection(state target) {
        introduce_peer(s);
        switch (target) {
            case syn_rcvd:
                passive_open();
                break;
            case syn_sent:
                active_open();
                break;
            case established:
                establish();
                break;
            case fin_wait_1:
                close_first();
                break;
            case fin_wait_2:
                close_first(), peer_acks_our_fin();
                break;
            case close_wait:
                establish(), peer_closes();
                break;
            case closing:
                close_first(), peer_closes();
                break;
            case last_ack:
                establish(), peer_closes(), close_first();
                break;
            case time_wait:
                close_first(), peer_acks_our_fin(), peer_closes();
                break;
            default:
                BOOST_FAIL("no way into " << tcp::to_string(target));
        }
    }

    segment from_peer() const { return segment{peer_port, local_port}; }
    segment from_us() const { return segment{local_port, peer_port}; }
    void settle_down() { s.sim.run_for(settle); }
    bool peer_closed() const { return rcv_nxt == irs + 2; }

    void active_open() {
        place_next_iss(s, active_port, peer_port, iss);
        conn = s.tcp.connect(peer_ip, peer_port, active_port).value();
        settle_down();
        s.expect_sent(from_us().syn().seq(iss));
        expect(syn_sent);
    }
    void passive_open() {
        local_port = service_port;
        listener = s.tcp.listen(service_port, 8).value();
        place_next_iss(s, service_port, peer_port, iss);
        s.inject(from_peer().syn().seq(irs));
        settle_down();
        s.expect_sent(from_us().syn().seq(iss).ack(irs + 1));
        s.tcp.for_each([&](tcp::tcb& c) { conn = c.shared_from_this(); });
        snd_nxt = iss + 1;
        expect(syn_rcvd);
    }
    void establish() {
        active_open();
        s.inject(from_peer().syn().seq(irs).ack(iss + 1));
        settle_down();
        snd_una = snd_nxt = iss + 1;
        s.expect_sent(from_us().seq(snd_nxt).ack(rcv_nxt));
        expect(established);
    }
    // We close first (from ESTABLISHED) or second (from CLOSE_WAIT): our FIN.
    void close_first() {
        if (conn == nullptr) establish();
        conn->app_shutdown_write();
        settle_down();
        s.expect_sent(from_us().fin().seq(snd_nxt).ack(rcv_nxt));
        snd_nxt = snd_nxt + 1;
        expect(peer_closed() ? last_ack : fin_wait_1);
    }
    void peer_acks_our_fin() {
        s.inject(from_peer().seq(rcv_nxt).ack(snd_nxt));
        settle_down();
        s.expect_nothing();
        snd_una = snd_nxt;
        expect(fin_wait_2);
    }
    // The peer's FIN, acknowledging nothing new: CLOSE_WAIT, CLOSING or TIME_WAIT.
    void peer_closes() {
        const bool we_closed = snd_nxt == iss + 2;
        s.inject(from_peer().fin().seq(rcv_nxt).ack(snd_una));
        rcv_nxt = rcv_nxt + 1;
        settle_down();
        s.expect_sent(from_us().seq(snd_nxt).ack(rcv_nxt));
        expect(!we_closed ? close_wait : snd_una == snd_nxt ? time_wait : closing);
    }

    void expect(state want) {
        BOOST_REQUIRE_MESSAGE(conn->current() == want, "in " << tcp::to_string(conn->current()) << ", not "
                                                             << tcp::to_string(want) << ": " << s.transitions.trace());
        BOOST_REQUIRE_EQUAL(conn->snd_una().value, snd_una.value);
        BOOST_REQUIRE_EQUAL(conn->snd_nxt().value, snd_nxt.value);
        if (want != syn_sent) BOOST_REQUIRE_EQUAL(conn->rcv_nxt().value, rcv_nxt.value);
    }

    // The segment of this kind, as the peer would send it now.
    segment make(kind k) const {
        constexpr std::uint32_t far = (1u << 30) + 4096;
        const std::string_view hello = "hello";
        switch (k) {
            case kind::syn:
                return from_peer().syn().seq(conn->current() == syn_sent ? irs : rcv_nxt);
            case kind::syn_again:
                return from_peer().syn().seq(irs);
            case kind::syn_ack:
                return from_peer().syn().seq(irs).ack(snd_nxt);
            case kind::ack:
                return from_peer().seq(rcv_nxt).ack(snd_nxt);
            case kind::old_ack:
                return from_peer().seq(rcv_nxt).ack(snd_una - 1);
            case kind::too_old_ack:
                return from_peer().seq(rcv_nxt).ack(snd_una - 100000);
            case kind::unsent_ack:
                return from_peer().seq(rcv_nxt).ack(snd_nxt + 1000);
            case kind::data:
                return from_peer().seq(rcv_nxt).ack(snd_nxt).data(hello);
            case kind::old_data:
                return from_peer().seq(rcv_nxt - 5).ack(snd_nxt).data(hello);
            case kind::data_beyond_window:
                return from_peer().seq(rcv_nxt + far).ack(snd_nxt).data(hello);
            case kind::fin:
                if (peer_closed()) return from_peer().fin().seq(rcv_nxt - 1).ack(snd_una);
                return from_peer().fin().seq(rcv_nxt).ack(snd_nxt);
            case kind::rst:
                return from_peer().rst().seq(rcv_nxt);
            case kind::rst_in_window:
                return from_peer().rst().seq(rcv_nxt + 1000);
            case kind::rst_out_of_window:
                return from_peer().rst().seq(rcv_nxt + far);
            case kind::rst_ack:
                return from_peer().rst().seq(rcv_nxt).ack(snd_nxt);
            case kind::data_without_ack:
                return from_peer().seq(rcv_nxt).data(hello);
        }
        return from_peer();
    }
};

std::string cell(state s, kind k) { return std::string(tcp::to_string(s)) + " x " + name(k); }

// What the stack sent and became after seg, against the RFC's answer: what differs, or nothing.
std::optional<std::string> differs(one_connection& c, const segment& seg, const answer& want) {
    const auto got = c.s.take_segments();
    const seq32 rcv_after = c.rcv_nxt + want.taken;
    std::optional<segment> expected;
    switch (want.sent) {
        case reply::nothing:
            break;
        case reply::ack:
            expected = c.from_us().seq(c.snd_nxt).ack(rcv_after);
            break;
        case reply::rst:
            expected = c.from_us().rst().seq(seg.header().ack);
            break;
        case reply::syn_ack:
            expected = c.from_us().syn().seq(c.iss).ack(c.irs + 1);
            break;
        case reply::ack_or_nothing:
            if (!got.empty()) expected = c.from_us().seq(c.snd_nxt).ack(c.rcv_nxt);
            break;
    }
    if (got.size() != (expected ? 1u : 0u)) {
        std::string what = "sent " + std::to_string(got.size()) + " segments";
        for (const auto& g : got) what += " [" + describe(g) + "]";
        return what + (expected ? ", expected " + describe(*expected) : ", expected nothing");
    }
    if (expected)
        if (auto why = mismatch(got.front(), *expected)) return why;
    if (want.after == state::listen) {
        if (!c.s.transitions.saw(state::syn_rcvd, state::listen) || c.s.tcp.connection_count() != 0)
            return "not back in LISTEN: " + c.s.transitions.trace();
    } else if (c.conn->current() != want.after) {
        return "in " + std::string(tcp::to_string(c.conn->current())) + ", expected " +
               std::string(tcp::to_string(want.after)) + ": " + c.s.transitions.trace();
    } else if (tcp::synchronized(want.after) && want.after != state::time_wait && c.conn->rcv_nxt() != rcv_after) {
        return "RCV.NXT " + std::to_string(c.conn->rcv_nxt().value) + ", expected " + std::to_string(rcv_after.value);
    }
    return std::nullopt;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_state_matrix)

BOOST_DATA_TEST_CASE(each_state_answers_each_segment_as_rfc_9293_says,
                     bdata::make(states) * bdata::xrange(kinds.size()), from, column) {
    const kind k = kinds[column];
    const auto row = static_cast<std::size_t>(std::ranges::find(states, from) - std::begin(states));
    one_connection c{from};
    const segment seg = c.make(k);
    c.s.inject(seg);
    c.settle_down();
    const auto diff = differs(c, seg, rfc[row][column]);
    BOOST_TEST(!diff.has_value(), cell(from, k) << ": " << diff.value_or(""));
}

BOOST_AUTO_TEST_SUITE_END()
