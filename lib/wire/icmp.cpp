// ICMPv4 header view and builder (RFC 792).
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/icmp.hpp>

namespace coronet::wire {

namespace {

// Field offsets of the ICMP header.
namespace icmp_field {
constexpr std::size_t type = 0;
constexpr std::size_t code = 1;
constexpr std::size_t checksum = 2;
constexpr std::size_t ident = 4;
constexpr std::size_t seq_no = 6;
}  // namespace icmp_field

}  // namespace

result<icmp_view> icmp_view::parse(bytes msg) {
    if (msg.size() < icmp_repr::header_len) {
        return errc::truncated;
    }
    if (internet_checksum(msg) != 0) {
        return errc::bad_checksum;
    }
    return icmp_view{msg};
}

std::uint8_t icmp_view::type() const { return load_u8(msg_, icmp_field::type); }
std::uint8_t icmp_view::code() const { return load_u8(msg_, icmp_field::code); }
std::uint16_t icmp_view::checksum() const { return load_u16(msg_, icmp_field::checksum); }
std::uint16_t icmp_view::ident() const { return load_u16(msg_, icmp_field::ident); }
std::uint16_t icmp_view::seq_no() const { return load_u16(msg_, icmp_field::seq_no); }
bytes icmp_view::payload() const { return msg_.subspan(icmp_repr::header_len); }

bool is_icmp_error(std::uint8_t type) noexcept {
    using namespace icmp_type;
    return type == dest_unreachable || type == source_quench || type == redirect || type == time_exceeded ||
           type == parameter_problem;
}

result<icmp_quote> icmp_quote::parse(bytes icmp_payload) {
    constexpr std::size_t min_header = 20, transport_min = 8;
    if (icmp_payload.size() < min_header + transport_min) return errc::truncated;
    const std::uint8_t version_ihl = load_u8(icmp_payload, 0);
    if (version_ihl >> 4 != 4) return errc::bad_version;
    const std::size_t header = std::size_t{version_ihl & 0x0fu} * 4;
    if (header < min_header) return errc::bad_header_length;
    if (icmp_payload.size() < header + transport_min) return errc::truncated;
    icmp_quote q;
    q.total_length = load_u16(icmp_payload, 2);
    q.protocol = load_u8(icmp_payload, 9);
    q.src = load_address_v4(icmp_payload, 12);
    q.dst = load_address_v4(icmp_payload, 16);
    q.transport = icmp_payload.subspan(header);
    return q;
}

icmp_repr icmp_repr::from(const icmp_view& view) { return {view.type(), view.code(), view.ident(), view.seq_no()}; }

void icmp_repr::emit(mut_bytes msg) const {
    expect_room(msg, header_len, "icmp_repr::emit: buffer shorter than 8 bytes");
    store_u8(msg, icmp_field::type, type);
    store_u8(msg, icmp_field::code, code);
    store_u16(msg, icmp_field::checksum, 0);
    store_u16(msg, icmp_field::ident, ident);
    store_u16(msg, icmp_field::seq_no, seq_no);
    store_u16(msg, icmp_field::checksum, internet_checksum(msg));
}

}  // namespace coronet::wire
