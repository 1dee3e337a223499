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
}  // namespace

std::vector<sock_filter> flow_steering_program() {
    // Jump offsets count instructions after the jump; `other` is the last one.
    return {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),  // 0: A = ethertype
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ethertype_ipv4, 0, 16),          // 1: not IPv4 -> other
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, net(9)),                          // 2: A = protocol
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ip_proto_tcp, 0, 14),            // 3: not TCP -> other
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, net(6)),                          // 4: A = flags, fragment offset
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, fragment_offset_mask, 12, 0),   // 5: a later fragment -> other
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, net(0)),                          // 6: A = version, IHL
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf),                            // 7
        BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 2),                              // 8: A = IP header length
        BPF_STMT(BPF_MISC | BPF_TAX, 0),                                     // 9: X = A
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, net(0)),                          // 10: A = source port
        BPF_STMT(BPF_ST, 0),                                                 // 11: M[0] = A
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, net(2)),                          // 12: A = destination port
        BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 0),                              // 13: X = M[0]
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),                              // 14: A ^= X
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, flow_hash_multiplier),           // 15: 32-bit, as flow_hash
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),                             // 16: A = flow_hash(ports)
        BPF_STMT(BPF_RET | BPF_A, 0),                                        // 17
        BPF_STMT(BPF_RET | BPF_K, 0),                                        // 18: other: member 0
    };
}

std::vector<sock_filter> loop_filter_program(std::uint32_t index, std::uint32_t loops) {
    constexpr std::uint32_t all = 0xffffffff;
    // Jump offsets count instructions after the jump: `refuse` is 22, `other` 23.
    return {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),  // 0
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 20, 0),  // 1: ours -> refuse
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),  // 2: A = ethertype
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ethertype_ipv4, 0, 19),          // 3: not IPv4 -> other
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, net(9)),                          // 4: A = protocol
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ip_proto_tcp, 0, 17),            // 5: not TCP -> other
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, net(6)),                          // 6: A = flags, fragment offset
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, fragment_offset_mask, 15, 0),   // 7: a later fragment -> other
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, net(0)),                          // 8: A = version, IHL
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf),                            // 9
        BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 2),                              // 10: A = IP header length
        BPF_STMT(BPF_MISC | BPF_TAX, 0),                                     // 11: X = A
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, net(0)),                          // 12: A = source port
        BPF_STMT(BPF_ST, 0),                                                 // 13: M[0] = A
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, net(2)),                          // 14: A = destination port
        BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 0),                              // 15: X = M[0]
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),                              // 16: A ^= X
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, flow_hash_multiplier),           // 17: 32-bit, as flow_hash
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),                             // 18: A = flow_hash(ports)
        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, loops),                          // 19: A = the owning loop
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, index, 0, 1),                    // 20: another loop's -> refuse
        BPF_STMT(BPF_RET | BPF_K, all),                                      // 21: this loop's: all of it
        BPF_STMT(BPF_RET | BPF_K, 0),                                        // 22: refuse
        BPF_STMT(BPF_RET | BPF_K, index == 0 ? all : 0),                     // 23: other: loop 0's
    };
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
