// Promiscuous mode for the relay's interfaces, held by a packet socket's
// membership: a relay must see frames addressed to the hosts behind it, not
// only to its own MAC (veth delivers those anyway; a real NIC filters them).
// The kernel counts memberships, so closing the socket, even by a crash,
// puts the interface back as it was.
#pragma once

#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace coronet::impair {

class promiscuous {
public:
    // Turns promiscuous mode on for ifname; throws std::system_error on failure.
    explicit promiscuous(const std::string& ifname) {
        const unsigned ifindex = ::if_nametoindex(ifname.c_str());
        if (ifindex == 0) throw std::system_error(errno, std::generic_category(), "interface '" + ifname + "'");
        // Protocol 0: the socket receives nothing, it only holds the membership.
        fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "AF_PACKET socket (needs CAP_NET_RAW)");
        packet_mreq mr{};
        mr.mr_ifindex = static_cast<int>(ifindex);
        mr.mr_type = PACKET_MR_PROMISC;
        if (::setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0) {
            const int err = errno;
            ::close(fd_);
            throw std::system_error(err, std::generic_category(), "promiscuous mode on " + ifname);
        }
    }
    ~promiscuous() { ::close(fd_); }
    promiscuous(const promiscuous&) = delete;
    promiscuous& operator=(const promiscuous&) = delete;

private:
    int fd_ = -1;
};

}  // namespace coronet::impair
