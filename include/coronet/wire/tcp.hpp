// TCP segments (RFC 9293) with the options coronet speaks: MSS, window scale
// and timestamps (RFC 7323), SACK (RFC 2018). A checked view over a received
// segment (header, options and checksum verified once) and the header builder.
#pragma once

#include <array>
#include <coronet/wire/bytes.hpp>
#include <coronet/wire/error.hpp>
#include <coronet/wire/seq32.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

namespace coronet::wire {

namespace tcp_flag {
inline constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10, urg = 0x20, ece = 0x40,
                              cwr = 0x80;
}  // namespace tcp_flag

namespace tcp_option_kind {
inline constexpr std::uint8_t eol = 0, nop = 1, mss = 2, window_scale = 3, sack_permitted = 4, sack = 5, timestamp = 8;
}  // namespace tcp_option_kind

// One SACK block: the bytes [left, right) arrived (RFC 2018 3).
struct sack_block {
    seq32 left, right;
    friend bool operator==(const sack_block&, const sack_block&) = default;
};

// The options of one segment, decoded. Window scale is reported as sent, even
// above 14 (RFC 7323 2.3 says clamp and log: the TCP core's job).
struct tcp_options {
    static constexpr std::size_t max_len = 40;  // 60-byte header minus 20

    std::optional<std::uint16_t> mss;
    std::optional<std::uint8_t> window_scale;
    bool sack_permitted = false;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> timestamp;  // TSval, TSecr
    std::array<sack_block, 4> sack{};
    std::uint8_t sack_count = 0;

    // Bytes emit() writes: a multiple of 4, at most 40.
    std::size_t encoded_len() const;
    // SACK blocks emit() writes: sack_count capped by what fits in 40 bytes
    // beside the other options (4 alone, 3 with timestamps).
    std::uint8_t encoded_sack_count() const;
    // Decodes an option list; errc::bad_option if an option's length is < 2, runs past
    // the end, or is wrong for its kind. EOL stops, NOP and unknown kinds are skipped.
    static result<tcp_options> parse(bytes options);
    // Writes encoded_len() bytes, each option 4-byte aligned by NOPs;
    // std::length_error if out is shorter.
    void emit(mut_bytes out) const;
};

enum class checksum_mode {
    verify,  // compute / check the checksum in software
    skip,    // the kernel says the checksum is not computed yet (offload)
};

// A segment whose header, options and (unless skipped) checksum are known good.
class tcp_view {
public:
    // errc::truncated below 20 bytes; bad_length above 65535; bad_header_length if the
    // data offset is < 5 or past the end; bad_checksum (pseudo header included) unless
    // mode is skip; bad_option if the options are malformed (see tcp_options::parse).
    static result<tcp_view> parse(bytes segment, address_v4 src, address_v4 dst,
                                  checksum_mode mode = checksum_mode::verify);

    std::uint16_t src_port() const;
    std::uint16_t dst_port() const;
    seq32 seq() const;
    seq32 ack() const;
    // Data offset in bytes (20..60).
    std::uint8_t header_len() const;
    std::uint8_t flags() const;
    // Whether every bit of flag (a tcp_flag value) is set.
    bool has(std::uint8_t flag) const { return (flags() & flag) == flag; }
    std::uint16_t window() const;
    std::uint16_t checksum() const;
    std::uint16_t urgent() const;
    const tcp_options& options() const { return options_; }
    bytes payload() const;
    // RFC 9293 SEG.LEN: payload bytes plus one each for SYN and FIN.
    std::uint32_t seg_len() const;
    // The whole segment.
    bytes raw() const { return segment_; }

private:
    tcp_view(bytes segment, const tcp_options& options) : segment_(segment), options_(options) {}
    bytes segment_;
    tcp_options options_;
};

// A TCP header to write in front of a payload the caller already placed.
struct tcp_repr {
    std::uint16_t src_port = 0, dst_port = 0;
    seq32 seq, ack;
    std::uint8_t flags = 0;
    std::uint16_t window = 0;
    std::uint16_t urgent = 0;
    tcp_options options;

    // The header fields and options of view.
    static tcp_repr from(const tcp_view& view);
    // 20 + options.encoded_len().
    std::size_t header_len() const;
    // segment = header_len() bytes + payload already in place: writes the header and
    // options, then the checksum over the whole segment with the pseudo header. With
    // checksum_mode::skip it writes only the folded pseudo-header sum, NOT inverted
    // (Linux CHECKSUM_PARTIAL: csum_start = TCP header, csum_offset = 16).
    // std::length_error if segment is shorter than header_len() or longer than 65535.
    void emit(mut_bytes segment, address_v4 src, address_v4 dst, checksum_mode mode = checksum_mode::verify) const;
};

}  // namespace coronet::wire
