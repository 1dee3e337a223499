// Software segmentation of a TCP/IPv4 super-frame: each segment is a valid
// packet (both checksums verify), the payload is cut byte-exact at the MSS,
// and sequence numbers, IPv4 IDs and flags are made per segment.
#include <boost/test/unit_test.hpp>
#include <coronet/link/gso.hpp>
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/ethernet.hpp>
#include <coronet/wire/ipv4.hpp>
#include <coronet/wire/tcp.hpp>
#include <vector>

using namespace coronet;
using namespace wire::tcp_flag;

namespace {

constexpr std::uint16_t mss = 1448;
const wire::address_v4 src = boost::asio::ip::make_address_v4("10.1.0.1");
const wire::address_v4 dst = boost::asio::ip::make_address_v4("10.1.0.2");

// A super-frame as a kernel's TSO send hands it over: one IPv4/TCP header in
// front of payload_len bytes, the TCP checksum left to offload.
std::vector<std::byte> super_frame(std::size_t payload_len, std::uint32_t seq, std::uint8_t flags,
                                   std::uint16_t ident) {
    wire::tcp_repr tcp;
    tcp.src_port = 40000;
    tcp.dst_port = 5001;
    tcp.seq = wire::seq32{seq};
    tcp.ack = wire::seq32{77};
    tcp.flags = flags;
    tcp.window = 512;
    tcp.options.timestamp = {{1000, 2000}};
    wire::ipv4_repr ip{.src = src, .dst = dst, .protocol = wire::ip_proto::tcp, .ident = ident};
    ip.payload_len = static_cast<std::uint16_t>(tcp.header_len() + payload_len);

    std::vector<std::byte> f(wire::ethernet_repr::header_len + ip.total_len());
    wire::ethernet_repr{.dst = {{2, 0, 0, 0, 0, 2}}, .src = {{2, 0, 0, 0, 0, 1}}, .type = wire::ethertype::ipv4}.emit(
        f);
    const auto l3 = std::span{f}.subspan(wire::ethernet_repr::header_len);
    ip.emit(l3);
    const auto l4 = l3.subspan(wire::ipv4_repr::header_len);
    for (std::size_t i = 0; i < payload_len; ++i) l4[tcp.header_len() + i] = std::byte(i * 7 + i / 251);
    tcp.emit(l4, src, dst, wire::checksum_mode::skip);
    return f;
}

struct parsed_segment {
    std::uint16_t ident = 0, total_length = 0;
    wire::tcp_repr tcp;
    std::vector<std::byte> payload;
};

// Segment i of s, parsed with every checksum verified (the test fails otherwise).
parsed_segment segment(const link::tcp4_super_frame& s, std::size_t i) {
    std::vector<std::byte> out(s.segment_len(i));
    s.write_segment(i, out);
    auto eth = wire::ethernet_view::parse(out);
    BOOST_REQUIRE(eth);
    auto ip = wire::ipv4_view::parse(eth->payload());
    BOOST_REQUIRE_MESSAGE(ip, "segment " << i << ": IPv4 header");
    auto tcp = wire::tcp_view::parse(ip->payload(), ip->src(), ip->dst(), wire::checksum_mode::verify);
    BOOST_REQUIRE_MESSAGE(tcp, "segment " << i << ": TCP checksum");
    return {
        ip->ident(), ip->total_length(), wire::tcp_repr::from(*tcp), {tcp->payload().begin(), tcp->payload().end()}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gso_segmentation)

BOOST_AUTO_TEST_CASE(super_frame_becomes_mss_sized_packets_with_valid_checksums_and_the_same_bytes) {
    const std::size_t payload_len = 3 * mss + 500;
    // Near the wraps: the sequence number of 2^32 and the IPv4 ID of 2^16.
    const auto f = super_frame(payload_len, 0xffff'f000u, ack | psh | fin | cwr, 0xfffe);
    auto s = link::tcp4_super_frame::parse(f, mss);
    BOOST_REQUIRE(s);
    BOOST_REQUIRE(s->segments() == 4u);

    std::vector<std::byte> joined;
    for (std::size_t i = 0; i < 4; ++i) {
        BOOST_TEST_CONTEXT("segment " << i) {
            const auto p = segment(*s, i);
            const std::size_t expect_len = i < 3 ? mss : 500;
            BOOST_TEST(p.payload.size() == expect_len);
            BOOST_TEST(p.total_length == 20 + 32 + expect_len);  // IPv4 + TCP with timestamps + payload
            BOOST_TEST(p.tcp.seq.value == static_cast<std::uint32_t>(0xffff'f000u + i * mss));
            BOOST_TEST(p.ident == static_cast<std::uint16_t>(0xfffe + i));
            BOOST_TEST(p.tcp.ack.value == 77u);
            BOOST_TEST(p.tcp.window == 512u);
            BOOST_TEST((p.tcp.options.timestamp == std::pair<std::uint32_t, std::uint32_t>{1000, 2000}));
            BOOST_TEST(((p.tcp.flags & cwr) != 0) == (i == 0));
            BOOST_TEST(((p.tcp.flags & fin) != 0) == (i == 3));
            BOOST_TEST(((p.tcp.flags & psh) != 0) == (i == 3));
            BOOST_TEST((p.tcp.flags & ack) != 0);
            joined.insert(joined.end(), p.payload.begin(), p.payload.end());
        }
    }
    const std::size_t payload_at = f.size() - payload_len;
    BOOST_TEST((joined == std::vector<std::byte>(f.begin() + static_cast<std::ptrdiff_t>(payload_at), f.end())));
}

BOOST_AUTO_TEST_CASE(payload_of_exactly_n_mss_makes_n_full_segments) {
    const auto f = super_frame(2 * mss, 1, ack, 9);
    auto s = link::tcp4_super_frame::parse(f, mss);
    BOOST_REQUIRE(s);
    BOOST_TEST(s->segments() == 2u);
    BOOST_TEST(segment(*s, 1).payload.size() == mss);
}

BOOST_AUTO_TEST_CASE(ethernet_padding_after_the_ipv4_total_length_is_not_payload) {
    auto f = super_frame(100, 1, ack, 9);
    f.resize(f.size() + 20, std::byte{0xee});
    auto s = link::tcp4_super_frame::parse(f, mss);
    BOOST_REQUIRE(s);
    BOOST_TEST(s->segments() == 1u);
    BOOST_TEST(segment(*s, 0).payload.size() == 100u);
}

BOOST_AUTO_TEST_CASE(frames_that_are_not_tcp_over_ipv4_are_refused) {
    const auto f = super_frame(3000, 1, ack, 9);
    BOOST_TEST((link::tcp4_super_frame::parse(f, 0).error() == wire::errc::unsupported));
    BOOST_TEST((link::tcp4_super_frame::parse(std::span{f}.first(30), mss).error() == wire::errc::truncated));
    auto arp = f;
    arp[12] = std::byte{0x08};
    arp[13] = std::byte{0x06};
    BOOST_TEST((link::tcp4_super_frame::parse(arp, mss).error() == wire::errc::unsupported));
    auto udp = super_frame(3000, 1, ack, 9);
    udp[14 + 9] = std::byte{17};  // protocol: the header checksum no longer verifies
    BOOST_TEST(!link::tcp4_super_frame::parse(udp, mss));
}

BOOST_AUTO_TEST_SUITE_END()
