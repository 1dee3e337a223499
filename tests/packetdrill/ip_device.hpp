// The link under the packetdrill adapter: packetdrill speaks raw IPv4, the
// stack Ethernet. Inbound packets get an Ethernet header from a fixed peer
// MAC; outbound frames lose theirs and wait, stamped with the loop's time of
// sending, until packetdrill sniffs them. The stack's ARP requests are
// answered with the peer MAC, whatever address they ask for (packetdrill's
// remote addresses sit behind a gateway it does not model).
#pragma once

#include <coronet/link/device.hpp>
#include <coronet/runtime/executor.hpp>
#include <deque>
#include <vector>

namespace coronet::packetdrill {

class ip_device final : public link::device {
public:
    explicit ip_device(runtime::executor& ex);

    wire::mac_address mac() const override { return own_mac; }
    std::uint16_t mtu() const override { return 1500; }
    std::string name() const override { return "packetdrill"; }
    void start(link::frame_sink& sink) override { sink_ = &sink; }
    using link::device::allocate;
    std::optional<storage::packet> allocate(std::size_t wanted) override;
    void transmit(storage::packet frame) override;
    const link::device_counters& counters() const override { return counters_; }

    // Hands the stack one IPv4 packet as if received; false when it is not IPv4.
    bool receive(wire::bytes ip_packet);
    // Answers the ARP requests sent since the last call; true if there were any.
    bool answer_arp();

    struct outbound {
        std::vector<std::byte> ip;  // the IPv4 packet
        runtime::time_point sent;
    };
    std::deque<outbound>& sent() noexcept { return sent_; }

    static constexpr wire::mac_address own_mac{{0x02, 0, 0, 0, 0, 0x01}};
    static constexpr wire::mac_address peer_mac{{0x02, 0, 0, 0, 0, 0x02}};

private:
    void deliver(std::uint16_t type, wire::bytes payload);

    runtime::executor& ex_;
    storage::packet_pool pool_;
    link::frame_sink* sink_ = nullptr;
    std::deque<outbound> sent_;
    std::vector<std::pair<wire::address_v4, wire::address_v4>> arp_asked_;  // asked for, by
    link::device_counters counters_;
};

}  // namespace coronet::packetdrill
