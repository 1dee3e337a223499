// Internal to coronet::stack: one stack per interface and address on this
// machine. A second coronet on the same interface would see every frame the
// first one sees, and neither can see the other's ARP (each ignores the
// interface's outgoing frames), so RFC 5227 probing cannot find it: the
// stacks of a network namespace claim (interface, address) by binding an
// abstract Unix socket named after them instead.
#pragma once

#include <boost/asio/ip/address_v4.hpp>
#include <string>

namespace coronet::detail {

class address_claim {
public:
    // Claims address on the interface ifindex (called ifname in messages).
    // Throws std::system_error: address_in_use, naming the holder's process
    // when it can be found, if another stack holds the claim.
    address_claim(const std::string& ifname, unsigned ifindex, boost::asio::ip::address_v4 address);
    ~address_claim();
    address_claim(const address_claim&) = delete;
    address_claim& operator=(const address_claim&) = delete;

private:
    int fd_ = -1;
};

}  // namespace coronet::detail
