// Library bugs the harnesses found that are not fixed yet. While one is
// listed as true the harnesses steer around it, so that fuzzing goes on past
// it; its input waits in crashes/<harness>/. With the fix, set it to false
// and move the input into corpus/<harness>/, where every check runs it.
#pragma once

namespace coronet::fuzz::known_issue {

// tcb::take_options (lib/tcp/input.cpp) takes the peer's MSS option as it
// comes: 0 leaves snd_mss 0 (nothing is ever sent), and below 12 with
// timestamps `snd_mss_ - 12` wraps to ~65530, so every data segment exceeds
// the MTU and is dropped by host::send_ipv4 (message_size) while the
// connection believes it sent it. Meanwhile the stateful harness raises the
// peer's MSS to at least 64 and the input-path harness skips its MSS check.
// Input: crashes/tcp_stateful/mss-0-with-timestamps.
inline constexpr bool small_peer_mss = false;
inline constexpr unsigned smallest_peer_mss = 64;

// After a retransmission timeout in FIN_WAIT_1 (also CLOSING, LAST_ACK),
// tcb::on_rto (lib/tcp/output.cpp) forgets where the FIN was (fin_seq_.reset()).
// An ACK that then covers the first FIN is taken as data only
// (tcb::process_ack), and output() sends a second FIN one sequence number past
// the first, which the peer never acknowledges: the close hangs until the
// retransmissions run out. Meanwhile the stateful harness lets that second
// FIN pass and does not acknowledge it.
// Input: crashes/tcp_stateful/fin-sent-again-after-rto.
inline constexpr bool fin_sent_again_after_rto = false;

}  // namespace coronet::fuzz::known_issue
