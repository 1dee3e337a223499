// The Internet checksum: checksum_acc fed in fuzzer-chosen pieces (odd
// lengths included) against a plain RFC 1071 sum over the whole buffer, and
// the RFC 1624 incremental update against recomputing.
// Input: split seed (u16), a new 16-bit field value (u16), then the data.
#include <algorithm>
#include <coronet/wire/checksum.hpp>
#include <vector>

#include "byte_io.hpp"
#include "check.hpp"

namespace wire = coronet::wire;
using coronet::fuzz::require;

namespace {

// RFC 1071 as written: 16-bit big-endian words, an odd last byte padded with zero.
std::uint16_t reference_checksum(wire::bytes data) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < data.size(); i += 2) {
        const std::uint64_t hi = wire::load_u8(data, i);
        const std::uint64_t lo = i + 1 < data.size() ? wire::load_u8(data, i + 1) : 0;
        sum += hi << 8 | lo;
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    coronet::fuzz::byte_reader in{coronet::fuzz::input_bytes(data, size)};
    std::uint32_t split = in.u16();
    const std::uint16_t new_field = in.u16();
    std::vector<std::byte> buf;
    const wire::bytes rest = in.take(size);
    buf.assign(rest.begin(), rest.end());

    // The same sum, however the stream is cut.
    wire::checksum_acc acc;
    for (wire::bytes left{buf}; !left.empty();) {
        split = split * 1103515245u + 12345u;
        const std::size_t n = std::min<std::size_t>(left.size(), (split >> 16) % 13);
        acc.add(left.first(n));
        left = left.subspan(n);
    }
    const std::uint16_t expected = reference_checksum(buf);
    require(acc.finish() == expected, "checksum: pieces sum differently from RFC 1071");
    require(wire::internet_checksum(buf) == expected, "checksum: internet_checksum differs from RFC 1071");

    // Bytes 0-1 hold a checksum over the buffer; changing another word and
    // updating incrementally must leave a buffer that verifies.
    if (buf.size() < 4) return 0;
    wire::store_u16(buf, 0, 0);
    wire::store_u16(buf, 0, wire::internet_checksum(buf));
    const std::size_t at = 2 + (split % ((buf.size() - 2) / 2)) * 2;
    const std::uint16_t old_field = wire::load_u16(buf, at);
    wire::store_u16(buf, at, new_field);
    wire::store_u16(buf, 0, wire::checksum_update(wire::load_u16(buf, 0), old_field, new_field));
    // RFC 1624 3: the update cannot produce -0 (0xffff), which is what a buffer
    // that became all zero needs; real headers never are (IPv4's version is 4).
    const bool all_zero = std::all_of(buf.begin() + 2, buf.end(), [](std::byte b) { return b == std::byte{0}; });
    require(all_zero || wire::internet_checksum(buf) == 0, "checksum: RFC 1624 update does not verify");
    return 0;
}
