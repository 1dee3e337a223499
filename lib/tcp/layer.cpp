#include <coronet/tcp/layer.hpp>

#include <spdlog/spdlog.h>

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

void tcp_layer::on_ipv4(const wire::ipv4_view& ip, const link::rx_meta& meta) {
    ++counters_.segments_in;
    const auto mode = meta.checksum == link::rx_checksum::unknown ? wire::checksum_mode::verify
                                                                   : wire::checksum_mode::skip;
    auto seg = wire::tcp_view::parse(ip.payload(), ip.src(), ip.dst(), mode);
    if (!seg) {
        if (seg.error() == wire::errc::bad_checksum) ++counters_.bad_checksums;
        else ++counters_.bad_segments;
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
        reset_for(id, seg);
        return;
    }
    if (!seg.has(syn)) return;
    if (l.embryonic_ >= l.backlog_ || l.ready_.size() >= l.backlog_) {
        ++counters_.syns_dropped;  // the peer retransmits its SYN
        return;
    }
    auto c = std::make_shared<tcb>(*this, id);
    conns_.emplace(id, c);
    ++l.embryonic_;
    c->iss_ = isn_.next(id.local, id.local_port, id.remote, id.remote_port, executor().now());
    c->open_passive(seg, l);
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
    auto c = std::make_shared<tcb>(*this, id);
    conns_.emplace(id, c);
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
        if (listeners_.contains(port)) continue;
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
