// Ethernet II header and MAC address text form.
#include <coronet/wire/ethernet.hpp>
#include <ostream>

namespace coronet::wire {

namespace {

// Field offsets of the Ethernet II header.
namespace ethernet_field {
constexpr std::size_t dst = 0;
constexpr std::size_t src = 6;
constexpr std::size_t type = 12;
}  // namespace ethernet_field

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

result<mac_address> mac_address::parse(std::string_view text) {
    const auto invalid = std::make_error_code(std::errc::invalid_argument);
    if (text.size() != 17) {
        return invalid;
    }
    mac_address mac;
    for (std::size_t i = 0; i < 6; ++i) {
        const std::size_t at = i * 3;
        if (i > 0 && text[at - 1] != ':') {
            return invalid;
        }
        const int hi = hex_value(text[at]);
        const int lo = hex_value(text[at + 1]);
        if (hi < 0 || lo < 0) {
            return invalid;
        }
        mac.octets[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return mac;
}

std::string mac_address::to_string() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(17);
    for (std::size_t i = 0; i < octets.size(); ++i) {
        if (i > 0) {
            out += ':';
        }
        out += digits[octets[i] >> 4];
        out += digits[octets[i] & 0x0f];
    }
    return out;
}

std::ostream& operator<<(std::ostream& os, const mac_address& mac) { return os << mac.to_string(); }

mac_address load_mac(bytes b, std::size_t off) {
    mac_address mac;
    for (std::size_t i = 0; i < mac.octets.size(); ++i) {
        mac.octets[i] = load_u8(b, off + i);
    }
    return mac;
}

void store_mac(mut_bytes b, std::size_t off, const mac_address& mac) {
    for (std::size_t i = 0; i < mac.octets.size(); ++i) {
        store_u8(b, off + i, mac.octets[i]);
    }
}

result<ethernet_view> ethernet_view::parse(bytes frame) {
    if (frame.size() < ethernet_repr::header_len) {
        return errc::truncated;
    }
    return ethernet_view{frame};
}

mac_address ethernet_view::dst() const { return load_mac(frame_, ethernet_field::dst); }
mac_address ethernet_view::src() const { return load_mac(frame_, ethernet_field::src); }
std::uint16_t ethernet_view::type() const { return load_u16(frame_, ethernet_field::type); }
bytes ethernet_view::payload() const { return frame_.subspan(ethernet_repr::header_len); }

ethernet_repr ethernet_repr::from(const ethernet_view& view) { return {view.dst(), view.src(), view.type()}; }

void ethernet_repr::emit(mut_bytes out) const {
    expect_room(out, header_len, "ethernet_repr::emit: buffer shorter than 14 bytes");
    store_mac(out, ethernet_field::dst, dst);
    store_mac(out, ethernet_field::src, src);
    store_u16(out, ethernet_field::type, type);
}

}  // namespace coronet::wire
