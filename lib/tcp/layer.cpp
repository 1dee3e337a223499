#include <coronet/tcp/layer.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <random>

namespace coronet::tcp {

// ---- listener_state -------------------------------------------------------

std::shared_ptr<tcb> listener_state::pop() {
    if (ready_.empty()) return nullptr;
    auto c = std::move(ready_.front());
    ready_.pop_front();
    return c;
}

void listener_state::established(std::shared_ptr<tcb> c) {
    if (embryonic_ > 0) --embryonic_;
    if (closed_) {
        c->app_abort();
        return;
    }
    ready_.push_back(std::move(c));
    if (acceptor_) layer_.executor().post(std::exchange(acceptor_, {}));
}

void listener_state::forget(tcb&) {
    if (embryonic_ > 0) --embryonic_;
}

void listener_state::close() {
    if (closed_) return;
    closed_ = true;
    spdlog::info("*:{} LISTEN -> CLOSED (close)", port_);
    layer_.unlisten(port_);
    for (auto& c : ready_) c->app_abort();
    ready_.clear();
    if (acceptor_) layer_.executor().post(std::exchange(acceptor_, {}));
}

// ---- tcp_layer ------------------------------------------------------------

tcp_layer::tcp_layer(net::host& host, tcp_config cfg, std::optional<std::array<std::uint8_t, 16>> isn_secret)
    : host_(host),
      cfg_(std::move(cfg)),
      isn_(isn_secret ? isn_generator(*isn_secret) : isn_generator::from_random_device()) {
    std::random_device rd;
    next_port_ = static_cast<std::uint16_t>(cfg_.ephemeral_low + rd() % (cfg_.ephemeral_high - cfg_.ephemeral_low + 1u));
    host_.set_handler(wire::ip_proto::tcp, this);
    host_.on_unreachable = [this](address_v4 next_hop) { on_unreachable(next_hop); };
}

void tcp_layer::on_unreachable(address_v4 next_hop) {
    std::vector<std::shared_ptr<tcb>> failed;
    for (auto& [id, c] : conns_) {
        const bool via = host_.on_link(id.remote) ? id.remote == next_hop : true;
        if (via && c->current() == state::syn_sent) failed.push_back(c);
    }
    for (auto& c : failed) c->fail_unreachable();
}

tcp_layer::~tcp_layer() {
    host_.set_handler(wire::ip_proto::tcp, nullptr);
    host_.on_unreachable = nullptr;
    // Connections still alive are torn down silently: their coroutines are
    // destroyed with the executor's detached tasks.
    for (auto& [id, c] : conns_) c->orphaned_ = true;
}

namespace {

using drop_counter = std::uint64_t layer_counters::*;

// The counter for a segment tcp_view::parse refused.
drop_counter malformed(std::error_code ec) {
    if (ec == wire::errc::bad_checksum) return &layer_counters::bad_checksums;
    if (ec == wire::errc::bad_header_length) return &layer_counters::bad_data_offset;
    if (ec == wire::errc::bad_option) return &layer_counters::bad_options;
    return &layer_counters::truncated;  // or longer than 65535, which IPv4 cannot carry
}

// RFC 9293 defines no meaning for SYN with FIN or RST, and every state drops
// a segment with none of SYN, ACK and RST (3.10.7.2-4); such segments are
// scans. In CLOSED, where RFC 9293 3.10.7.1 would answer them with a reset,
// they are dropped too, so a scan learns nothing.
bool flags_possible(const wire::tcp_view& seg) {
    using namespace wire::tcp_flag;
    if (seg.has(syn) && (seg.flags() & (fin | rst)) != 0) return false;
    return (seg.flags() & (syn | ack | rst)) != 0;
}

// RFC 1122 4.2.3.10 and RFC 9293 3.10.7.2: no connection has a broadcast or
// multicast end. Source addresses no host can have (zero, loopback, limited
// broadcast, multicast and class E), our own address (a "land" attack) and
// port 0 mark forged segments.
bool addresses_possible(const wire::ipv4_view& ip, const wire::tcp_view& seg, address_v4 self) {
    if (ip.dst() != self) return false;  // the host passes broadcasts up
    const address_v4 src = ip.src();
    const std::uint32_t first_octet = src.to_uint() >> 24;
    if (src == self || first_octet == 0 || first_octet == 127 || first_octet >= 224) return false;
    return seg.src_port() != 0 && seg.dst_port() != 0;
}

}  // namespace

void tcp_layer::on_ipv4(const wire::ipv4_view& ip, const storage::rx_meta& meta) {
    ++counters_.segments_in;
    const auto mode = meta.checksum == storage::rx_checksum::unknown ? wire::checksum_mode::verify
                                                                   : wire::checksum_mode::skip;
    auto seg = wire::tcp_view::parse(ip.payload(), ip.src(), ip.dst(), mode);
    if (!seg) {
        ++(counters_.*malformed(seg.error()));
        return;
    }
    if (!addresses_possible(ip, *seg, host_.address())) {
        ++counters_.bad_addresses;
        return;
    }
    if (!flags_possible(*seg)) {
        ++counters_.bad_flags;
        return;
    }
    const four_tuple id{ip.dst(), seg->dst_port(), ip.src(), seg->src_port()};
    if (auto it = conns_.find(id); it != conns_.end()) {
        std::shared_ptr<tcb> c = it->second;  // keeps it alive through delivery
        if (c->current() == state::time_wait && seg->has(wire::tcp_flag::syn) && !seg->has(wire::tcp_flag::ack)) {
            auto l = listeners_.find(id.local_port);
            if (l != listeners_.end() && !l->second.expired() && time_wait_reusable(*c, *seg)) {
                ++counters_.time_wait_reused;
                c->state_at_ = runtime::time_point::min();  // TIME_WAIT ends now
                c->resume(tcb::wake::timer);
                remove(*c);
                on_listen(*l->second.lock(), id, *seg);
                return;
            }
        }
        c->deliver(*seg);
        return;
    }
    if (auto l = listeners_.find(id.local_port); l != listeners_.end()) {
        if (auto ls = l->second.lock()) {
            on_listen(*ls, id, *seg);
            return;
        }
    }
    ++counters_.no_connection;
    reset_for(id, *seg);
}

// RFC 9293 3.10.7.2: SEGMENT ARRIVES in LISTEN.
void tcp_layer::on_listen(listener_state& l, const four_tuple& id, const wire::tcp_view& seg) {
    using namespace wire::tcp_flag;
    if (seg.has(rst)) return;
    if (seg.has(ack)) {
        if (!seg.has(syn) && accept_syn_cookie(l, id, seg)) return;
        reset_for(id, seg);
        return;
    }
    if (!seg.has(syn)) return;
    if (l.ready_.size() >= l.backlog_) {
        ++counters_.syns_dropped;  // the accept queue is full: the peer retransmits its SYN
        return;
    }
    if (l.embryonic_ >= l.backlog_) {  // the SYN queue is full: a flood, or a burst
        if (cfg_.syn_cookies) send_syn_cookie(l, id, seg);
        else ++counters_.syns_dropped;
        return;
    }
    const auto buffers = admit();
    if (!buffers) {
        reset_for(id, seg);
        return;
    }
    auto c = make_tcb(id, *buffers);
    ++l.embryonic_;
    c->iss_ = isn_.next(id.local, id.local_port, id.remote, id.remote_port, executor().now());
    c->open_passive(seg, l);
}

// Past half the memory limit, buffers shrink in proportion to what is left,
// down to min_buffer; a connection that cannot have even that is refused.
std::optional<std::pair<std::size_t, std::size_t>> tcp_layer::admit() {
    const std::size_t limit = cfg_.memory_limit, pressure = limit / 2;
    std::size_t send = cfg_.send_buffer, receive = cfg_.receive_buffer;
    if (reserved_ + send + receive > pressure) {
        const std::size_t left = reserved_ < limit ? limit - reserved_ : 0;
        const auto shrink = [&](std::size_t full) {
            const std::size_t share = limit > pressure ? full * (left / 4096) / ((limit - pressure) / 4096 + 1) : 0;
            return std::clamp<std::size_t>(share / 4096 * 4096, std::min(cfg_.min_buffer, full), full);
        };
        send = shrink(send);
        receive = shrink(receive);
    }
    if (conns_.size() >= cfg_.max_connections || reserved_ + send + receive > limit) {
        ++counters_.connections_refused;
        return std::nullopt;
    }
    return std::pair{send, receive};
}

std::shared_ptr<tcb> tcp_layer::make_tcb(const four_tuple& id, std::pair<std::size_t, std::size_t> buffers) {
    auto c = std::make_shared<tcb>(*this, id, buffers);
    c->reserved_ = buffers.first + buffers.second;
    reserved_ += c->reserved_;
    conns_.emplace(id, c);
    return c;
}

// ---- SYN cookies (RFC 4987 3.6) -------------------------------------------

namespace {
// The MSS values a cookie can remember (3 bits): the largest not above the peer's is used.
constexpr std::array<std::uint16_t, 8> cookie_mss{256, 536, 1200, 1360, 1400, 1440, 1460, 8960};
constexpr auto cookie_period_length = std::chrono::seconds(64);
// Our timestamp's low bits carry the peer's window scale; 15: none.
constexpr std::uint32_t ts_wscale_bits = 0xf;
}  // namespace

std::uint32_t tcp_layer::cookie_period() const {
    return static_cast<std::uint32_t>(host_.executor().now().time_since_epoch() / cookie_period_length);
}

void tcp_layer::send_syn_cookie(listener_state& l, const four_tuple& id, const wire::tcp_view& syn) {
    const auto& o = syn.options();
    const auto our_mss = static_cast<std::uint16_t>(host_.mtu() - 40);
    const std::uint16_t peer_mss = std::min(o.mss.value_or(536), our_mss);
    unsigned index = 0;
    while (index + 1 < cookie_mss.size() && cookie_mss[index + 1] <= peer_mss) ++index;
    const auto tuple = isn_generator::tuple(id.local, id.local_port, id.remote, id.remote_port);

    wire::tcp_repr r{};
    r.src_port = id.local_port;
    r.dst_port = id.remote_port;
    r.seq = isn_.cookie(tuple, syn.seq(), cookie_period(), index);
    r.ack = syn.seq() + 1;
    r.flags = wire::tcp_flag::syn | wire::tcp_flag::ack;
    r.window = static_cast<std::uint16_t>(std::min<std::size_t>(cfg_.receive_buffer, 65535));
    r.options.mss = our_mss;
    // Only a peer that uses timestamps gets window scaling: its window scale
    // rides back in the low bits of our timestamp, which it echoes.
    if (cfg_.timestamps && o.timestamp) {
        const bool scaled = cfg_.window_scaling && o.window_scale;
        const std::uint32_t bits = scaled ? std::min<std::uint32_t>(*o.window_scale, 14) : ts_wscale_bits;
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(executor().now().time_since_epoch());
        const std::uint32_t now_ts = static_cast<std::uint32_t>(ms.count()) + timestamp_offset(id);
        std::uint32_t ts = (now_ts & ~ts_wscale_bits) | bits;
        if (static_cast<std::int32_t>(ts - now_ts) > 0) ts -= ts_wscale_bits + 1;  // never ahead of the clock
        r.options.timestamp = {{ts, o.timestamp->first}};
        if (scaled) r.options.window_scale = window_scale_for(cfg_.receive_buffer);
    }
    auto p = host_.allocate();
    if (!p) return;  // the peer retransmits its SYN
    r.emit(p->put(r.header_len()), id.local, id.remote);
    l.last_cookie_ = executor().now();
    ++counters_.syn_cookies_sent;
    ++counters_.segments_out;
    host_.send_ipv4(id.remote, wire::ip_proto::tcp, std::move(*p));
}

// An ACK for no connection at a listener that sent cookies lately: a valid
// cookie makes the connection, ESTABLISHED at once. False: answer with a reset.
bool tcp_layer::accept_syn_cookie(listener_state& l, const four_tuple& id, const wire::tcp_view& ack) {
    if (!cfg_.syn_cookies || l.last_cookie_ == runtime::time_point{} ||
        executor().now() - l.last_cookie_ > 2 * cookie_period_length)
        return false;
    const auto tuple = isn_generator::tuple(id.local, id.local_port, id.remote, id.remote_port);
    const int index = isn_.check_cookie(tuple, ack.seq() - 1, ack.ack() - 1, cookie_period());
    if (index < 0) {
        ++counters_.syn_cookies_rejected;
        return false;
    }
    if (l.ready_.size() >= l.backlog_) {
        ++counters_.syns_dropped;  // the accept queue is still full: the peer's retransmission may fit later
        return true;
    }
    const auto buffers = admit();
    if (!buffers) return false;
    std::optional<std::uint8_t> wscale;
    if (const auto& ts = ack.options().timestamp; ts && (ts->second & ts_wscale_bits) != ts_wscale_bits)
        wscale = static_cast<std::uint8_t>(ts->second & ts_wscale_bits);
    ++counters_.syn_cookies_accepted;
    auto c = make_tcb(id, *buffers);
    c->iss_ = ack.ack() - 1;
    c->open_from_cookie(ack, l, cookie_mss[static_cast<std::size_t>(index)], wscale);
    if (ack.seg_len() > 0) c->deliver(ack);  // data (or a FIN) with the handshake's ACK
    return true;
}

// RFC 9293 3.10.7.1: a segment for no connection draws a reset, unless it is one.
void tcp_layer::reset_for(const four_tuple& id, const wire::tcp_view& seg) {
    using namespace wire::tcp_flag;
    if (seg.has(rst)) return;
    wire::tcp_repr r{};
    r.src_port = id.local_port;
    r.dst_port = id.remote_port;
    if (seg.has(ack)) {
        r.seq = seg.ack();
        r.flags = rst;
    } else {
        r.ack = seg.seq() + seg.seg_len();
        r.flags = rst | ack;
    }
    auto p = host_.allocate();
    if (!p) return;
    r.emit(p->put(r.header_len()), id.local, id.remote);
    ++counters_.resets_sent;
    ++counters_.segments_out;
    host_.send_ipv4(id.remote, wire::ip_proto::tcp, std::move(*p));
}

result<std::shared_ptr<tcb>> tcp_layer::connect(address_v4 remote, std::uint16_t remote_port,
                                                std::uint16_t local_port, state from) {
    if (local_port == 0) local_port = ephemeral_port(remote, remote_port);
    if (local_port == 0) return std::make_error_code(std::errc::address_not_available);
    const four_tuple id{host_.address(), local_port, remote, remote_port};
    if (conns_.contains(id)) return std::make_error_code(std::errc::address_in_use);
    const auto buffers = admit();
    if (!buffers) return std::make_error_code(std::errc::no_buffer_space);
    auto c = make_tcb(id, *buffers);
    c->iss_ = isn_.next(id.local, id.local_port, id.remote, id.remote_port, executor().now());
    c->open_active(from);
    return c;
}

result<std::shared_ptr<listener_state>> tcp_layer::listen(std::uint16_t port, std::size_t backlog) {
    if (auto it = listeners_.find(port); it != listeners_.end() && !it->second.expired())
        return std::make_error_code(std::errc::address_in_use);
    auto l = std::make_shared<listener_state>(*this, port, backlog == 0 ? 1 : backlog);
    listeners_[port] = l;
    spdlog::info("*:{} CLOSED -> LISTEN (listen, backlog {})", port, backlog);
    return l;
}

void tcp_layer::unlisten(std::uint16_t port) { listeners_.erase(port); }

void tcp_layer::remove(const tcb& c) {
    auto it = conns_.find(c.id());
    if (it != conns_.end() && it->second.get() == &c) conns_.erase(it);
}

bool tcp_layer::challenge_ack_allowed() {
    const auto now = executor().now();
    if (now - challenge_window_ >= std::chrono::seconds(1)) {
        challenge_window_ = now;
        challenge_count_ = 0;
    }
    if (challenge_count_ >= cfg_.challenge_ack_limit) {
        ++counters_.challenge_acks_limited;
        return false;
    }
    ++challenge_count_;
    return true;
}

std::uint16_t tcp_layer::ephemeral_port(address_v4 remote, std::uint16_t remote_port) {
    const unsigned range = cfg_.ephemeral_high - cfg_.ephemeral_low + 1u;
    for (unsigned i = 0; i < range; ++i) {
        const std::uint16_t port = next_port_;
        next_port_ = next_port_ >= cfg_.ephemeral_high ? cfg_.ephemeral_low : static_cast<std::uint16_t>(next_port_ + 1);
        // With several loops, about one port in steering.count is ours: the scan
        // stays short (count steps on average).
        if (!cfg_.steering.owns(port, remote_port) || listeners_.contains(port)) continue;
        if (!conns_.contains(four_tuple{host_.address(), port, remote, remote_port})) return port;
    }
    return 0;
}

// RFC 6191: a SYN may end TIME_WAIT early when it is certainly new: a newer
// timestamp, or (without timestamps) a sequence number beyond the old one.
bool tcp_layer::time_wait_reusable(tcb& c, const wire::tcp_view& syn) {
    const auto& ts = syn.options().timestamp;
    if (c.ts_ok_ && ts) return static_cast<std::int32_t>(ts->first - c.ts_recent_) > 0;
    return syn.seq() > c.rcv_nxt_;
}

}  // namespace coronet::tcp
