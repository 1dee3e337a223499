// The TCP layer: demultiplexing, listeners, resets for no connection, admission
// against the memory limit, SYN cookies, ephemeral ports; the tcb_owner side of
// every connection.
#include <algorithm>
#include <array>
#include <coronet/runtime/log.hpp>
#include <coronet/tcp/layer.hpp>

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
    if (acceptor_) ex_.post(std::exchange(acceptor_, {}));
}

void listener_state::forget() noexcept {
    if (embryonic_ > 0) --embryonic_;
}

void listener_state::close() {
    if (closed_) return;
    closed_ = true;
    runtime::logger().info("*:{} LISTEN -> CLOSED (close)", port_);
    if (on_close_) on_close_();
    for (auto& c : ready_) c->app_abort();
    ready_.clear();
    if (acceptor_) ex_.post(std::exchange(acceptor_, {}));
}

// ---- tcp_layer ------------------------------------------------------------

tcp_layer::tcp_layer(net::host& host, tcp_config cfg, std::optional<runtime::random_source> rng)
    : host_(host),
      cfg_(std::move(cfg)),
      rng_(rng ? *rng : runtime::random_source::from_entropy()),
      isn_(rng_.key()),
      cookies_(isn_, cfg_, static_cast<std::uint16_t>(host.mtu() - 40)),
      port_key_(rng_.key()),
      port_steps_(1024) {
    host_.set_handler(wire::ip_proto::tcp, this);
    host_.on_unreachable = [this](address_v4 next_hop) { on_unreachable(next_hop); };
}

void tcp_layer::on_unreachable(address_v4 next_hop) {
    std::vector<std::shared_ptr<tcb>> via;
    for (auto& [id, c] : conns_)
        if (host_.next_hop(id.remote) == next_hop) via.push_back(c);
    const auto ec = std::make_error_code(std::errc::host_unreachable);
    for (auto& c : via) c->network_error(ec);  // an open in progress fails; the others' timers decide
}

tcp_layer::~tcp_layer() {
    host_.set_handler(wire::ip_proto::tcp, nullptr);
    host_.on_unreachable = nullptr;
    // Connections still alive are torn down silently: their coroutines are
    // destroyed with the executor's detached tasks. Listeners the application
    // still holds forget the layer.
    for (auto& [port, l] : listeners_)
        if (auto open = l.lock()) open->detach();
    // The application may hold connections longer than the layer (and its loop).
    for (auto& [id, c] : conns_) c->orphan();
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
    const auto mode =
        meta.checksum == storage::rx_checksum::unknown ? wire::checksum_mode::verify : wire::checksum_mode::skip;
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
        if (completes_into_full_queue(*c, *seg)) {
            ++counters_.syns_dropped;  // the handshake's ACK: the peer sends it again (or its data carries it)
            return;
        }
        // A new SYN may end TIME_WAIT (RFC 6191): the connection decides, and hands it back.
        const bool new_syn = seg->has(wire::tcp_flag::syn) && !seg->has(wire::tcp_flag::ack);
        auto l = new_syn ? listener(id.local_port) : nullptr;
        if (c->deliver(*seg, l != nullptr) && l) {
            ++counters_.time_wait_reused;
            on_listen(*l, id, *seg);
        }
        return;
    }
    if (auto l = listener(id.local_port)) {
        on_listen(*l, id, *seg);
        return;
    }
    ++counters_.no_connection;
    reset_for(id, *seg);
}

namespace {

// What an ICMP error means for a connection, as Linux maps it
// (icmp_err_convert): destination unreachable by code, time exceeded, and
// parameter problem. "Fragmentation needed" is message_size (path MTU);
// empty: no meaning for TCP.
std::error_code icmp_meaning(std::uint8_t type, std::uint8_t code) {
    using std::errc;
    namespace unreachable = wire::icmp_unreachable;
    if (type == wire::icmp_type::time_exceeded) return std::make_error_code(errc::host_unreachable);
    if (type == wire::icmp_type::parameter_problem) return std::make_error_code(errc::protocol_error);
    if (type != wire::icmp_type::dest_unreachable) return {};
    switch (code) {
        case unreachable::net:
        case unreachable::net_unknown:
        case unreachable::net_prohibited:
        case unreachable::net_tos:
            return std::make_error_code(errc::network_unreachable);
        case unreachable::protocol:
            return std::make_error_code(errc::no_protocol_option);
        case unreachable::port:
            return std::make_error_code(errc::connection_refused);
        case unreachable::fragmentation_needed:
            return std::make_error_code(errc::message_size);
        case unreachable::source_route_failed:
            return std::make_error_code(errc::operation_not_supported);
        default:
            return code <= unreachable::precedence_cutoff ? std::make_error_code(errc::host_unreachable)
                                                          : std::error_code{};
    }
}

}  // namespace

// RFC 5927 4.1: an ICMP error acts only when it quotes a connection that
// exists and a sequence number it has in flight; an attacker off the path
// must then guess both ports and a window of sequence space. A smaller
// path MTU applies to every connection to that destination.
void tcp_layer::on_icmp_error(const net::icmp_error& e) {
    const wire::icmp_quote& q = e.quote;
    const four_tuple id{q.src, wire::load_u16(q.transport, 0), q.dst, wire::load_u16(q.transport, 2)};
    const auto it = conns_.find(id);
    if (it == conns_.end()) {
        ++counters_.icmp_no_connection;
        return;
    }
    std::shared_ptr<tcb> c = it->second;  // alive through the error
    if (!c->quotes_in_flight(seq32{wire::load_u32(q.transport, 4)})) {
        ++counters_.icmp_out_of_window;
        return;
    }
    const std::error_code meaning = icmp_meaning(e.type, e.code);
    if (!meaning) {
        ++counters_.icmp_ignored;
        return;
    }
    if (meaning != std::errc::message_size) {
        ++counters_.icmp_errors;
        c->network_error(meaning);
        return;
    }
    if (!host_.lower_path_mtu(id.remote, e.next_hop_mtu, q.total_length)) {
        ++counters_.icmp_mtu_ignored;
        return;
    }
    ++counters_.icmp_path_mtu;
    std::vector<std::shared_ptr<tcb>> to_peer;
    for (const auto& [other, conn] : conns_)
        if (other.remote == id.remote) to_peer.push_back(conn);
    for (auto& conn : to_peer) conn->network_error(meaning);
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
    if (l.queued() >= l.backlog()) {
        ++counters_.syns_dropped;  // the accept queue is full: the peer retransmits its SYN
        return;
    }
    if (l.embryonic() >= l.backlog()) {  // the SYN queue is full: a flood, or a burst
        if (cfg_.syn_cookies)
            send_syn_cookie(l, id, seg);
        else
            ++counters_.syns_dropped;
        return;
    }
    const auto buffers = admit();
    if (!buffers) {
        reset_for(id, seg);
        return;
    }
    auto c = make_passive_tcb(l, id, isn_.next(id.local, id.local_port, id.remote, id.remote_port, executor().now()),
                              *buffers);
    c->open_passive(seg);
}

// Whether seg is the ACK that would establish c, a connection of a listener's
// SYN queue, while that listener's accept queue is full. Such an ACK is
// dropped (Linux's listen overflow): c stays in SYN_RCVD and the handshake
// completes on a retransmission once accept() made room. So the established
// connections waiting for accept() never outnumber the backlog, however the
// SYN queue's handshakes interleave with it filling up.
bool tcp_layer::completes_into_full_queue(const tcb& c, const wire::tcp_view& seg) const {
    using namespace wire::tcp_flag;
    if (c.current() != state::syn_rcvd || !seg.has(ack) || seg.has(rst) || seg.has(syn)) return false;
    const auto it = embryos_.find(&c);
    if (it == embryos_.end()) return false;
    const auto l = it->second.lock();
    return l && l->queued() >= l->backlog();
}

// A passive open: a connection of l's SYN queue until it is established.
std::shared_ptr<tcb> tcp_layer::make_passive_tcb(listener_state& l, const four_tuple& id, seq32 iss,
                                                 std::pair<std::size_t, std::size_t> buffers) {
    auto c = make_tcb(id, iss, buffers, runtime::time_point::max(), l.max_segment());
    if (!l.congestion_control().empty()) c->set_congestion_control(l.congestion_control());
    l.add_embryonic();
    embryos_[c.get()] = l.weak_from_this();
    return c;
}

std::shared_ptr<listener_state> tcp_layer::listener(std::uint16_t port) const {
    const auto it = listeners_.find(port);
    return it == listeners_.end() ? nullptr : it->second.lock();
}

void tcp_layer::transition(tcb& c, state from, state to, const char* cause) {
    if (on_transition) on_transition(c, from, to, cause);
    if (from == state::time_wait) --time_waits_;
    if (to == state::time_wait) {
        ++time_waits_;
        time_wait_order_.emplace_back(c.id(), &c);
        if (time_wait_order_.size() > 2 * time_waits_ + 64)
            std::erase_if(time_wait_order_, [&](const time_wait_entry& e) { return !still_in_time_wait(e); });
    }
    if (to != state::established) return;
    if (auto it = embryos_.find(&c); it != embryos_.end()) {
        auto l = it->second.lock();
        embryos_.erase(it);
        if (l) l->established(c.shared_from_this());
    }
}

void tcp_layer::closed(tcb& c) {
    if (auto it = embryos_.find(&c); it != embryos_.end()) {  // died in the SYN queue
        if (auto l = it->second.lock()) l->forget();
        embryos_.erase(it);
    }
    auto it = conns_.find(c.id());
    if (it != conns_.end() && it->second.get() == &c) conns_.erase(it);
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
    // (The memory first: a connection refused for it ends no TIME_WAIT.)
    if (reserved_ + send + receive > limit || (conns_.size() >= cfg_.max_connections && !evict_time_wait())) {
        ++counters_.connections_refused;
        return std::nullopt;
    }
    return std::pair{send, receive};
}

// A full table (max_connections) makes room for a new connection by ending
// the one longest in TIME_WAIT: a server that closes first (HTTP) holds a
// TIME_WAIT connection per client for 2MSL, 262,144 of them after 26 s at
// 10,000 connections a second, and refused every new client from then on.
// (Linux bounds TIME_WAIT otherwise: past tcp_max_tw_buckets a closing
// socket skips it, TCPTimeWaitOverflow.)
bool tcp_layer::evict_time_wait() {
    while (!time_wait_order_.empty()) {
        const std::shared_ptr<tcb> c = still_in_time_wait(time_wait_order_.front());  // alive while it closes
        time_wait_order_.pop_front();
        if (!c) continue;
        c->evict();
        ++counters_.time_wait_evicted;
        return true;
    }
    return false;
}

std::shared_ptr<tcb> tcp_layer::still_in_time_wait(const time_wait_entry& e) const {
    const auto it = conns_.find(e.first);
    if (it == conns_.end() || it->second.get() != e.second || e.second->current() != state::time_wait) return nullptr;
    return it->second;
}

// Buffers grow only below the pressure point: the other half of the limit
// stays for new connections (smaller ones past it, as admit() gives).
bool tcp_layer::reserve(std::size_t bytes) noexcept {
    if (reserved_ + bytes > cfg_.memory_limit / 2) {
        ++counters_.buffer_growths_refused;
        return false;
    }
    reserved_ += bytes;
    return true;
}

std::shared_ptr<tcb> tcp_layer::make_tcb(const four_tuple& id, seq32 iss, std::pair<std::size_t, std::size_t> buffers,
                                         runtime::time_point deadline, std::uint16_t max_segment) {
    auto c = std::make_shared<tcb>(static_cast<tcb_owner&>(*this), open_params{.id = id,
                                                                               .iss = iss,
                                                                               .send_buffer = buffers.first,
                                                                               .receive_buffer = buffers.second,
                                                                               .connect_deadline = deadline,
                                                                               .max_segment = max_segment});
    reserved_ += buffers.first + buffers.second;
    conns_.emplace(id, c);
    return c;
}

// ---- SYN cookies (RFC 4987 3.6) -------------------------------------------

void tcp_layer::send_syn_cookie(listener_state& l, const four_tuple& id, const wire::tcp_view& syn) {
    l.cookie_sent(executor().now());
    ++counters_.syn_cookies_sent;
    send(id, cookies_.answer(id, syn, executor().now(), l.max_segment()));
}

// An ACK for no connection at a listener that sent cookies lately: a valid
// cookie makes the connection, ESTABLISHED at once. False: answer with a reset.
bool tcp_layer::accept_syn_cookie(listener_state& l, const four_tuple& id, const wire::tcp_view& ack) {
    const auto now = executor().now();
    if (!cfg_.syn_cookies || l.last_cookie() == runtime::time_point{} || now - l.last_cookie() > syn_cookies::valid_for)
        return false;
    const auto opening = cookies_.check(id, ack, now);
    if (!opening) {
        ++counters_.syn_cookies_rejected;
        return false;
    }
    if (l.queued() >= l.backlog()) {
        ++counters_.syns_dropped;  // the accept queue is still full: the peer's retransmission may fit later
        return true;
    }
    const auto buffers = admit();
    if (!buffers) return false;
    ++counters_.syn_cookies_accepted;
    auto c = make_passive_tcb(l, id, ack.ack() - 1, *buffers);
    c->open_from_cookie(ack, opening->mss, opening->peer_wscale);
    if (ack.seg_len() > 0) c->deliver(ack);  // data (or a FIN) with the handshake's ACK
    return true;
}

// Sends a segment made without a connection (a reset, a SYN cookie).
void tcp_layer::send(const four_tuple& id, const wire::tcp_repr& r) {
    auto p = host_.allocate();
    if (!p) return;  // the peer retransmits, or its next segment draws another answer
    r.emit(p->put(r.header_len()), id.local, id.remote);
    ++counters_.segments_out;
    host_.send_ipv4(id.remote, wire::ip_proto::tcp, std::move(*p));
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
    ++counters_.resets_sent;
    send(id, r);
}

result<std::shared_ptr<tcb>> tcp_layer::connect(address_v4 remote, std::uint16_t remote_port, std::uint16_t local_port,
                                                state from, runtime::time_point deadline, std::uint16_t max_segment) {
    if (!host_.next_hop(remote)) return std::make_error_code(std::errc::network_unreachable);
    if (local_port == 0) local_port = ephemeral_port(remote, remote_port);
    if (local_port == 0) return std::make_error_code(std::errc::address_not_available);
    const four_tuple id{host_.address(), local_port, remote, remote_port};
    if (conns_.contains(id)) return std::make_error_code(std::errc::address_in_use);
    const auto buffers = admit();
    if (!buffers) return std::make_error_code(std::errc::no_buffer_space);
    auto c = make_tcb(id, isn_.next(id.local, id.local_port, id.remote, id.remote_port, executor().now()), *buffers,
                      deadline, max_segment);
    c->open_active(from);
    return c;
}

result<std::shared_ptr<listener_state>> tcp_layer::listen(std::uint16_t port, std::size_t backlog) {
    if (auto it = listeners_.find(port); it != listeners_.end() && !it->second.expired())
        return std::make_error_code(std::errc::address_in_use);
    auto l = std::make_shared<listener_state>(executor(), port, backlog == 0 ? 1 : backlog,
                                              [this, port] { listeners_.erase(port); });
    listeners_[port] = l;
    runtime::logger().info("*:{} CLOSED -> LISTEN (listen, backlog {})", port, backlog);
    return l;
}

bool tcp_layer::challenge_ack_allowed() {
    const auto now = executor().now();
    if (now - challenge_window_ >= std::chrono::seconds(1)) {
        challenge_window_ = now;
        const unsigned limit = cfg_.challenge_ack_limit;
        challenge_budget_ = limit == 0 ? 0 : (limit + 1) / 2 + rng_.below(limit);  // [limit/2, 3*limit/2)
    }
    if (challenge_budget_ == 0) {
        ++counters_.challenge_acks_limited;
        return false;
    }
    --challenge_budget_;
    return true;
}

std::uint16_t tcp_layer::ephemeral_port(address_v4 remote, std::uint16_t remote_port) {
    const unsigned range = cfg_.ephemeral_high - cfg_.ephemeral_low + 1u;
    const std::uint64_t h =
        runtime::siphash24(port_key_, isn_generator::tuple(host_.address(), 0, remote, remote_port));
    const auto offset = static_cast<std::uint32_t>(h);                  // F(local, remote, remote port)
    std::uint32_t& step = port_steps_[(h >> 32) % port_steps_.size()];  // table[G(...)]
    for (unsigned i = 0; i < range; ++i) {
        const auto port = static_cast<std::uint16_t>(cfg_.ephemeral_low + (offset + step + i) % range);
        // With several loops, about one port in steering.count is ours: the scan
        // stays short (count steps on average).
        if (!cfg_.steering.owns(port, remote_port) || listeners_.contains(port)) continue;
        if (conns_.contains(four_tuple{host_.address(), port, remote, remote_port})) continue;
        step += i + 1 + rng_.below(8);
        return port;
    }
    return 0;
}

}  // namespace coronet::tcp
