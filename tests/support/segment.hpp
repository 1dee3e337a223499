// TCP segments as a test writes and reads them: a builder for what the peer
// sends, named field by field (smoltcp's segment templates), and what a
// stack sent, with a one-line description for failure messages.
#pragma once

#include <coronet/wire/tcp.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coronet::test {

using wire::seq32;

// n sequence numbers before 2^32: ISNs placed there make every connection's
// numbers wrap (seq32's arithmetic and comparisons are then exercised).
constexpr seq32 before_wrap(std::uint32_t n) noexcept { return seq32{0u - n}; }

// A segment built by name:
//   segment{40000, 80}.syn().seq(irs).mss(1460)
//   segment{40000, 80}.seq(irs + 1).ack(iss + 1).data("hello").fin()
// Flags are added one by one; window 65535 unless set.
class segment {
public:
    segment(std::uint16_t src_port, std::uint16_t dst_port) {
        h_.src_port = src_port;
        h_.dst_port = dst_port;
        h_.window = 65535;
    }
    segment& seq(seq32 s) { return h_.seq = s, *this; }
    segment& seq(std::uint32_t s) { return seq(seq32{s}); }
    // Sets the ACK flag and the acknowledgment number.
    segment& ack(seq32 a) { return h_.ack = a, h_.flags |= wire::tcp_flag::ack, *this; }
    segment& ack(std::uint32_t a) { return ack(seq32{a}); }
    segment& syn() { return h_.flags |= wire::tcp_flag::syn, *this; }
    segment& fin() { return h_.flags |= wire::tcp_flag::fin, *this; }
    segment& rst() { return h_.flags |= wire::tcp_flag::rst, *this; }
    segment& psh() { return h_.flags |= wire::tcp_flag::psh, *this; }
    // Exactly these flags (the acknowledgment number stays, and counts only with ACK).
    segment& flags(std::uint8_t f) { return h_.flags = f, *this; }
    segment& window(std::uint16_t w) { return h_.window = w, *this; }
    segment& mss(std::uint16_t m) { return h_.options.mss = m, *this; }
    segment& options(const wire::tcp_options& o) { return h_.options = o, *this; }
    segment& data(std::string_view text);
    segment& data(wire::bytes bytes) { return payload_.assign(bytes.begin(), bytes.end()), *this; }

    const wire::tcp_repr& header() const noexcept { return h_; }
    wire::bytes payload() const noexcept { return payload_; }
    // The sequence space it takes: its payload, and one each for SYN and FIN.
    std::uint32_t len() const noexcept;

private:
    wire::tcp_repr h_{};
    std::vector<std::byte> payload_;
};

// A segment a stack sent, copied out of its frame.
struct received_segment {
    wire::tcp_repr h;
    std::vector<std::byte> payload;
    bool has(std::uint8_t flags) const noexcept { return (h.flags & flags) == flags; }
};

// The answer to `to` (which carried len bytes): ports swapped, all of it
// acknowledged; the caller adds the other flags and the sequence number.
segment reply_to(const wire::tcp_repr& to, std::size_t len);
inline segment reply_to(const received_segment& to) { return reply_to(to.h, to.payload.size()); }

// "SYN|ACK seq=4294967040 ack=1001 len=0" (the ack only with the ACK flag).
std::string describe(const wire::tcp_repr& h, std::size_t len);
std::string describe(const segment& s);
std::string describe(const received_segment& s);

// Why got is not want: flags, sequence number, acknowledgment number (when
// ACK is set) and payload compared; window and options are not. nullopt
// when they match.
std::optional<std::string> mismatch(const received_segment& got, const segment& want);

}  // namespace coronet::test
