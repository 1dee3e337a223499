#include <coronet/api/stack.hpp>
#include <coronet/runtime/frame_allocator.hpp>
#include <coronet/runtime/log.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "address_claim.hpp"

namespace coronet {

ipv4_prefix parse_ipv4_prefix(const std::string& text) {
    ipv4_prefix out;
    const auto slash = text.find('/');
    boost::system::error_code ec;
    out.address = boost::asio::ip::make_address_v4(text.substr(0, slash), ec);
    if (ec) throw std::invalid_argument("'" + text + "' is not an IPv4 address (expected A.B.C.D/N)");
    if (slash != std::string::npos) {
        const std::string len = text.substr(slash + 1);
        std::size_t used = 0;
        int n = -1;
        try {
            n = std::stoi(len, &used);
        } catch (const std::exception&) {
        }
        if (len.empty() || used != len.size() || n < 0 || n > 32)
            throw std::invalid_argument("'" + text + "': prefix length must be 0..32");
        out.length = static_cast<unsigned>(n);
    }
    return out;
}

namespace {

net::host_config host_config_from(const interface_config& cfg) {
    net::host_config h;
    const auto prefix = parse_ipv4_prefix(cfg.address);
    h.address = prefix.address;
    h.prefix_len = prefix.length;
    if (cfg.gateway) {
        boost::system::error_code ec;
        h.gateway = boost::asio::ip::make_address_v4(*cfg.gateway, ec);
        if (ec) throw std::invalid_argument("gateway '" + *cfg.gateway + "' is not an IPv4 address");
    }
    if (cfg.mac) {
        auto m = wire::mac_address::parse(*cfg.mac);
        if (!m) throw std::invalid_argument("'" + *cfg.mac + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
        h.mac = *m;
    }
    for (const auto& [ip, mac] : cfg.neighbors) {
        boost::system::error_code ec;
        const auto address = boost::asio::ip::make_address_v4(ip, ec);
        if (ec) throw std::invalid_argument("neighbor '" + ip + "' is not an IPv4 address");
        const auto m = wire::mac_address::parse(mac);
        if (!m)
            throw std::invalid_argument("neighbor " + ip + ": '" + mac + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
        h.arp.permanent.emplace_back(address, *m);
    }
    h.mtu = cfg.mtu;
    h.offload = cfg.offload;
    h.conflict = cfg.conflict;
    return h;
}

void warn_about_kernel_addresses(const std::string& ifname, const net::host_config& h) {
    const std::uint32_t mask = h.prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - h.prefix_len);
    for (const auto& [addr, len] : link::kernel_ipv4_addresses(ifname)) {
        if ((addr.to_uint() & mask) != (h.address.to_uint() & mask)) continue;
        runtime::logger().warn(
            "interface {} has kernel address {}/{} in the stack's subnet: the kernel will answer the stack's "
            "peers (TCP RSTs, duplicate ICMP). Remove it: ip addr del {}/{} dev {}",
            ifname, addr.to_string(), len, addr.to_string(), len, ifname);
    }
}

}  // namespace

stack::stack(runtime::loop& loop, const interface_config& cfg)
    : loop_(loop), wait_for_interface_(cfg.wait_for_interface) {
    net::host_config hc = host_config_from(cfg);
    if (cfg.wait_for_interface && cfg.loops > 1)
        throw std::invalid_argument("waiting for the interface to come back works with one loop only");
    link::af_packet_options dev{.ifname = cfg.ifname, .rx = cfg.rx.value_or(link::rx_path::ring)};
    if (cfg.rx_ring_slots != 0) dev.rx_ring_slots = cfg.rx_ring_slots;
    tcp::tcp_config tcp = cfg.tcp;
    if (cfg.loops > 1) {
        if (cfg.loop_index >= cfg.loops) throw std::invalid_argument("loop_index must be below loops");
        if (cfg.loop_index > 0 && !cfg.fanout_group)
            throw std::invalid_argument("a stack after the first needs the first one's fanout_group");
        dev.fanout = {.enabled = true,
                      .group = cfg.loop_index == 0 ? std::nullopt : cfg.fanout_group,
                      .index = cfg.loop_index,
                      .loops = cfg.loops};
        dev.arp_tap = cfg.loop_index > 0;  // the group's ARP goes to loop 0 only
        hc.arp_responder = cfg.loop_index == 0;
        tcp.steering = {cfg.loop_index, cfg.loops};
    }
    raw_ = std::make_unique<link::af_packet_device>(loop, dev);
    if (!cfg.wait_for_interface) wait_for_carrier(*raw_, cfg.ifname);
    // Loops after the first share the first one's claim.
    if (cfg.loop_index == 0) claim_ = std::make_unique<detail::address_claim>(cfg.ifname, raw_->ifindex(), hc.address);
    raw_->on_status = [this](link::link_status s, std::error_code ec) { on_link_status(s, ec); };
    device_ = raw_.get();
    if (!cfg.pcap.empty()) {
        tap_ = std::make_unique<link::pcap_tap>(*raw_, cfg.pcap, link::pcap_tap::clock_fn{}, cfg.pcap_rotation);
        device_ = tap_.get();
    }
    if (cfg.loop_index == 0) warn_about_kernel_addresses(cfg.ifname, hc);
    host_ = std::make_unique<net::host>(loop, *device_, hc);
    tcp_ = std::make_unique<tcp::tcp_layer>(*host_, tcp);
    if (tap_)
        tcp_->on_transition = [tap = tap_.get()](const tcp::tcb&, tcp::state from, tcp::state to, const char* cause) {
            tap->annotate(std::string(tcp::to_string(from)) + " -> " + std::string(tcp::to_string(to)) + " (" + cause +
                          ")");
        };
    host_->start();
    probe_address(cfg.ifname);
    if (cfg.loops > 1)
        runtime::logger().info("coronet on {} ({}) as {}/{}, mtu {}, loop {} of {} (fanout group {})", cfg.ifname,
                               host_->mac().to_string(), hc.address.to_string(), hc.prefix_len, host_->mtu(),
                               cfg.loop_index, cfg.loops, *raw_->fanout_group());
    else
        runtime::logger().info("coronet on {} ({}) as {}/{}, mtu {}", cfg.ifname, host_->mac().to_string(),
                               hc.address.to_string(), hc.prefix_len, host_->mtu());
}

// An interface that is down is refused. One that is up may still be
// without a carrier for a moment (a veth pair just made gets it within a
// second, from the kernel's link watch): that is waited for, up to 2 s, so
// that the ARP probes go out; after that the device copes (it waits for
// the link and logs it).
void stack::wait_for_carrier(const link::af_packet_device& dev, const std::string& ifname) {
    auto flags = dev.flags_now();
    if (!flags.up)
        throw std::system_error(std::make_error_code(std::errc::network_down),
                                fmt::format("interface {} is down (ip link set {} up)", ifname, ifname));
    for (int i = 0; i < 40 && !flags.carrier; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        flags = dev.flags_now();
    }
    if (!flags.carrier) runtime::logger().warn("interface {} has no carrier (is its peer up?)", ifname);
}

// Runs the loop while the host probes for its address (RFC 5227); throws
// when another host answered.
void stack::probe_address(const std::string& ifname) {
    while (host_->address_state() == net::address_phase::probing) loop_.run_once();
    if (host_->address_state() != net::address_phase::conflict) return;
    throw std::system_error(std::make_error_code(std::errc::address_in_use),
                            fmt::format("{} on {} is already used by {} (it answered our ARP probe)",
                                        host_->address().to_string(), ifname, host_->address_rival()->to_string()));
}

stack::~stack() {
    // Connections still open end with the loop's detached tasks; stop the
    // layers in order, TCP first.
    loop_.destroy_detached();
}

void stack::on_link_status(link::link_status s, std::error_code ec) {
    if (s != link::link_status::gone) return;  // down and up again: the device copes
    if (wait_for_interface_) {
        runtime::logger().warn("interface {} is gone ({}); waiting for it to come back", raw_->name(), ec.message());
        loop_.spawn(reopen_when_back(), "wait-for-interface");
    } else if (on_interface_lost) {
        on_interface_lost(ec);
    } else {
        runtime::logger().error("interface {} is gone ({}); the stack can neither send nor receive", raw_->name(),
                                ec.message());
    }
}

// Polls by name until an interface of the old name is up, then moves the
// device onto it and announces the address there. Bounded only by the
// stack's life (its destructor ends the loop's detached tasks).
runtime::task<void> stack::reopen_when_back() {
    std::error_code last;
    for (;;) {
        co_await loop_.sleep_for(link::af_packet_device::watch_period);
        const std::error_code ec = raw_->reopen();
        if (!ec) break;
        const bool expected = ec == std::errc::no_such_device || ec == std::errc::resource_unavailable_try_again;
        if (!expected && ec != last)
            runtime::logger().warn("interface {}: cannot reopen it yet: {}", raw_->name(), ec.message());
        last = ec;
    }
    host_->relink();
    runtime::logger().warn("interface {} is back ({}); address {} announced again", raw_->name(),
                           host_->mac().to_string(), host_->address().to_string());
}

result<listener> stack::listen(std::uint16_t port, std::size_t backlog) {
    auto l = tcp_->listen(port, backlog);
    if (!l) return l.error();
    return listener{std::move(*l)};
}

namespace {

// A flat JSON object of unsigned integers, keys in the order added.
class json_counters {
public:
    void operator()(std::string_view key, std::uint64_t value) { object_[std::string(key)] = value; }
    std::string str() && { return object_.dump(); }

private:
    nlohmann::ordered_json object_ = nlohmann::ordered_json::object();
};

void add_device(json_counters& j, const link::device_counters& d) {
    j("dev_rx_frames", d.rx_frames);
    j("dev_rx_bytes", d.rx_bytes);
    j("dev_rx_no_buffers", d.rx_no_buffers);
    j("dev_rx_errors", d.rx_errors);
    j("dev_rx_kernel_drops", d.rx_kernel_drops);
    j("dev_rx_overflow", d.rx_overflow);
    j("dev_tx_frames", d.tx_frames);
    j("dev_tx_bytes", d.tx_bytes);
    j("dev_tx_dropped", d.tx_dropped);
    j("dev_tx_errors", d.tx_errors);
    j("dev_tx_gso_frames", d.tx_gso_frames);
    j("dev_tx_large_exhausted", d.tx_large_exhausted);
}

void add_host(json_counters& j, const net::host_counters& h) {
    j("rx_frames", h.rx_frames);
    j("rx_dropped", h.rx_dropped());
    j("rx_bad_ethernet", h.rx_bad_ethernet);
    j("rx_other_mac", h.rx_other_mac);
    j("rx_unknown_ethertype", h.rx_unknown_ethertype);
    j("rx_bad_arp", h.rx_bad_arp);
    j("arp_requests_answered", h.arp_requests_answered);
    j("arp_replies_received", h.arp_replies_received);
    j("arp_conflicts", h.arp_conflicts);
    j("rx_bad_ipv4", h.rx_bad_ipv4);
    j("rx_other_ip", h.rx_other_ip);
    j("rx_fragments", h.rx_fragments);
    j("rx_ttl_zero", h.rx_ttl_zero);
    j("rx_unknown_protocol", h.rx_unknown_protocol);
    j("rx_broadcast_tcp", h.rx_broadcast_tcp);
    j("rx_bad_icmp", h.rx_bad_icmp);
    j("icmp_echo_requests", h.icmp_echo_requests);
    j("icmp_echo_replies", h.icmp_echo_replies);
    j("icmp_other", h.icmp_other);
    j("icmp_errors", h.icmp_errors);
    j("icmp_errors_dropped", h.icmp_errors_dropped);
    j("tx_packets", h.tx_packets);
    j("tx_no_route", h.tx_no_route);
    j("tx_no_buffer", h.tx_no_buffer);
    j("tx_too_big", h.tx_too_big);
    j("arp_requests_sent", h.arp_requests_sent);
    j("arp_resolve_failed", h.arp_resolve_failed);
    j("arp_queue_drops", h.arp_queue_drops);
    j("arp_probes_sent", h.arp_probes_sent);
    j("arp_probes_failed", h.arp_probes_failed);
    j("address_probes_sent", h.address_probes_sent);
    j("address_defences", h.address_defences);
}

void add_tcp(json_counters& j, const tcp::layer_counters& t) {
    j("tcp_segments_in", t.segments_in);
    j("tcp_segments_out", t.segments_out);
    j("tcp_dropped", t.dropped());
    j("tcp_truncated", t.truncated);
    j("tcp_bad_data_offset", t.bad_data_offset);
    j("tcp_bad_options", t.bad_options);
    j("tcp_bad_checksums", t.bad_checksums);
    j("tcp_bad_flags", t.bad_flags);
    j("tcp_bad_addresses", t.bad_addresses);
    j("tcp_resets_sent", t.resets_sent);
    j("tcp_no_connection", t.no_connection);
    j("tcp_syns_dropped", t.syns_dropped);
    j("tcp_challenge_acks_limited", t.challenge_acks_limited);
    j("tcp_time_wait_reused", t.time_wait_reused);
    j("tcp_time_wait_evicted", t.time_wait_evicted);
    j("tcp_syn_cookies_sent", t.syn_cookies_sent);
    j("tcp_syn_cookies_accepted", t.syn_cookies_accepted);
    j("tcp_syn_cookies_rejected", t.syn_cookies_rejected);
    j("tcp_connections_refused", t.connections_refused);
    j("tcp_buffer_growths_refused", t.buffer_growths_refused);
    j("tcp_icmp_path_mtu", t.icmp_path_mtu);
    j("tcp_icmp_errors", t.icmp_errors);
    j("tcp_icmp_no_connection", t.icmp_no_connection);
    j("tcp_icmp_out_of_window", t.icmp_out_of_window);
    j("tcp_icmp_mtu_ignored", t.icmp_mtu_ignored);
    j("tcp_icmp_ignored", t.icmp_ignored);
}

// The calling thread's, which is the loop's when the loop's code asks.
void add_frames(json_counters& j, const runtime::frame_allocator_stats& f) {
    j("frames_recycled", f.hits);
    j("frames_from_heap", f.misses);
    j("frames_released", f.releases);
    j("frames_cached_bytes", f.cached_bytes);
}

// The loop's: loop_submits counts its entries into the kernel; with
// --busy-poll, loop_busy_polls the turns that checked for work instead of
// sleeping, and loop_quiet_spins those of them that looked only at the
// receive rings, without io_uring_enter.
void add_loop(json_counters& j, const runtime::loop_counters& l) {
    j("loop_iterations", l.iterations);
    j("loop_completions", l.completions);
    j("loop_submits", l.submits);
    j("loop_busy_polls", l.busy_polls);
    j("loop_quiet_spins", l.quiet_spins);
}

void add_connection(json_counters& j, const tcp::connection_stats& c) {
    j("conn_bytes_sent", c.bytes_sent);
    j("conn_bytes_received", c.bytes_received);
    j("conn_bytes_placed", c.bytes_placed);
    j("conn_segments_sent", c.segments_sent);
    j("conn_segments_received", c.segments_received);
    j("conn_retransmits", c.retransmits);
    j("conn_fast_retransmits", c.fast_retransmits);
    j("conn_timeouts", c.timeouts);
    j("conn_dup_acks", c.dup_acks);
    j("conn_ooo_segments", c.ooo_segments);
    j("conn_challenge_acks", c.challenge_acks);
    j("conn_challenge_acks_limited", c.challenge_acks_limited);
    j("conn_out_of_window", c.out_of_window);
    j("conn_rst_ignored", c.rst_ignored);
    j("conn_ack_of_unsent", c.ack_of_unsent);
    j("conn_ack_too_old", c.ack_too_old);
    j("conn_paws_rejected", c.paws_rejected);
    j("conn_missing_timestamps", c.missing_timestamps);
    j("conn_persist_probes", c.persist_probes);
    j("conn_send_errors", c.send_errors);
    j("conn_mss_reductions", c.mss_reductions);
    j("conn_network_errors", c.network_errors);
    j("conn_retransmitted_bytes", c.retransmitted_bytes);
    j("conn_sacked_bytes", c.sacked_bytes);
    j("conn_lost_bytes", c.lost_bytes);
    j("conn_recoveries", c.recoveries);
    j("conn_dsacks_received", c.dsacks_received);
    j("conn_dsacks_sent", c.dsacks_sent);
    j("conn_sack_segments_sent", c.sack_segments_sent);
    j("conn_undos", c.undos);
    j("conn_tlp_probes", c.tlp_probes);
    j("conn_tlp_recoveries", c.tlp_recoveries);
    j("conn_sack_ignored", c.sack_ignored);
    j("conn_renegings", c.renegings);
    j("conn_ooo_refused", c.ooo_refused);
    j("conn_reordering_window_us", c.reordering_window_us);
    j("conn_send_buffer", c.send_buffer);
    j("conn_receive_buffer", c.receive_buffer);
    j("conn_send_buffer_growths", c.send_buffer_growths);
    j("conn_receive_buffer_growths", c.receive_buffer_growths);
    j("conn_cwnd", c.cwnd);
    j("conn_ssthresh", c.ssthresh);
    j("conn_pacing_rate", c.pacing_rate);
    j("conn_cc_bandwidth", c.cc_bandwidth);
    j("conn_cc_min_rtt_us", c.cc_min_rtt_us);
}

}  // namespace

std::string connection_counters_json(const tcp::connection_stats& connection) {
    json_counters j;
    add_connection(j, connection);
    return std::move(j).str();
}

std::string counters_json(stack& st, const tcp::connection_stats* connection) {
    json_counters j;
    add_device(j, st.device().counters());
    add_host(j, st.host().counters());
    add_tcp(j, st.tcp().counters());
    add_frames(j, runtime::frame_stats());
    add_loop(j, st.loop().counters());
    if (connection) add_connection(j, *connection);
    return std::move(j).str();
}

}  // namespace coronet
