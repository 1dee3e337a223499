#include "protocol.hpp"

namespace coronet::bench {

namespace {
constexpr std::uint32_t magic = 0x434e4232;  // "CNB2": CNB1 had no total_bytes
constexpr std::uint8_t flag_reverse = 1;
}  // namespace

std::optional<mode> parse_mode(std::string_view text) {
    if (text == "bulk") return mode::bulk;
    if (text == "rr") return mode::rr;
    if (text == "crr") return mode::crr;
    return std::nullopt;
}

std::string_view to_string(mode m) {
    switch (m) {
        case mode::bulk:
            return "bulk";
        case mode::rr:
            return "rr";
        case mode::crr:
            return "crr";
    }
    return "?";
}

std::array<std::byte, header::size> header::encode() const {
    std::array<std::byte, size> b{};
    wire::store_u32(b, 0, magic);
    wire::store_u8(b, 4, static_cast<std::uint8_t>(m));
    wire::store_u8(b, 5, reverse ? flag_reverse : 0);
    wire::store_u32(b, 8, message_size);
    wire::store_u32(b, 12, static_cast<std::uint32_t>(duration.count()));
    wire::store_u32(b, 16, static_cast<std::uint32_t>(total_bytes >> 32));
    wire::store_u32(b, 20, static_cast<std::uint32_t>(total_bytes));
    return b;
}

std::optional<header> header::decode(wire::bytes b) {
    if (b.size() < size || wire::load_u32(b, 0) != magic) return std::nullopt;
    const auto m = wire::load_u8(b, 4);
    if (m > static_cast<std::uint8_t>(mode::crr)) return std::nullopt;
    header h;
    h.m = static_cast<mode>(m);
    h.reverse = (wire::load_u8(b, 5) & flag_reverse) != 0;
    h.message_size = wire::load_u32(b, 8);
    h.duration = std::chrono::milliseconds(wire::load_u32(b, 12));
    h.total_bytes = (std::uint64_t{wire::load_u32(b, 16)} << 32) | wire::load_u32(b, 20);
    return h;
}

task<result<std::size_t>> read_exact(stream& s, wire::mut_bytes buf) {
    std::size_t got = 0;
    while (got < buf.size()) {
        auto n = co_await s.read(buf.subspan(got));
        if (!n) co_return n.error();
        if (*n == 0) {
            if (got == 0) co_return std::size_t{0};
            co_return std::make_error_code(std::errc::broken_pipe);
        }
        got += *n;
    }
    co_return got;
}

task<result<std::uint64_t>> drain(stream& s, wire::mut_bytes scratch) {
    std::uint64_t total = 0;
    for (;;) {
        auto got = co_await s.receive(scratch);
        if (!got) co_return got.error();
        if (got->empty()) co_return total;
        total += got->size();
    }
}

}  // namespace coronet::bench
