// Output is decided once per loop turn per connection: what a turn's events
// (segments, timers, the application's requests) leave to send goes out at
// the end of the turn, so a write and a close in one turn make one segment
// with data and FIN, and the ACKs a turn owes make one ACK (or ride on
// data). Counted frame by frame on the simulated wire.
#include <coronet/wire/ethernet.hpp>
#include <coronet/wire/ipv4.hpp>

#include "sim_pair.hpp"
#include "support/boost_print.hpp"

using namespace coronet;
using namespace coronet::test;

namespace turns_test {

// tcpdump's flags, in its order: S F R P and "." for ACK.
std::string flag_letters(std::uint8_t f) {
    using namespace wire::tcp_flag;
    std::string s;
    if (f & syn) s += 'S';
    if (f & fin) s += 'F';
    if (f & rst) s += 'R';
    if (f & psh) s += 'P';
    if (f & ack) s += '.';
    return s;
}

// Passes frames through to a device and writes each TCP segment sent, in
// the order of sending, to a log shared by both ends: "a>b FP. 200" is a
// segment from a with FIN, PSH and ACK and 200 bytes of payload.
class recording_device final : public link::device {
public:
    recording_device(link::device& inner, std::string who, std::vector<std::string>& log)
        : inner_(inner), who_(std::move(who)), log_(log) {}
    wire::mac_address mac() const override { return inner_.mac(); }
    std::uint16_t mtu() const override { return inner_.mtu(); }
    std::string name() const override { return inner_.name(); }
    void start(link::frame_sink& sink) override { inner_.start(sink); }
    using device::allocate;
    std::optional<storage::packet> allocate(std::size_t wanted) override { return inner_.allocate(wanted); }
    void transmit(storage::packet frame) override {
        auto eth = wire::ethernet_view::parse(frame.data());
        if (eth && eth->type() == wire::ethertype::ipv4) {
            auto ip = wire::ipv4_view::parse(eth->payload());
            BOOST_REQUIRE(ip);
            if (ip->protocol() == wire::ip_proto::tcp) {
                auto seg = wire::tcp_view::parse(ip->payload(), ip->src(), ip->dst());
                BOOST_REQUIRE(seg);
                std::string line = who_;
                line += ' ';
                line += flag_letters(wire::tcp_repr::from(*seg).flags);
                if (!seg->payload().empty()) line += ' ' + std::to_string(seg->payload().size());
                log_.push_back(line);
            }
        }
        inner_.transmit(std::move(frame));
    }
    const link::device_counters& counters() const override { return inner_.counters(); }

private:
    link::device& inner_;
    std::string who_;
    std::vector<std::string>& log_;
};

// Two hosts as sim_pair's, each sending through a recording_device.
struct recorded_pair {
    std::vector<std::string> log;
    runtime::sim_loop sim;
    link::sim_link wire{sim};
    recording_device da{wire.a(), "a>b", log}, db{wire.b(), "b>a", log};
    node a{sim, da, "10.0.0.1", {}, 1}, b{sim, db, "10.0.0.2", {}, 2};
    recorded_pair() { sim.run_for(1ms); }
    endpoint b_at(std::uint16_t port) const { return {make_address_v4("10.0.0.2"), port}; }
};

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += "[" + x + "] ";
    return s;
}

// Resumes the awaiting coroutine in the executor's next pass, as an
// application whose answer goes through a posted step (a wrapper task, a
// spawned session) resumes a pass after the data woke it.
struct next_pass {
    runtime::executor& ex;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const { ex.post(h); }
    void await_resume() const noexcept {}
};

// A connect-request-response-close transaction between two coronet stacks,
// each side doing what crr does: the client connects, writes its request
// and reads to the end before closing; the server accepts, reads the
// request, writes the response and closes in one go - at once, or (answer_
// later) a pass after the request woke it. Returns the segments sent.
std::vector<std::string> crr_transaction(bool answer_later) {
    recorded_pair p;
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    listener l{*lr};
    const std::vector<std::byte> request(100, std::byte{'q'}), response(200, std::byte{'r'});
    bool client_done = false, server_done = false;
    std::size_t client_got = 0, server_got = 0;
    auto client = [&]() -> task<void> {
        auto c = co_await connect(p.a.tcp, p.b_at(80));
        BOOST_REQUIRE(c);
        BOOST_REQUIRE(co_await c->write(request));
        std::array<std::byte, 1000> buf{};
        for (;;) {
            auto r = co_await c->read(buf);
            BOOST_REQUIRE(r);
            if (*r == 0) break;
            client_got += *r;
        }
        BOOST_REQUIRE(co_await c->close());
        client_done = true;
    };
    auto server = [&]() -> task<void> {
        auto c = co_await l.accept();
        BOOST_REQUIRE(c);
        std::array<std::byte, 1000> buf{};
        while (server_got < request.size()) {
            auto r = co_await c->read(buf);
            BOOST_REQUIRE(r);
            BOOST_REQUIRE(*r > 0);
            server_got += *r;
        }
        if (answer_later) co_await next_pass{p.sim};
        BOOST_REQUIRE(co_await c->write(response));
        BOOST_REQUIRE(co_await c->close());
        server_done = true;
    };
    p.sim.spawn(server());
    p.sim.spawn(client());
    p.sim.run_for(1s);
    BOOST_TEST(client_done);
    BOOST_TEST(server_done);
    BOOST_TEST(server_got == request.size());
    BOOST_TEST(client_got == response.size());
    return p.log;
}

// The six frames of a crr transaction between two coronet stacks.
const std::vector<std::string> crr_frames{
    "a>b S",        // connect
    "b>a S.",       //
    "a>b P. 100",   // the handshake's ACK and the request
    "b>a FP. 200",  // the request's ACK, the response and the FIN: write and close in one turn
    "a>b F.",       // the response's and the FIN's ACK with the client's FIN: read to the end, close
    "b>a .",        // TIME_WAIT's ACK
};

}  // namespace turns_test

using namespace turns_test;

BOOST_AUTO_TEST_SUITE(turns)

// Six frames: the handshake's ACK rides on the request, the response
// carries the server's FIN, the client's FIN carries the ACK of both.
// (Output after every event sent ten: a lone handshake ACK, ACKs of the
// request and response sent ahead of data and FIN, and separate FINs.)
BOOST_AUTO_TEST_CASE(a_crr_transaction_is_six_frames) {
    const auto log = crr_transaction(false);
    BOOST_TEST(log == crr_frames, joined(log));
}

// A server whose answer comes a pass after the request woke it (as
// coronet-bench's, whose session runs behind posted steps) still sends
// the request's ACK on the response: the ACK of the first data waits that
// pass (seven frames before, the ACK alone ahead of the response).
BOOST_AUTO_TEST_CASE(the_request_s_ack_waits_a_pass_for_the_answer) {
    const auto log = crr_transaction(true);
    BOOST_TEST(log == crr_frames, joined(log));
}

// write() then shutdown_write() in one turn: one segment with the data and
// the FIN (output after each request sent the data, then a lone FIN).
BOOST_AUTO_TEST_CASE(write_then_shutdown_in_one_turn_is_one_segment_with_data_and_fin) {
    with_raw_peer t;
    const auto data = stream_bytes(300);
    auto w = [&]() -> task<void> {
        BOOST_REQUIRE(co_await t.ca.write(data));
        BOOST_REQUIRE(co_await t.ca.shutdown_write());
    };
    t.p.sim.spawn(w());
    t.p.sim.run_for(1ms);
    BOOST_REQUIRE_EQUAL(t.peer.got.size(), 1u);
    const received_segment& s = t.peer.got.front();
    using namespace wire::tcp_flag;
    BOOST_TEST(s.h.flags == (fin | psh | ack));
    BOOST_TEST(s.h.seq.value == t.a_next);
    BOOST_TEST(s.payload == data);
    BOOST_TEST((t.ca.state() == state::fin_wait_1));
}

// Data segments that arrive in one turn draw one ACK of them all, where
// quick-ack mode (the first data of a connection) answered each.
BOOST_AUTO_TEST_CASE(the_acks_a_turn_owes_are_one_ack) {
    with_raw_peer t;
    using namespace wire::tcp_flag;
    for (std::uint32_t i = 0; i < 4; ++i) t.peer.send(t.seg(5001 + 100 * i, ack | psh).data(std::string(100, 'd')));
    t.p.sim.run_for(1ms);  // the four arrive together: one turn of a's loop
    BOOST_REQUIRE_EQUAL(t.peer.got.size(), 1u);
    const received_segment& s = t.peer.got.front();
    BOOST_TEST(s.h.flags == ack);
    BOOST_TEST(s.h.ack.value == 5001u + 400u);
    BOOST_TEST(s.payload.empty());
}

// Segments out of order are each ACKed at once, not once a turn: four that
// arrive together, each past a hole of its own, draw four ACKs, the latest
// arrival first in each one's SACK blocks (RFC 2018 4; RFC 5681 4.2).
BOOST_AUTO_TEST_CASE(segments_out_of_order_are_each_acked_at_once) {
    with_raw_peer t{sack_peer()};
    using namespace wire::tcp_flag;
    for (std::uint32_t i = 1; i <= 4; ++i) t.peer.send(t.seg(5001 + 200 * i, ack).data(std::string(100, 'o')));
    t.p.sim.run_for(1ms);  // the four arrive together
    BOOST_REQUIRE_EQUAL(t.peer.got.size(), 4u);
    for (std::uint32_t i = 1; i <= 4; ++i) {
        const received_segment& s = t.peer.got[i - 1];
        BOOST_TEST(s.h.ack.value == 5001u);
        BOOST_REQUIRE(s.h.options.sack_count > 0);
        BOOST_TEST(s.h.options.sack[0].left.value == 5001u + 200 * i, "ACK " << i);
    }
}

// Why: with one ACK a turn for segments scattered over many holes, most of
// them were never reported and the sender took them for lost. BBR at 1 %
// loss on a 2 ms path (a flight of thousands of segments) resent 4,961
// segments, 4,766 reported as duplicates; now it resends what was dropped.
BOOST_AUTO_TEST_CASE(a_lossy_bulk_transfer_resends_only_what_was_lost) {
    tcp::tcp_config cfg;
    cfg.congestion = "bbr";
    sim_pair p{1, link::impairment{.loss = 0.01, .delay = 1ms}, cfg};
    auto r = transfer(p, 16 << 20);
    BOOST_TEST(r.ok(16 << 20));
    const auto dropped = p.wire.a_to_b().counters().dropped;
    BOOST_TEST_MESSAGE("dropped " << dropped << ", resent " << r.a_stats.retransmits << ", reported duplicate "
                                  << r.a_stats.dsacks_received);
    BOOST_TEST(r.a_stats.dsacks_received <= 2u);
    BOOST_TEST(r.a_stats.retransmits <= dropped + dropped / 4 + 4);
}

BOOST_AUTO_TEST_SUITE_END()
