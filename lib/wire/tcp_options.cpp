// TCP option list decoding and encoding: RFC 9293 3.1 (EOL, NOP, MSS),
// RFC 7323 (window scale, timestamps), RFC 2018 (SACK).
#include <algorithm>
#include <coronet/wire/tcp.hpp>

namespace coronet::wire {

namespace {

namespace kind = tcp_option_kind;

// Option lengths, kind and length bytes included.
constexpr std::size_t mss_len = 4;
constexpr std::size_t window_scale_len = 3;
constexpr std::size_t sack_permitted_len = 2;
constexpr std::size_t timestamp_len = 10;
constexpr std::size_t sack_block_len = 8;

// Encoded sizes with alignment NOPs (see tcp_options::emit).
constexpr std::size_t mss_slot = 4;
constexpr std::size_t sack_perm_only_slot = 4;  // NOP NOP SACK-permitted
constexpr std::size_t timestamp_slot = 12;      // (SACK-permitted | NOP NOP) timestamps
constexpr std::size_t window_scale_slot = 4;    // NOP window-scale
constexpr std::size_t sack_slot_base = 4;       // NOP NOP kind len, then 8 per block

// Bytes of every option but the SACK blocks.
std::size_t encoded_len_without_sack(const tcp_options& o) {
    std::size_t n = 0;
    n += o.mss ? mss_slot : 0;
    n += o.timestamp ? timestamp_slot : (o.sack_permitted ? sack_perm_only_slot : 0);
    n += o.window_scale ? window_scale_slot : 0;
    return n;
}

// Appends big-endian values at a moving offset.
struct option_writer {
    mut_bytes out;
    std::size_t at = 0;

    // Two single bytes, e.g. kind and length.
    void u8(std::size_t a, std::size_t b) {
        store_u8(out, at++, static_cast<std::uint8_t>(a));
        store_u8(out, at++, static_cast<std::uint8_t>(b));
    }
    void u16(std::uint16_t v) {
        store_u16(out, at, v);
        at += 2;
    }
    void u32(std::uint32_t v) {
        store_u32(out, at, v);
        at += 4;
    }
};

// Records one option with its body (the bytes after kind and length).
std::error_code apply_option(tcp_options& out, std::uint8_t option, bytes body) {
    switch (option) {
        case kind::mss:
            if (body.size() != mss_len - 2) {
                return errc::bad_option;
            }
            out.mss = load_u16(body, 0);
            break;
        case kind::window_scale:
            if (body.size() != window_scale_len - 2) {
                return errc::bad_option;
            }
            out.window_scale = load_u8(body, 0);
            break;
        case kind::sack_permitted:
            if (body.size() != sack_permitted_len - 2) {
                return errc::bad_option;
            }
            out.sack_permitted = true;
            break;
        case kind::timestamp:
            if (body.size() != timestamp_len - 2) {
                return errc::bad_option;
            }
            out.timestamp = std::pair{load_u32(body, 0), load_u32(body, 4)};
            break;
        case kind::sack: {
            const std::size_t blocks = body.size() / sack_block_len;
            if (body.empty() || body.size() % sack_block_len != 0 || blocks > out.sack.size()) {
                return errc::bad_option;
            }
            for (std::size_t i = 0; i < blocks; ++i) {
                out.sack[i] = {seq32{load_u32(body, i * 8)}, seq32{load_u32(body, i * 8 + 4)}};
            }
            out.sack_count = static_cast<std::uint8_t>(blocks);
            break;
        }
        default:
            break;  // unknown kinds are skipped by their length (RFC 9293 3.1)
    }
    return {};
}

}  // namespace

std::uint8_t tcp_options::encoded_sack_count() const {
    const std::size_t room = max_len - encoded_len_without_sack(*this);
    const std::size_t wanted = std::min<std::size_t>(sack_count, sack.size());
    if (wanted == 0 || room < sack_slot_base + sack_block_len) {
        return 0;
    }
    return static_cast<std::uint8_t>(std::min(wanted, (room - sack_slot_base) / sack_block_len));
}

std::size_t tcp_options::encoded_len() const {
    const std::size_t blocks = encoded_sack_count();
    return encoded_len_without_sack(*this) + (blocks > 0 ? sack_slot_base + blocks * sack_block_len : 0);
}

result<tcp_options> tcp_options::parse(bytes options) {
    tcp_options out;
    std::size_t i = 0;
    while (i < options.size()) {
        const std::uint8_t option = load_u8(options, i);
        if (option == kind::eol) {
            break;
        }
        if (option == kind::nop) {
            ++i;
            continue;
        }
        if (i + 1 >= options.size()) {
            return errc::bad_option;  // no room for the length byte
        }
        const std::size_t len = load_u8(options, i + 1);
        if (len < 2 || len > options.size() - i) {
            return errc::bad_option;
        }
        if (const std::error_code ec = apply_option(out, option, options.subspan(i + 2, len - 2))) {
            return ec;
        }
        i += len;
    }
    return out;
}

// Layout, every option 4-byte aligned as Linux sends them:
//   MSS | SACK-perm TS (or NOP NOP TS, or NOP NOP SACK-perm) | NOP WS | NOP NOP SACK
void tcp_options::emit(mut_bytes out) const {
    expect_room(out, encoded_len(), "tcp_options::emit: buffer shorter than encoded_len()");
    option_writer w{out};
    if (mss) {
        w.u8(kind::mss, mss_len);
        w.u16(*mss);
    }
    if (timestamp) {
        if (sack_permitted) {
            w.u8(kind::sack_permitted, sack_permitted_len);
        } else {
            w.u8(kind::nop, kind::nop);
        }
        w.u8(kind::timestamp, timestamp_len);
        w.u32(timestamp->first);
        w.u32(timestamp->second);
    } else if (sack_permitted) {
        w.u8(kind::nop, kind::nop);
        w.u8(kind::sack_permitted, sack_permitted_len);
    }
    if (window_scale) {
        w.u8(kind::nop, kind::window_scale);
        w.u8(window_scale_len, *window_scale);
    }
    if (const std::uint8_t blocks = encoded_sack_count(); blocks > 0) {
        w.u8(kind::nop, kind::nop);
        w.u8(kind::sack, 2 + blocks * sack_block_len);
        for (std::size_t i = 0; i < blocks; ++i) {
            w.u32(sack[i].left.value);
            w.u32(sack[i].right.value);
        }
    }
}

}  // namespace coronet::wire
