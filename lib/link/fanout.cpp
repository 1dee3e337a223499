#include <linux/if_packet.h>

#include <coronet/link/fanout.hpp>
#include <coronet/storage/flow_hash.hpp>

namespace coronet::link {

namespace {
constexpr std::uint32_t ethertype_ipv4 = 0x0800, ip_proto_tcp = 6;
constexpr std::uint32_t fragment_offset_mask = 0x1fff;
constexpr std::uint32_t flow_hash_multiplier = 0x9e3779b1;
static_assert(storage::flow_hash(0x1234, 0) == ((0x1234u * flow_hash_multiplier) >> 16),
              "the program computes flow_hash");
constexpr std::uint32_t net(std::uint32_t offset) { return static_cast<std::uint32_t>(SKF_NET_OFF) + offset; }

// The instructions that leave storage::flow_hash(ports) of an IPv4 TCP
// segment (not a later fragment) in A and go on after their end; anything
// else jumps to instruction `other`, counted from their start (past their end).
std::vector<sock_filter> flow_hash_section(std::size_t other) {
    const auto to_other = [other](std::size_t at) { return static_cast<std::uint8_t>(other - at - 1); };
    return {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),          // 0: A = ethertype
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ethertype_ipv4, 0, to_other(1)),         // 1: not IPv4
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, net(9)),                                  // 2: A = protocol
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ip_proto_tcp, 0, to_other(3)),           // 3: not TCP
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, net(6)),                                  // 4: A = flags, fragment offset
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, fragment_offset_mask, to_other(5), 0),  // 5: a later fragment
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, net(0)),                                  // 6: A = version, IHL
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf),                                    // 7
        BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 2),                                      // 8: A = IP header length
        BPF_STMT(BPF_MISC | BPF_TAX, 0),                                             // 9: X = A
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, net(0)),                                  // 10: A = source port
        BPF_STMT(BPF_ST, 0),                                                         // 11: M[0] = A
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, net(2)),                                  // 12: A = destination port
        BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 0),                                      // 13: X = M[0]
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),                                      // 14: A ^= X
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, flow_hash_multiplier),                   // 15: 32-bit, as flow_hash
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),                                     // 16: A = flow_hash(ports)
    };
}
constexpr std::size_t flow_hash_section_len = 17;

}  // namespace

std::vector<sock_filter> flow_steering_program() {
    auto p = flow_hash_section(flow_hash_section_len + 1);
    p.push_back(BPF_STMT(BPF_RET | BPF_A, 0));  // the hash
    p.push_back(BPF_STMT(BPF_RET | BPF_K, 0));  // other: member 0
    return p;
}

std::vector<sock_filter> loop_filter_program(std::uint32_t index, std::uint32_t loops) {
    constexpr std::uint32_t all = 0xffffffff;
    constexpr std::size_t prefix = 2, refuse = prefix + flow_hash_section_len + 3;
    std::vector<sock_filter> p{
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, refuse - prefix, 0),  // ours
    };
    const auto hash = flow_hash_section(flow_hash_section_len + 4);
    p.insert(p.end(), hash.begin(), hash.end());
    p.push_back(BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, loops));        // A = the owning loop
    p.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, index, 0, 1));  // another loop's: refuse
    p.push_back(BPF_STMT(BPF_RET | BPF_K, all));                    // this loop's: all of it
    p.push_back(BPF_STMT(BPF_RET | BPF_K, 0));                      // refuse
    p.push_back(BPF_STMT(BPF_RET | BPF_K, index == 0 ? all : 0));   // other: loop 0's
    return p;
}

std::vector<sock_filter> size_split_program(std::uint32_t max_small) {
    return {
        BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),                 // 0: A = skb->len
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, max_small, 1, 0),  // 1: longer -> 3
        BPF_STMT(BPF_RET | BPF_K, 0),                          // 2: the small slots
        BPF_STMT(BPF_RET | BPF_K, 1),                          // 3: the large slots
    };
}

std::vector<sock_filter> incoming_only_program() {
    return {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),  // 0
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 1, 0),                                   // 1: ours -> 3
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),                                                        // 2: all of it
        BPF_STMT(BPF_RET | BPF_K, 0),                                                                 // 3: none
    };
}

}  // namespace coronet::link
