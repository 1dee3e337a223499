// The real device: an AF_PACKET raw socket bound to one interface, driven
// entirely through io_uring. RX is mapped TPACKET_V2 rings woken by multishot
// polls (or one multishot receive into a provided-buffer ring: rx_path); TX
// is one send SQE per frame, submitted in batches by the loop.
// PACKET_VNET_HDR is always on: it reports checksum-not-ready and GSO
// super-frames on receive and lets the stack offload checksums and
// segmentation on transmit. Outgoing frames are not looped back
// (PACKET_IGNORE_OUTGOING). The device watches its interface: a link-down
// error makes it poll the interface until it is up again or gone, and a gone
// interface can be reopened by name (reopen()) once it exists again.
#pragma once

#include <linux/filter.h>

#include <array>
#include <boost/asio/ip/address_v4.hpp>
#include <coronet/link/device.hpp>
#include <coronet/runtime/loop.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace coronet::link {

// How received frames reach the device.
//   multishot  one multishot receive into a provided-buffer ring: the kernel
//              copies each frame in the receiving thread (io_uring task work)
//   ring       TPACKET_V2 rings mapped into the process, woken by multishot
//              polls: the kernel copies each frame in its own receive path (on
//              veth the sender's CPU) and the device reads it where it lies;
//              frames up to the MTU in a ring of small slots, offload
//              super-frames in one of 64 KiB slots (read in arrival order),
//              and what finds its ring full overflows to a third socket
enum class rx_path { multishot, ring };
const char* to_string(rx_path p) noexcept;

struct af_packet_options {
    std::string ifname;
    rx_path rx = rx_path::ring;
    // multishot: provided buffers, a power of two (the socket's 64 MiB queue
    // holds what waits for one). ring: the slots of the ring of rx_buffer_size
    // slots and of the ring of MTU-sized ones (each rounded up to fill its
    // 1 MiB blocks; mapped, so resident, from the start: 18 + 7 MiB), per loop.
    unsigned rx_buffers = 256, rx_ring_slots = 256, rx_ring_small_slots = 4096;
    // ring: the rings' sockets and a plain one form a fanout group of their
    // own (one per loop) whose program picks a ring by length,
    // with rollover (PACKET_FANOUT_FLAG_ROLLOVER): a frame that finds its ring
    // full (or, for the flow that dominates, less than a quarter of it free)
    // goes to the other ring or to the plain socket, read by a multishot
    // receive into rx_overflow_buffers provided buffers with the socket's 64
    // MiB queue behind them, instead of being dropped. Off: a full ring
    // drops (rx_kernel_drops).
    bool rx_overflow = true;
    unsigned rx_overflow_buffers = 64;
    std::size_t rx_buffer_size = 64 * 1024 + 256;  // a GSO super-frame fits
    unsigned tx_slots = 512;                       // frames in flight
    std::size_t tx_buffer_size = 2048;             // an MTU-sized frame and headroom (more when the MTU needs it)
    // Buffers for TCP segmentation-offload super-frames (up to a 64 KiB IP
    // packet each), handed out when a sender asks for more than an MTU.
    // Enough for a loop turn's output of several bulk connections: with 64,
    // two connections emptied the pool and sent most of their data in
    // MTU-sized frames (coronet -> coronet, 15 Gbit/s against one
    // connection's 40). Only the buffers in use are touched (the pool hands
    // out the most recently returned first), so the address space costs
    // nothing until a burst needs it.
    unsigned tx_large_buffers = 512;
    std::size_t tx_large_buffer_size = 65536 + 256;
    // Share the interface's traffic with the other loops' devices: TCP flows
    // are steered by link::flow_steering_program's rule, everything else
    // goes to loop 0. multishot: the devices form one fanout group, whose
    // members are numbered in the order they join, so devices must be made
    // in loop order. ring: each device keeps its own rings (and group), and
    // a socket filter on each of its sockets (link::loop_filter_program)
    // keeps the frames of loop `index` of `loops`; `group` is not used.
    struct fanout_options {
        bool enabled = false;
        std::optional<std::uint16_t> group;  // none: start a new group (the kernel picks its id: fanout_group())
        unsigned index = 0, loops = 1;
    } fanout;
    // Also receive every ARP frame on a socket of its own, outside the fanout
    // (which gives ARP to loop 0 only): for the other loops' neighbour
    // resolution.
    bool arp_tap = false;
};

// What the device knows of its interface. down: a send or receive failed
// with a link error (ENETDOWN, ENXIO, ENODEV) and the interface it is bound
// to still exists; gone: that interface no longer exists (deleted, or another
// one now has its name). The device sends nothing (drops and counts) and
// receives nothing unless up.
enum class link_status { up, down, gone };
const char* to_string(link_status s) noexcept;

class af_packet_device final : public device, private runtime::spin_poller {
public:
    // Opens and binds the socket; throws std::system_error naming the cause
    // (no such interface, no CAP_NET_RAW, ...).
    af_packet_device(runtime::loop& loop, af_packet_options opts);
    // The interface it is bound to.
    unsigned ifindex() const noexcept { return ifindex_; }
    // Whether that interface is up (administratively), and whether it has a
    // carrier, now (asks the kernel).
    struct interface_flags {
        bool up = false, carrier = false;
    };
    interface_flags flags_now() const;
    ~af_packet_device() override;

    wire::mac_address mac() const override { return mac_; }
    std::uint16_t mtu() const override { return mtu_; }
    std::string name() const override { return opts_.ifname; }
    bool supports_offload() const override { return true; }
    void start(frame_sink& sink) override;
    using device::allocate;
    std::optional<packet> allocate(std::size_t wanted) override;
    void transmit(packet frame) override;
    std::size_t tx_room() const override { return tx_free_.size(); }
    // Also collects the kernel's drop count (PACKET_STATISTICS, reset on read).
    const device_counters& counters() const override;
    // The fanout group this device joined, if any: the loops' group, or with
    // rings and fanout its own rings' group.
    std::optional<std::uint16_t> fanout_group() const noexcept { return fanout_group_; }

    link_status status() const noexcept { return status_; }
    // Called from the loop when status() changes, with the error that revealed
    // a down or gone interface (none when it is up again). While down, the
    // device checks the interface every watch_period; gone is final until
    // reopen().
    std::function<void(link_status, std::error_code)> on_status;
    static constexpr runtime::duration watch_period = std::chrono::milliseconds(500);
    // After gone: binds a new socket, with the same options, to the interface
    // that now has the name, and receives again; the MAC becomes the new
    // interface's (the MTU stays: the buffers were sized for it). Errors:
    // no_such_device (no such interface yet, or it is not up and running),
    // resource_unavailable_try_again (the old receive is still being
    // cancelled), operation_not_supported (a fanout group or an ARP tap,
    // whose members must rejoin in order), or the socket's own.
    std::error_code reopen();

    // A mapped TPACKET_V2 receive ring (rx_path::ring) and the next slot to read.
    struct rx_ring {
        std::byte* base = nullptr;
        std::size_t bytes = 0, slot_size = 0;
        unsigned slots = 0, per_block = 1, next = 0;
    };
    // The rings and sockets of rx_path::ring besides fd_ (what reopen() makes
    // anew): fd_'s ring (small slots), the large slots' socket and ring, and
    // the overflow socket.
    struct rx_side {
        rx_ring small, large;
        int large_fd = -1, overflow_fd = -1;
    };

private:
    struct rx_op;
    struct tx_slot;
    struct arp_rx;
    static void watch_fired(runtime::timer_node& n);
    void set_up();
    int open_socket(unsigned ifindex, bool bind = true);
    void bind_socket(int fd, unsigned ifindex);
    // Whether each loop has rings of its own (rx_path::ring with fanout).
    bool rings_per_loop() const noexcept { return opts_.fanout.enabled && opts_.rx == rx_path::ring; }
    // The socket filter of each receive socket where one is needed: this
    // loop's frames (rings per loop), or on a kernel without
    // PACKET_FANOUT_FLAG_IGNORE_OUTGOING all but our own.
    std::vector<sock_filter> own_filter() const;
    void link_error(int err);
    void check_link(int err);
    void cancel_receive();
    bool receiving() const noexcept;
    std::array<rx_op*, 3> receives() const noexcept { return {rx_.get(), large_rx_.get(), overflow_rx_.get()}; }
    void close_all() noexcept;
    void join_fanout();
    void open_arp_tap(unsigned ifindex);
    void arm_arp_receive();
    void arm_receive();
    void on_receive(rx_op& op, const io_uring_cqe& cqe);
    void recycle(unsigned short bid);
    void set_up_buffer_ring(unsigned buffers);
    static rx_ring map_ring(int fd, std::size_t frame_room, unsigned slots);
    rx_side open_rx_side(int fd, unsigned ifindex);
    static void close_rx_side(rx_side& side) noexcept;
    void drain_rings();
    // While its loop spins: the rings' frames, without the poll's completion.
    bool poll() override;
    void take(rx_ring& ring, int fd);
    void deliver(const std::byte* vnet, std::size_t len);

    runtime::loop& loop_;
    af_packet_options opts_;
    int fd_ = -1;
    unsigned ifindex_ = 0;
    link_status status_ = link_status::up;
    runtime::timer_node watch_{};  // while down: the next look at the interface
    wire::mac_address mac_{};
    std::uint16_t mtu_ = 1500;
    frame_sink* sink_ = nullptr;
    mutable device_counters counters_;

    // RX: the provided-buffer ring shared with the kernel, and its buffers
    // (rx_path::multishot, or the ring's overflow socket).
    io_uring_buf_ring* buf_ring_ = nullptr;
    unsigned short buf_group_ = 0;  // this device's provided-buffer group on the loop's ring
    unsigned buf_count_ = 0;
    std::size_t buf_ring_bytes_ = 0;
    std::unique_ptr<std::byte[]> rx_storage_;
    rx_side rx_side_;
    // The receives: on fd_ (its ring's poll, or the multishot receive), on
    // the large ring's socket (its poll) and on the overflow socket.
    std::unique_ptr<rx_op> rx_, large_rx_, overflow_rx_;
    // A frame that did not fit its ring's slot, read from the socket's queue
    // (TP_STATUS_COPY) into here.
    std::unique_ptr<std::byte[]> copy_buffer_;

    std::optional<std::uint16_t> fanout_group_;
    // The ARP tap (arp_tap): a plain socket, one receive at a time (ARP is rare).
    int arp_fd_ = -1;
    std::unique_ptr<arp_rx> arp_;
    bool arp_armed_ = false;

    // TX: pools of frame buffers (MTU-sized and GSO-sized) and the slots of sends in flight.
    packet_pool tx_pool_;
    packet_pool tx_large_pool_;
    std::vector<std::unique_ptr<tx_slot>> tx_slots_;
    std::vector<tx_slot*> tx_free_;
};

// The kernel's IPv4 addresses (with prefix length) on an interface, for the
// start-up check that warns when the kernel would answer the stack's peers.
std::vector<std::pair<boost::asio::ip::address_v4, unsigned>> kernel_ipv4_addresses(const std::string& ifname);

}  // namespace coronet::link
