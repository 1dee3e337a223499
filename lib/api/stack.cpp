#include <coronet/api/stack.hpp>

#include <spdlog/spdlog.h>

#include <stdexcept>

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
    h.mtu = cfg.mtu;
    return h;
}

void warn_about_kernel_addresses(const std::string& ifname, const net::host_config& h) {
    const std::uint32_t mask = h.prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - h.prefix_len);
    for (const auto& [addr, len] : link::kernel_ipv4_addresses(ifname)) {
        if ((addr.to_uint() & mask) != (h.address.to_uint() & mask)) continue;
        spdlog::warn(
            "interface {} has kernel address {}/{} in the stack's subnet: the kernel will answer the stack's "
            "peers (TCP RSTs, duplicate ICMP). Remove it: ip addr del {}/{} dev {}",
            ifname, addr.to_string(), len, addr.to_string(), len, ifname);
    }
}

}  // namespace

stack::stack(runtime::loop& loop, const interface_config& cfg) : loop_(loop) {
    const net::host_config hc = host_config_from(cfg);
    raw_ = std::make_unique<link::af_packet_device>(loop, link::af_packet_options{.ifname = cfg.ifname});
    device_ = raw_.get();
    if (!cfg.pcap.empty()) {
        tap_ = std::make_unique<link::pcap_tap>(*raw_, cfg.pcap);
        device_ = tap_.get();
    }
    warn_about_kernel_addresses(cfg.ifname, hc);
    host_ = std::make_unique<net::host>(loop, *device_, hc);
    tcp_ = std::make_unique<tcp::tcp_layer>(*host_, cfg.tcp);
    if (tap_)
        tcp_->on_transition = [tap = tap_.get()](const tcp::tcb&, tcp::state from, tcp::state to, const char* cause) {
            tap->annotate(std::string(tcp::to_string(from)) + " -> " + std::string(tcp::to_string(to)) + " (" +
                          cause + ")");
        };
    host_->start();
    spdlog::info("coronet on {} ({}) as {}/{}, mtu {}", cfg.ifname, host_->mac().to_string(),
                 hc.address.to_string(), hc.prefix_len, host_->mtu());
}

stack::~stack() {
    // Connections still open end with the loop's detached tasks; stop the
    // layers in order, TCP first.
    loop_.destroy_detached();
}

result<listener> stack::listen(std::uint16_t port, std::size_t backlog) {
    auto l = tcp_->listen(port, backlog);
    if (!l) return l.error();
    return listener{std::move(*l)};
}

}  // namespace coronet
