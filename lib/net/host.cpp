#include <algorithm>
#include <coronet/net/host.hpp>
#include <coronet/runtime/log.hpp>
#include <coronet/wire/arp.hpp>
#include <coronet/wire/ethernet.hpp>

namespace coronet::net {

using wire::ethernet_repr;
using wire::mac_address;

namespace {
constexpr std::size_t ident_counters = 2048;
}  // namespace

host::host(runtime::executor& ex, link::device& dev, host_config cfg, std::optional<runtime::random_source> rng)
    : ex_(ex),
      dev_(dev),
      cfg_(cfg),
      mac_(cfg.mac.value_or(dev.mac())),
      mtu_(cfg.mtu ? std::min(cfg.mtu, dev.mtu()) : dev.mtu()),
      offload_(cfg.offload && dev.supports_offload()),
      netmask_(cfg.prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - cfg.prefix_len)),
      arp_(cfg.arp),
      path_mtu_(mtu_, cfg.path_mtu),
      conflict_(cfg.address, cfg.conflict) {
    arp_timer_.on_expire = &arp_timer_fired;
    arp_timer_.context = this;
    probe_timer_.on_expire = &probe_timer_fired;
    probe_timer_.context = this;
    auto random = rng ? *rng : runtime::random_source::from_entropy();
    ident_key_ = random.key();
    idents_.resize(ident_counters);
    for (auto& c : idents_) c = static_cast<std::uint16_t>(random.next());
    ident_last_ = idents_.size();  // none yet
}

host::~host() {
    ex_.timers().erase(arp_timer_);
    ex_.timers().erase(probe_timer_);
}

void host::start() {
    dev_.start(*this);
    if (cfg_.arp_responder && conflict_.start(ex_.now())) {
        send_address_probe();
        arm_probe_timer();
    } else {
        announce();
    }
}

void host::relink() {
    arp_ = arp_cache{cfg_.arp};
    if (!cfg_.mac) mac_ = dev_.mac();
    announce();
}

void host::announce() {
    // Gratuitous ARP (RFC 5227 announcement): sender and target are our address.
    if (cfg_.arp_responder) send_arp(wire::arp_op::request, mac_address::broadcast(), mac_address{}, cfg_.address);
}

bool host::on_link(address_v4 ip) const noexcept {
    return (ip.to_uint() & netmask_) == (cfg_.address.to_uint() & netmask_);
}

void host::set_handler(std::uint8_t protocol, ipv4_handler* h) {
    if (protocol == wire::ip_proto::tcp) tcp_ = h;
}

std::optional<storage::packet> host::allocate(std::size_t wanted) {
    auto p = dev_.allocate(offload_ ? wanted : 0);
    if (!p) ++counters_.tx_no_buffer;
    return p;
}

// ---- input ---------------------------------------------------------------

void host::on_frame(wire::bytes frame, const storage::rx_meta& meta) {
    ++counters_.rx_frames;
    auto eth = wire::ethernet_view::parse(frame);
    if (!eth) {
        ++counters_.rx_bad_ethernet;
        return;
    }
    if (eth->dst() != mac_ && !eth->dst().is_broadcast()) {
        ++counters_.rx_other_mac;
        return;
    }
    switch (eth->type()) {
        case wire::ethertype::arp:
            arp_input(eth->payload());
            break;
        case wire::ethertype::ipv4:
            ipv4_input(eth->payload(), meta, eth->dst().is_broadcast());
            break;
        default:
            ++counters_.rx_unknown_ethertype;
    }
}

void host::arp_input(wire::bytes payload) {
    auto arp = wire::arp_view::parse(payload);
    if (!arp) {
        ++counters_.rx_bad_arp;
        return;
    }
    on_address_claim(conflict_.on_arp(*arp, mac_, ex_.now()));
    const address_v4 sender = arp->sender_ip();
    if (sender == cfg_.address) return;
    const bool for_us = arp->target_ip() == cfg_.address && conflict_.phase() == address_phase::claimed;
    if (arp->operation() == wire::arp_op::reply) ++counters_.arp_replies_received;
    // RFC 826: update an existing entry always; create one only when addressed to us.
    if (!sender.is_unspecified()) {
        arp_.learn(sender, arp->sender_mac(), ex_.now(), for_us, ready_);
        flush(ready_, arp->sender_mac());
    }
    if (for_us && arp->operation() == wire::arp_op::request && cfg_.arp_responder) {
        ++counters_.arp_requests_answered;
        send_arp(wire::arp_op::reply, arp->sender_mac(), arp->sender_mac(), sender);
    }
}

void host::ipv4_input(wire::bytes payload, const storage::rx_meta& meta, bool link_broadcast) {
    auto ip = wire::ipv4_view::parse(payload);
    if (!ip) {
        ++counters_.rx_bad_ipv4;
        return;
    }
    const address_v4 dst = ip->dst();
    const bool broadcast = dst == address_v4::broadcast() || (dst.to_uint() | netmask_) == ~std::uint32_t{0};
    // Until probing has shown the address to be ours (RFC 5227), datagrams
    // to it are not for us either: a SYN then would only draw a reset.
    if ((dst != cfg_.address && !(broadcast && on_link(ip->src()))) || conflict_.phase() != address_phase::claimed) {
        ++counters_.rx_other_ip;
        return;
    }
    if (ip->is_fragment()) {
        ++counters_.rx_fragments;  // no reassembly: see README
        return;
    }
    if (ip->ttl() == 0) {
        ++counters_.rx_ttl_zero;
        return;
    }
    switch (ip->protocol()) {
        case wire::ip_proto::icmp:
            icmp_input(*ip);
            break;
        case wire::ip_proto::tcp:
            if (link_broadcast) {
                ++counters_.rx_broadcast_tcp;
                break;
            }
            if (tcp_) {
                tcp_->on_ipv4(*ip, meta);
                break;
            }
            [[fallthrough]];
        default:
            ++counters_.rx_unknown_protocol;
    }
}

void host::icmp_input(const wire::ipv4_view& ip) {
    auto icmp = wire::icmp_view::parse(ip.payload());
    if (!icmp) {
        ++counters_.rx_bad_icmp;
        return;
    }
    if (icmp->type() == wire::icmp_type::echo_request && ip.dst() == cfg_.address) {
        ++counters_.icmp_echo_requests;
        auto p = allocate();
        const auto data = icmp->payload();
        if (!p || p->tailroom() < wire::icmp_repr::header_len + data.size()) return;
        auto msg = p->put(wire::icmp_repr::header_len + data.size());
        std::copy(data.begin(), data.end(), msg.begin() + wire::icmp_repr::header_len);
        wire::icmp_repr{
            .type = wire::icmp_type::echo_reply, .code = 0, .ident = icmp->ident(), .seq_no = icmp->seq_no()}
            .emit(msg);
        send_ipv4(ip.src(), wire::ip_proto::icmp, std::move(*p));
    } else if (icmp->type() == wire::icmp_type::echo_reply) {
        ++counters_.icmp_echo_replies;
        if (on_echo_reply) on_echo_reply(ip, *icmp);
    } else if (icmp->type() == wire::icmp_type::dest_unreachable || icmp->type() == wire::icmp_type::time_exceeded ||
               icmp->type() == wire::icmp_type::parameter_problem) {
        icmp_error_input(ip, *icmp);
    } else {
        ++counters_.icmp_other;  // source quench (RFC 6633), redirects, replies to queries we never send
    }
}

// RFC 5927 4.1 starts here: the error must be addressed to us (not to a
// broadcast) and quote a datagram from us in a protocol we speak; its
// transport checks the rest (ports, sequence numbers).
void host::icmp_error_input(const wire::ipv4_view& ip, const wire::icmp_view& icmp) {
    auto quote = wire::icmp_quote::parse(icmp.payload());
    if (!quote || ip.dst() != cfg_.address || quote->src != cfg_.address || quote->protocol != wire::ip_proto::tcp ||
        !tcp_) {
        ++counters_.icmp_errors_dropped;
        return;
    }
    ++counters_.icmp_errors;
    const bool too_big =
        icmp.type() == wire::icmp_type::dest_unreachable && icmp.code() == wire::icmp_unreachable::fragmentation_needed;
    tcp_->on_icmp_error({.type = icmp.type(),
                         .code = icmp.code(),
                         .next_hop_mtu = too_big ? icmp.seq_no() : std::uint16_t{0},
                         .quote = *quote});
}

// ---- output --------------------------------------------------------------

std::error_code host::send_ipv4(address_v4 dst, std::uint8_t protocol, storage::packet l4) {
    address_v4 next_hop = dst;
    if (!on_link(dst)) {
        if (!cfg_.gateway) {
            ++counters_.tx_no_route;
            return std::make_error_code(std::errc::network_unreachable);
        }
        next_hop = *cfg_.gateway;
    }
    const std::size_t max_len = l4.offload.gso_size > 0 ? wire::ipv4_repr::max_packet_len : mtu_;
    if (l4.size() + wire::ipv4_repr::header_len > max_len) {
        ++counters_.tx_too_big;
        return std::make_error_code(std::errc::message_size);
    }
    // The transport counted csum_start from its own header; the device counts from the frame's.
    if (l4.offload.checksum_partial) l4.offload.csum_start += ethernet_repr::header_len + wire::ipv4_repr::header_len;
    wire::ipv4_repr ip{};
    ip.src = cfg_.address;
    ip.dst = dst;
    ip.protocol = protocol;
    // A segmentation-offload frame's datagrams take consecutive IDs from this
    // one (counted with the header as payload: at most one too many).
    const std::size_t gso = l4.offload.gso_size;
    const std::size_t datagrams = gso > 0 ? (l4.size() + gso - 1) / gso : 1;
    ip.ident = next_ident(dst, protocol, static_cast<std::uint16_t>(datagrams));
    if (!path_mtu_.empty()) ip.dont_fragment = !path_mtu_.lookup(dst, ex_.now()).fragmentable;
    ip.payload_len = static_cast<std::uint16_t>(l4.size());
    ip.emit(l4.push(wire::ipv4_repr::header_len));
    ++counters_.tx_packets;

    const bool broadcast = dst == address_v4::broadcast() || (on_link(dst) && (dst.to_uint() | netmask_) == ~0u);
    if (broadcast) {
        send_frame(std::move(l4), mac_address::broadcast(), wire::ethertype::ipv4);
        return {};
    }
    if (auto mac = arp_.lookup(next_hop, ex_.now())) {
        send_frame(std::move(l4), *mac, wire::ethertype::ipv4);
        return {};
    }
    switch (arp_.enqueue(next_hop, std::move(l4), ex_.now())) {
        case arp_cache::queued::send_request:
            send_arp(wire::arp_op::request, mac_address::broadcast(), mac_address{}, next_hop);
            arm_arp_timer();
            return {};
        case arp_cache::queued::waiting:
            return {};
        case arp_cache::queued::full:
            break;
    }
    ++counters_.arp_queue_drops;
    return std::make_error_code(std::errc::no_buffer_space);
}

std::error_code host::send_echo_request(address_v4 dst, std::uint16_t ident, std::uint16_t seq, wire::bytes payload) {
    auto p = allocate();
    if (!p) return std::make_error_code(std::errc::no_buffer_space);
    if (p->tailroom() < wire::icmp_repr::header_len + payload.size())
        return std::make_error_code(std::errc::message_size);
    auto msg = p->put(wire::icmp_repr::header_len + payload.size());
    std::copy(payload.begin(), payload.end(), msg.begin() + wire::icmp_repr::header_len);
    wire::icmp_repr{.type = wire::icmp_type::echo_request, .code = 0, .ident = ident, .seq_no = seq}.emit(msg);
    return send_ipv4(dst, wire::ip_proto::icmp, std::move(*p));
}

void host::suspect(address_v4 dst) {
    const auto hop = next_hop(dst);
    if (!hop) return;
    const auto mac = arp_.suspect(*hop, ex_.now());
    if (!mac) return;
    ++counters_.arp_probes_sent;
    send_arp(wire::arp_op::request, *mac, mac_address{}, *hop);
    arm_arp_timer();
}

void host::send_arp(std::uint16_t op, const mac_address& dst_mac, const mac_address& target_mac, address_v4 target_ip,
                    std::optional<address_v4> sender_ip) {
    auto p = allocate();
    if (!p) return;
    wire::arp_repr{.operation = op,
                   .sender_mac = mac_,
                   .sender_ip = sender_ip.value_or(cfg_.address),
                   .target_mac = target_mac,
                   .target_ip = target_ip}
        .emit(p->put(wire::arp_repr::len));
    if (op == wire::arp_op::request) ++counters_.arp_requests_sent;
    send_frame(std::move(*p), dst_mac, wire::ethertype::arp);
}

void host::send_frame(storage::packet p, const mac_address& dst, std::uint16_t type) {
    ethernet_repr{.dst = dst, .src = mac_, .type = type}.emit(p.push(ethernet_repr::header_len));
    dev_.transmit(std::move(p));
}

void host::flush(std::vector<storage::packet>& ready, const mac_address& dst) {
    for (auto& p : ready) send_frame(std::move(p), dst, wire::ethertype::ipv4);
    ready.clear();
}

std::uint16_t host::next_ident(address_v4 dst, std::uint8_t protocol, std::uint16_t count) {
    if (ident_last_ == idents_.size() || dst.to_uint() != ident_last_dst_ || protocol != ident_last_protocol_) {
        std::array<std::byte, 5> in{};
        wire::store_address_v4(in, 0, dst);
        in[4] = std::byte{protocol};
        ident_last_ = runtime::siphash24(ident_key_, in) % idents_.size();
        ident_last_dst_ = dst.to_uint();
        ident_last_protocol_ = protocol;
    }
    const std::uint16_t first = idents_[ident_last_];
    idents_[ident_last_] = static_cast<std::uint16_t>(first + count);
    return first;
}

// ---- address conflicts (RFC 5227) -----------------------------------------

// An ARP probe: a broadcast request for our address from no address.
void host::send_address_probe() {
    ++counters_.address_probes_sent;
    send_arp(wire::arp_op::request, mac_address::broadcast(), mac_address{}, cfg_.address, address_v4{});
}

void host::on_address_claim(address_conflict::verdict v) {
    if (v == address_conflict::verdict::none) return;
    ++counters_.arp_conflicts;
    const std::string rival = conflict_.rival()->to_string();
    if (conflict_.phase() == address_phase::conflict) {
        ex_.timers().erase(probe_timer_);
        runtime::logger().debug("ARP: probing found {} in use by {}", cfg_.address.to_string(), rival);
    } else if (v == address_conflict::verdict::defend) {
        ++counters_.address_defences;
        announce();
        runtime::logger().warn("ARP: {} is also claimed by {}; defended with an announcement", cfg_.address.to_string(),
                               rival);
    } else {
        runtime::logger().warn("ARP: {} is claimed by {} again", cfg_.address.to_string(), rival);
    }
}

void host::arm_probe_timer() {
    ex_.timers().erase(probe_timer_);
    probe_timer_.deadline = conflict_.next_deadline();
    if (probe_timer_.deadline != runtime::time_point::max()) ex_.timers().insert(probe_timer_);
}

void host::probe_timer_fired(runtime::timer_node& n) {
    auto* self = static_cast<host*>(n.context);
    switch (self->conflict_.tick(self->ex_.now())) {
        case address_conflict::action::send_probe:
            self->send_address_probe();
            break;
        case address_conflict::action::announce:
            self->announce();
            break;
        case address_conflict::action::none:
            break;
    }
    self->arm_probe_timer();
}

// ---- ARP timers ----------------------------------------------------------

void host::arm_arp_timer() {
    const auto next = arp_.next_deadline();
    if (next == runtime::time_point::max()) return;
    if (arp_timer_.queued()) {
        if (arp_timer_.deadline <= next) return;
        ex_.timers().erase(arp_timer_);
    }
    arp_timer_.deadline = next;
    ex_.timers().insert(arp_timer_);
}

void host::arp_timer_fired(runtime::timer_node& n) {
    auto* self = static_cast<host*>(n.context);
    arp_cache::tick_result r;
    self->arp_.tick(self->ex_.now(), r);
    for (auto ip : r.retry) self->send_arp(wire::arp_op::request, mac_address::broadcast(), mac_address{}, ip);
    for (const auto& [ip, mac] : r.probe) {
        ++self->counters_.arp_probes_sent;
        self->send_arp(wire::arp_op::request, mac, mac_address{}, ip);
    }
    self->counters_.arp_probes_failed += r.probes_failed;
    self->counters_.arp_queue_drops += r.dropped_frames;
    for (auto ip : r.failed) {
        ++self->counters_.arp_resolve_failed;
        runtime::logger().debug("ARP: no answer for {}", ip.to_string());
        if (self->on_unreachable) self->on_unreachable(ip);
    }
    self->arm_arp_timer();
}

}  // namespace coronet::net
