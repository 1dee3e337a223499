// SYN cookies, RFC 4987 3.6: what a SYN+ACK made without state carries, and
// how the returning ACK is checked.
#include <algorithm>
#include <array>
#include <coronet/tcp/syn_cookies.hpp>

namespace coronet::tcp {

namespace {
// The MSS values a cookie can remember (3 bits): the largest not above the peer's is used.
constexpr std::array<std::uint16_t, 8> cookie_mss{256, 536, 1200, 1360, 1400, 1440, 1460, 8960};
constexpr auto period_length = std::chrono::seconds(64);
// Our timestamp's low bits carry the peer's window scale; 15: none.
constexpr std::uint32_t ts_wscale_bits = 0xf;

std::uint32_t period(runtime::time_point now) {
    return static_cast<std::uint32_t>(now.time_since_epoch() / period_length);
}

std::array<std::byte, 12> tuple_of(const four_tuple& id) {
    return isn_generator::tuple(id.local, id.local_port, id.remote, id.remote_port);
}
}  // namespace

wire::tcp_repr syn_cookies::answer(const four_tuple& id, const wire::tcp_view& syn, runtime::time_point now,
                                   std::uint16_t max_segment) const {
    const auto& o = syn.options();
    const std::uint16_t ours = max_segment ? std::min(our_mss_, max_segment) : our_mss_;
    const std::uint16_t peer_mss = std::min(o.mss.value_or(536), ours);
    unsigned index = 0;
    while (index + 1 < cookie_mss.size() && cookie_mss[index + 1] <= peer_mss) ++index;

    wire::tcp_repr r{};
    r.src_port = id.local_port;
    r.dst_port = id.remote_port;
    r.seq = gen_.cookie(tuple_of(id), syn.seq(), period(now), index);
    r.ack = syn.seq() + 1;
    r.flags = wire::tcp_flag::syn | wire::tcp_flag::ack;
    r.window = static_cast<std::uint16_t>(std::min<std::size_t>(cfg_.receive_buffer, 65535));
    r.options.mss = ours;
    // Only a peer that uses timestamps gets window scaling: its window scale
    // rides back in the low bits of our timestamp, which it echoes.
    if (cfg_.timestamps && o.timestamp) {
        const bool scaled = cfg_.window_scaling && o.window_scale;
        const std::uint32_t bits = scaled ? wire::window_scale(*o.window_scale).shift() : ts_wscale_bits;
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
        const std::uint32_t now_ts = static_cast<std::uint32_t>(ms.count()) + timestamp_offset(id);
        std::uint32_t ts = (now_ts & ~ts_wscale_bits) | bits;
        if (wire::ts32{ts} > wire::ts32{now_ts}) ts -= ts_wscale_bits + 1;  // never ahead of the clock
        r.options.timestamp = {{ts, o.timestamp->first}};
        if (scaled) r.options.window_scale = wire::window_scale::for_buffer(cfg_.receive_buffer_limit()).shift();
    }
    return r;
}

std::optional<syn_cookies::opening> syn_cookies::check(const four_tuple& id, const wire::tcp_view& ack,
                                                       runtime::time_point now) const {
    const int index = gen_.check_cookie(tuple_of(id), ack.seq() - 1, ack.ack() - 1, period(now));
    if (index < 0) return std::nullopt;
    opening o{.mss = cookie_mss[static_cast<std::size_t>(index)]};
    if (const auto& ts = ack.options().timestamp; ts && (ts->second & ts_wscale_bits) != ts_wscale_bits)
        o.peer_wscale = wire::window_scale(static_cast<std::uint8_t>(ts->second & ts_wscale_bits));
    return o;
}

}  // namespace coronet::tcp
