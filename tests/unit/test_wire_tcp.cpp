// TCP: header view checks (data offset, options, checksum), builder, and the
// MSS / window scale / SACK / timestamp options.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/ipv4.hpp>
#include <coronet/wire/tcp.hpp>
#include <vector>

#include "support/wire_errors.hpp"

namespace wire = coronet::wire;
using coronet::test::code;
using coronet::test::error_of;
using wire::seq32;
namespace flag = wire::tcp_flag;

namespace {

const wire::address_v4 pseudo_src = boost::asio::ip::make_address_v4("10.0.0.1");
const wire::address_v4 pseudo_dst = boost::asio::ip::make_address_v4("10.0.0.2");

// An established-connection data segment, sequence numbers near the wrap.
wire::tcp_repr data_segment() {
    wire::tcp_repr r;
    r.src_port = 40000;
    r.dst_port = 80;
    r.seq = seq32{0xfffffff0};
    r.ack = seq32{0x00000100};
    r.flags = flag::ack | flag::psh;
    r.window = 502;
    return r;
}

// The client's SYN with the options Linux sends.
wire::tcp_repr syn_segment() {
    wire::tcp_repr r = data_segment();
    r.flags = flag::syn;
    r.ack = seq32{0};
    r.window = 64240;
    r.options.mss = 1460;
    r.options.sack_permitted = true;
    r.options.timestamp = std::pair{0x01020304u, 0u};
    r.options.window_scale = 7;
    return r;
}

// Header from repr, payload placed first as emit() expects.
std::vector<std::byte> make_segment(const wire::tcp_repr& repr, std::string_view payload = "",
                                    wire::checksum_mode mode = wire::checksum_mode::verify) {
    const wire::bytes p = wire::to_bytes(payload);
    std::vector<std::byte> seg(repr.header_len() + p.size());
    std::copy(p.begin(), p.end(), seg.begin() + static_cast<std::ptrdiff_t>(repr.header_len()));
    repr.emit(seg, pseudo_src, pseudo_dst, mode);
    return seg;
}

// Recomputes the checksum after a test edited the bytes.
void fix_checksum(std::vector<std::byte>& seg) {
    wire::store_u16(seg, 16, 0);
    wire::checksum_acc acc;
    wire::add_pseudo_header(acc, pseudo_src, pseudo_dst, wire::ip_proto::tcp, static_cast<std::uint16_t>(seg.size()));
    acc.add(seg);
    wire::store_u16(seg, 16, acc.finish());
}

// A data segment with hand-written option bytes (a multiple of 4) and a good checksum.
std::vector<std::byte> with_raw_options(const std::vector<std::uint8_t>& options, std::string_view payload = "") {
    auto seg = make_segment(data_segment(), std::string(options.size(), '\0') + std::string(payload));
    for (std::size_t i = 0; i < options.size(); ++i) {
        wire::store_u8(seg, 20 + i, options[i]);
    }
    wire::store_u8(seg, 12, static_cast<std::uint8_t>(((20 + options.size()) / 4) << 4));
    fix_checksum(seg);
    return seg;
}

wire::result<wire::tcp_view> parse(const std::vector<std::byte>& seg,
                                   wire::checksum_mode mode = wire::checksum_mode::verify) {
    return wire::tcp_view::parse(seg, pseudo_src, pseudo_dst, mode);
}

// NOP NOP, a SACK kind with length byte len, then blocks 8-byte blocks, padded
// to a multiple of 4 (four blocks: 36 bytes, the most 40 bytes of options hold).
std::vector<std::uint8_t> sack_option(std::uint8_t len, std::size_t blocks) {
    std::vector<std::uint8_t> o{1, 1, wire::tcp_option_kind::sack, len};
    for (std::size_t i = 0; i < blocks * 8; ++i) o.push_back(static_cast<std::uint8_t>(i));
    while (o.size() % 4 != 0) o.push_back(0);
    return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_tcp)

BOOST_AUTO_TEST_CASE(tcp_repr_round_trips_every_header_field) {
    auto repr = data_segment();
    repr.flags = 0xff;
    repr.urgent = 3;
    const auto seg = make_segment(repr, "GET / HTTP/1.1\r\n");
    const auto view = parse(seg);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->src_port() == 40000);
    BOOST_TEST(view->dst_port() == 80);
    BOOST_TEST(view->seq() == seq32{0xfffffff0});
    BOOST_TEST(view->ack() == seq32{0x100});
    BOOST_TEST(view->header_len() == 20);
    BOOST_TEST(view->flags() == 0xff);
    BOOST_TEST(view->window() == 502);
    BOOST_TEST(view->checksum() == wire::load_u16(seg, 16));
    BOOST_TEST(view->urgent() == 3);
    BOOST_TEST(view->payload().size() == 16u);
    BOOST_TEST(wire::load_u8(view->payload(), 0) == 'G');
    BOOST_TEST(view->raw().size() == seg.size());

    const auto back = wire::tcp_repr::from(*view);
    BOOST_TEST((make_segment(back, "GET / HTTP/1.1\r\n") == seg));
}

BOOST_AUTO_TEST_CASE(tcp_flags_are_tested_with_has) {
    const auto seg = make_segment(data_segment(), "x");
    const auto view = parse(seg);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->has(flag::ack));
    BOOST_TEST(view->has(flag::psh));
    BOOST_TEST(view->has(flag::ack | flag::psh));
    BOOST_TEST(!view->has(flag::syn));
    BOOST_TEST(!view->has(flag::ack | flag::fin));
}

BOOST_AUTO_TEST_CASE(seg_len_counts_payload_syn_and_fin) {
    auto repr = data_segment();
    BOOST_TEST(parse(make_segment(repr, "hello"))->seg_len() == 5u);
    repr.flags = flag::syn;
    BOOST_TEST(parse(make_segment(repr))->seg_len() == 1u);
    repr.flags = flag::fin | flag::ack;
    BOOST_TEST(parse(make_segment(repr, "bye"))->seg_len() == 4u);
    repr.flags = flag::syn | flag::fin;
    BOOST_TEST(parse(make_segment(repr))->seg_len() == 2u);
}

BOOST_AUTO_TEST_CASE(syn_options_round_trip_in_a_40_byte_header) {
    const auto repr = syn_segment();
    BOOST_TEST(repr.options.encoded_len() == 20u);
    BOOST_TEST(repr.header_len() == 40u);
    const auto seg = make_segment(repr);
    const auto view = parse(seg);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->header_len() == 40);
    const auto& o = view->options();
    BOOST_TEST(o.mss.value_or(0) == 1460);
    BOOST_TEST(o.window_scale.value_or(0) == 7);
    BOOST_TEST(o.sack_permitted);
    BOOST_TEST_REQUIRE(o.timestamp.has_value());
    BOOST_TEST(o.timestamp->first == 0x01020304u);
    BOOST_TEST(o.timestamp->second == 0u);
    BOOST_TEST(o.sack_count == 0);
}

BOOST_AUTO_TEST_CASE(each_option_alone_round_trips_four_byte_aligned) {
    std::vector<wire::tcp_options> cases(4);
    cases[0].mss = 536;
    cases[1].window_scale = 14;
    cases[2].sack_permitted = true;
    cases[3].timestamp = std::pair{7u, 0xfffffffeu};
    for (const auto& options : cases) {
        auto repr = data_segment();
        repr.options = options;
        BOOST_TEST(repr.header_len() % 4 == 0u);
        const auto seg = make_segment(repr, "data");
        const auto view = parse(seg);
        BOOST_TEST_REQUIRE(view.has_value());
        const auto& o = view->options();
        BOOST_TEST((o.mss == options.mss));
        BOOST_TEST((o.window_scale == options.window_scale));
        BOOST_TEST(o.sack_permitted == options.sack_permitted);
        BOOST_TEST((o.timestamp == options.timestamp));
        BOOST_TEST(view->payload().size() == 4u);
    }
}

BOOST_AUTO_TEST_CASE(sack_blocks_round_trip_across_the_wrap) {
    for (std::uint8_t n = 1; n <= 4; ++n) {
        auto repr = data_segment();
        for (std::uint8_t i = 0; i < n; ++i) {
            const seq32 left = seq32{0xffffff00} + i * 0x100u;
            repr.options.sack[i] = {left, left + 0x80};
        }
        repr.options.sack_count = n;
        BOOST_TEST(repr.header_len() == 20u + 4u + 8u * n);
        const auto seg = make_segment(repr);
        const auto view = parse(seg);
        BOOST_TEST_REQUIRE(view.has_value());
        BOOST_TEST(view->options().sack_count == n);
        for (std::uint8_t i = 0; i < n; ++i) {
            BOOST_TEST((view->options().sack[i] == repr.options.sack[i]), "block " << int{i});
        }
    }
}

BOOST_AUTO_TEST_CASE(sack_blocks_beyond_40_bytes_are_dropped_with_timestamps) {
    auto repr = data_segment();
    repr.options.timestamp = std::pair{1u, 2u};
    for (std::uint8_t i = 0; i < 4; ++i) {
        repr.options.sack[i] = {seq32{i * 1000u}, seq32{i * 1000u + 500}};
    }
    repr.options.sack_count = 4;
    BOOST_TEST(repr.options.encoded_sack_count() == 3);  // RFC 2018: 3 fit beside timestamps
    BOOST_TEST(repr.options.encoded_len() == 40u);
    const auto seg = make_segment(repr);
    const auto view = parse(seg);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->options().sack_count == 3);
    BOOST_TEST(view->options().timestamp->second == 2u);
}

BOOST_AUTO_TEST_CASE(tcp_parse_skips_unknown_option_and_nop_padding) {
    // NOP, unknown kind 30 (len 4), NOP, NOP, MSS.
    const auto seg = with_raw_options({1, 30, 4, 0xaa, 0xbb, 1, 1, 2, 4, 0x05, 0xb4, 0}, "p");
    const auto view = parse(seg);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->options().mss.value_or(0) == 1460);
    BOOST_TEST(view->payload().size() == 1u);
}

BOOST_AUTO_TEST_CASE(tcp_parse_stops_at_end_of_option_list) {
    // Window scale, EOL, then bytes that would be malformed if read.
    const auto seg = with_raw_options({3, 3, 9, 0, 2, 0, 0xff, 0xff});
    const auto view = parse(seg);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->options().window_scale.value_or(0) == 9);
    BOOST_TEST(!view->options().mss.has_value());
}

BOOST_AUTO_TEST_CASE(tcp_parse_reports_window_scale_above_14_as_sent) {
    const auto seg = with_raw_options({1, 3, 3, 15});
    const auto view = parse(seg);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->options().window_scale.value_or(0) == 15);
}

BOOST_AUTO_TEST_CASE(tcp_parse_rejects_option_running_past_header) {
    // MSS starting in the last two bytes claims length 4.
    const auto seg = with_raw_options({1, 1, 2, 4}, "overflow into payload");
    BOOST_TEST(error_of(parse(seg)) == code(wire::errc::bad_option));
}

BOOST_AUTO_TEST_CASE(tcp_parse_rejects_option_without_room_for_its_length) {
    BOOST_TEST(error_of(parse(with_raw_options({1, 1, 1, 30}))) == code(wire::errc::bad_option));
}

BOOST_AUTO_TEST_CASE(tcp_parse_rejects_zero_length_option) {
    BOOST_TEST(error_of(parse(with_raw_options({30, 0, 1, 1}))) == code(wire::errc::bad_option));
}

BOOST_AUTO_TEST_CASE(tcp_parse_rejects_length_one_option) {
    BOOST_TEST(error_of(parse(with_raw_options({30, 1, 1, 1}))) == code(wire::errc::bad_option));
}

BOOST_AUTO_TEST_CASE(tcp_parse_rejects_known_options_with_wrong_length) {
    const std::vector<std::vector<std::uint8_t>> bad = {
        {2, 3, 5, 1},                           // MSS, len 3
        {3, 4, 7, 0},                           // window scale, len 4
        {4, 3, 0, 1},                           // SACK-permitted, len 3
        {8, 8, 0, 0, 0, 1, 0, 0},               // timestamps, len 8
        {5, 2, 1, 1},                           // SACK with no block
        {5, 6, 0, 0, 0, 1, 1, 1},               // SACK, len not 2 + 8n
        {5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1},  // SACK, len not 2 + 8n
    };
    for (const auto& options : bad) {
        BOOST_TEST(error_of(parse(with_raw_options(options))) == code(wire::errc::bad_option),
                   "kind " << int{options[0]});
    }
}

BOOST_AUTO_TEST_CASE(tcp_parse_takes_four_sack_blocks_and_refuses_any_length_that_overruns_them) {
    const auto four = parse(with_raw_options(sack_option(34, 4)));
    BOOST_REQUIRE(four);
    BOOST_TEST(four->options().sack_count == 4);
    // A fifth block (2 + 8 * 5 = 42) cannot fit in 40 bytes of options; the
    // length then runs past the header into the payload, which must not be read as blocks.
    BOOST_TEST(error_of(parse(with_raw_options(sack_option(42, 4), "payload, not SACK blocks"))) ==
               code(wire::errc::bad_option));
    // Lengths of 2 + 8n that run past the options actually present.
    for (const std::uint8_t len : {10, 18, 26}) {
        BOOST_TEST(error_of(parse(with_raw_options(sack_option(len, 0), "12345678901234567890"))) ==
                       code(wire::errc::bad_option),
                   "length " << int{len});
    }
    // The largest length byte.
    BOOST_TEST(error_of(parse(with_raw_options(sack_option(255, 4)))) == code(wire::errc::bad_option));
}

BOOST_AUTO_TEST_CASE(tcp_parse_rejects_data_offset_below_five) {
    for (std::uint8_t offset = 0; offset < 5; ++offset) {
        auto seg = make_segment(data_segment(), "payload");
        wire::store_u8(seg, 12, static_cast<std::uint8_t>(offset << 4));
        fix_checksum(seg);
        BOOST_TEST(error_of(parse(seg)) == code(wire::errc::bad_header_length), "offset " << int{offset});
    }
}

BOOST_AUTO_TEST_CASE(tcp_parse_rejects_data_offset_past_the_end) {
    auto seg = make_segment(data_segment(), "0123456789");  // 30 bytes; offset 15 wants 60
    wire::store_u8(seg, 12, 0xf0);
    fix_checksum(seg);
    BOOST_TEST(error_of(parse(seg)) == code(wire::errc::bad_header_length));
}

BOOST_AUTO_TEST_CASE(tcp_parse_rejects_every_truncated_prefix) {
    const auto seg = make_segment(syn_segment(), "syn data");
    for (std::size_t len = 0; len < seg.size(); ++len) {
        const std::vector<std::byte> prefix(seg.begin(), seg.begin() + static_cast<std::ptrdiff_t>(len));
        const auto expected = len < 20   ? wire::errc::truncated
                              : len < 40 ? wire::errc::bad_header_length
                                         : wire::errc::bad_checksum;
        BOOST_TEST(error_of(parse(prefix)) == code(expected), "prefix length " << len);
    }
}

BOOST_AUTO_TEST_CASE(tcp_parse_rejects_corrupted_byte_anywhere) {
    const auto good = make_segment(syn_segment(), "payload");
    for (std::size_t offset = 0; offset < good.size(); ++offset) {
        if (offset == 12) {
            continue;  // the data offset fails its own check first
        }
        auto seg = good;
        wire::store_u8(seg, offset, static_cast<std::uint8_t>(wire::load_u8(seg, offset) ^ 0x04));
        BOOST_TEST(error_of(parse(seg)) == code(wire::errc::bad_checksum), "offset " << offset);
    }
}

BOOST_AUTO_TEST_CASE(tcp_checksum_covers_the_pseudo_header) {
    const auto seg = make_segment(data_segment(), "payload");
    const auto other = boost::asio::ip::make_address_v4("10.0.0.3");
    BOOST_TEST(error_of(wire::tcp_view::parse(seg, pseudo_src, other)) == code(wire::errc::bad_checksum));
    BOOST_TEST(error_of(wire::tcp_view::parse(seg, other, pseudo_dst)) == code(wire::errc::bad_checksum));
}

BOOST_AUTO_TEST_CASE(checksum_mode_skip_accepts_a_bad_checksum) {
    auto seg = make_segment(syn_segment(), "payload");
    wire::store_u16(seg, 16, static_cast<std::uint16_t>(wire::load_u16(seg, 16) ^ 0xffff));
    BOOST_TEST(error_of(parse(seg)) == code(wire::errc::bad_checksum));
    const auto view = parse(seg, wire::checksum_mode::skip);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->options().mss.value_or(0) == 1460);
}

BOOST_AUTO_TEST_CASE(checksum_mode_skip_still_checks_options) {
    auto seg = with_raw_options({30, 1, 1, 1});
    BOOST_TEST(error_of(parse(seg, wire::checksum_mode::skip)) == code(wire::errc::bad_option));
}

BOOST_AUTO_TEST_CASE(emit_with_skip_leaves_pseudo_header_sum_for_offload) {
    auto seg = make_segment(syn_segment(), "offloaded", wire::checksum_mode::skip);
    wire::checksum_acc pseudo;
    wire::add_pseudo_header(pseudo, pseudo_src, pseudo_dst, wire::ip_proto::tcp,
                            static_cast<std::uint16_t>(seg.size()));
    BOOST_TEST(wire::load_u16(seg, 16) == pseudo.fold());

    // What the NIC does for CHECKSUM_PARTIAL: sum from csum_start, store ~sum at csum_offset.
    wire::store_u16(seg, 16, wire::internet_checksum(seg));
    BOOST_TEST(parse(seg).has_value());
    BOOST_TEST((seg == make_segment(syn_segment(), "offloaded")));
}

BOOST_AUTO_TEST_CASE(tcp_parse_rejects_segment_longer_than_65535) {
    std::vector<std::byte> seg(65536);
    const auto head = make_segment(data_segment());
    std::copy(head.begin(), head.end(), seg.begin());
    BOOST_TEST(error_of(parse(seg)) == code(wire::errc::bad_length));
}

BOOST_AUTO_TEST_CASE(tcp_emit_throws_on_short_buffer) {
    std::vector<std::byte> small(39);
    BOOST_CHECK_THROW(syn_segment().emit(small, pseudo_src, pseudo_dst), std::length_error);
}

BOOST_AUTO_TEST_SUITE_END()
