// RFC 1071 Internet checksum, RFC 1624 incremental update, IPv4 pseudo header.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <coronet/wire/checksum.hpp>
#include <cstdint>
#include <random>
#include <vector>

namespace wire = coronet::wire;

namespace {

std::vector<std::byte> octets(std::initializer_list<int> values) {
    std::vector<std::byte> out;
    for (int v : values) {
        out.push_back(static_cast<std::byte>(v));
    }
    return out;
}

// The textbook definition, one 16-bit word at a time: the reference to check against.
std::uint16_t reference_fold(wire::bytes data) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < data.size(); i += 2) {
        std::uint32_t word = std::to_integer<std::uint32_t>(data[i]) << 8;
        if (i + 1 < data.size()) {
            word |= std::to_integer<std::uint32_t>(data[i + 1]);
        }
        sum += word;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(sum);
}

std::vector<std::byte> random_bytes(std::mt19937& rng, std::size_t n) {
    std::vector<std::byte> out(n);
    for (auto& b : out) {
        b = static_cast<std::byte>(rng() & 0xff);
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_checksum)

BOOST_AUTO_TEST_CASE(rfc1071_example_sums_to_ddf2) {
    // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7.
    const auto data = octets({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
    wire::checksum_acc acc;
    acc.add(data);
    BOOST_TEST(acc.fold() == 0xddf2);
    BOOST_TEST(acc.finish() == 0x220d);
    BOOST_TEST(wire::internet_checksum(data) == 0x220d);
}

BOOST_AUTO_TEST_CASE(known_ipv4_header_checksum_is_b861) {
    // 192.168.0.1 -> 192.168.0.199, UDP, total length 115, DF: checksum 0xb861.
    auto header = octets({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                          0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7});
    BOOST_TEST(wire::internet_checksum(header) == 0);  // verifies as-is
    header[10] = header[11] = std::byte{0};
    BOOST_TEST(wire::internet_checksum(header) == 0xb861);
}

BOOST_AUTO_TEST_CASE(empty_input_sums_to_zero) {
    wire::checksum_acc acc;
    acc.add({});
    BOOST_TEST(acc.fold() == 0);
    BOOST_TEST(acc.finish() == 0xffff);
}

BOOST_AUTO_TEST_CASE(odd_length_pads_last_byte_as_high_half) {
    const auto data = octets({0x01, 0x02, 0x03});
    wire::checksum_acc acc;
    acc.add(data);
    BOOST_TEST(acc.fold() == 0x0402);  // 0x0102 + 0x0300
}

BOOST_AUTO_TEST_CASE(sum_matches_reference_for_every_length_and_alignment) {
    std::mt19937 rng(1071);
    const auto buffer = random_bytes(rng, 300);
    for (std::size_t start = 0; start < 8; ++start) {
        for (std::size_t len = 0; start + len <= buffer.size(); ++len) {
            const wire::bytes piece = wire::bytes(buffer).subspan(start, len);
            wire::checksum_acc acc;
            acc.add(piece);
            BOOST_TEST_REQUIRE(acc.fold() == reference_fold(piece));
        }
    }
}

BOOST_AUTO_TEST_CASE(all_ones_buffer_folds_to_ffff) {
    const std::vector<std::byte> ones(65536, std::byte{0xff});
    wire::checksum_acc acc;
    acc.add(ones);
    BOOST_TEST(acc.fold() == 0xffff);
    BOOST_TEST(acc.fold() == reference_fold(ones));
}

BOOST_AUTO_TEST_CASE(split_spans_sum_like_one_span) {
    std::mt19937 rng(42);
    for (int round = 0; round < 500; ++round) {
        const auto buffer = random_bytes(rng, 1 + rng() % 200);
        wire::checksum_acc whole;
        whole.add(buffer);
        wire::checksum_acc pieces;
        std::size_t at = 0;
        while (at < buffer.size()) {
            const std::size_t n = std::min<std::size_t>(rng() % 12, buffer.size() - at);
            pieces.add(wire::bytes(buffer).subspan(at, n));  // n may be 0 or odd
            at += n;
        }
        BOOST_TEST_REQUIRE(pieces.fold() == whole.fold());
    }
}

BOOST_AUTO_TEST_CASE(successive_single_bytes_sum_like_one_span) {
    const auto data = octets({0xab, 0xcd, 0xef, 0x01, 0x23});
    wire::checksum_acc acc;
    for (std::size_t i = 0; i < data.size(); ++i) {
        acc.add(wire::bytes(data).subspan(i, 1));
    }
    BOOST_TEST(acc.fold() == reference_fold(data));
}

BOOST_AUTO_TEST_CASE(add_u16_and_u32_after_odd_span_continue_the_stream) {
    const auto data = octets({0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99});
    wire::checksum_acc words;
    words.add(wire::bytes(data).first(3));
    words.add_u16(0x4455);
    words.add_u32(0x66778899);
    BOOST_TEST(words.fold() == reference_fold(data));
}

BOOST_AUTO_TEST_CASE(pseudo_header_sums_like_its_twelve_bytes) {
    const wire::address_v4 src{0xc0a80001}, dst{0x0a000002};
    wire::checksum_acc acc;
    wire::add_pseudo_header(acc, src, dst, 6, 0x0123);
    const auto bytes = octets({0xc0, 0xa8, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x00, 0x06, 0x01, 0x23});
    BOOST_TEST(acc.fold() == reference_fold(bytes));
}

BOOST_AUTO_TEST_CASE(sum_matches_reference_for_random_lengths_and_offsets_up_to_jumbo_and_gso_sizes) {
    // Past the 64-byte blocks and the word tail of the bulk loop, at every start alignment.
    std::mt19937 rng(791);
    const auto buffer = random_bytes(rng, 70000 + 64);
    for (int round = 0; round < 400; ++round) {
        const std::size_t start = rng() % 64;
        const std::size_t len = round % 2 == 0 ? rng() % 70001 : rng() % 300;
        const wire::bytes piece = wire::bytes(buffer).subspan(start, len);
        wire::checksum_acc acc;
        acc.add(piece);
        BOOST_TEST_REQUIRE(acc.fold() == reference_fold(piece));
    }
}

BOOST_AUTO_TEST_CASE(all_ones_at_odd_lengths_and_starts_folds_like_reference) {
    // Every word 0xffff: the most carries the fold can meet.
    const std::vector<std::byte> ones(9000 + 8, std::byte{0xff});
    for (const std::size_t start : {0u, 1u, 2u, 3u, 5u}) {
        for (const std::size_t len : {1u, 63u, 64u, 65u, 1459u, 1460u, 1461u, 8999u, 9000u}) {
            const wire::bytes piece = wire::bytes(ones).subspan(start, len);
            wire::checksum_acc acc;
            acc.add(piece);
            BOOST_TEST_REQUIRE(acc.fold() == reference_fold(piece));
        }
    }
}

BOOST_AUTO_TEST_CASE(zero_bytes_fold_to_zero_and_one_set_bit_does_not) {
    std::vector<std::byte> zeros(1500);
    wire::checksum_acc all_zero;
    all_zero.add(zeros);
    BOOST_TEST(all_zero.fold() == 0);
    BOOST_TEST(all_zero.finish() == 0xffff);

    zeros[1499] = std::byte{0x01};  // low half of the last word
    wire::checksum_acc one_bit;
    one_bit.add(zeros);
    BOOST_TEST(one_bit.fold() == 0x0001);
}

BOOST_AUTO_TEST_CASE(large_buffer_split_at_random_points_sums_like_one_span) {
    std::mt19937 rng(1624);
    const auto buffer = random_bytes(rng, 20000);
    wire::checksum_acc whole;
    whole.add(buffer);
    for (int round = 0; round < 50; ++round) {
        wire::checksum_acc pieces;
        std::size_t at = 0;
        while (at < buffer.size()) {
            const std::size_t n = std::min<std::size_t>(rng() % 3000, buffer.size() - at);
            pieces.add(wire::bytes(buffer).subspan(at, n));  // odd pieces shift the rest off word alignment
            at += n;
        }
        BOOST_TEST_REQUIRE(pieces.fold() == whole.fold());
        BOOST_TEST_REQUIRE(pieces.fold() == reference_fold(buffer));
    }
}

BOOST_AUTO_TEST_CASE(checksum_update_matches_rfc1624_example) {
    // RFC 1624 section 4: HC 0xdd2f, m 0x5555 -> m' 0x3285 gives 0x0000 by eqn 3.
    BOOST_TEST(wire::checksum_update(0xdd2f, 0x5555, 0x3285) == 0x0000);
}

BOOST_AUTO_TEST_CASE(checksum_update_equals_recomputation_for_random_fields) {
    std::mt19937 rng(1624);
    for (int round = 0; round < 2000; ++round) {
        auto header = random_bytes(rng, 20);
        wire::store_u16(header, 10, 0);
        wire::store_u16(header, 10, wire::internet_checksum(header));

        std::size_t field = 2 * (rng() % 10);
        if (field == 10) {
            field = 8;  // never the checksum itself
        }
        const std::uint16_t old_value = wire::load_u16(header, field);
        const auto new_value = static_cast<std::uint16_t>(rng());
        const std::uint16_t updated = wire::checksum_update(wire::load_u16(header, 10), old_value, new_value);

        wire::store_u16(header, field, new_value);
        wire::store_u16(header, 10, 0);
        BOOST_TEST_REQUIRE(updated == wire::internet_checksum(header));
    }
}

BOOST_AUTO_TEST_SUITE_END()
