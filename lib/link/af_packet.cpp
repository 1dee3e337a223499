#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <coronet/link/af_packet.hpp>
#include <coronet/link/fanout.hpp>
#include <coronet/runtime/log.hpp>
#include <cstring>
#include <system_error>
#include <utility>

namespace coronet::link {

namespace {

// Each device on a loop registers its ring under its own group id, the first
// free one from here (two devices on one loop: a relay, a bridge).
constexpr unsigned short first_buffer_group = 7, buffer_group_count = 64;
// struct virtio_net_hdr, host byte order (linux/virtio_net.h cannot be
// included from C++: one of its structs has a field named `class`).
struct virtio_net_hdr {
    std::uint8_t flags;
    std::uint8_t gso_type;
    std::uint16_t hdr_len, gso_size, csum_start, csum_offset;
};
static_assert(sizeof(virtio_net_hdr) == 10);
constexpr std::uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1, VIRTIO_NET_HDR_F_DATA_VALID = 2;
constexpr std::uint8_t VIRTIO_NET_HDR_GSO_NONE = 0, VIRTIO_NET_HDR_GSO_TCPV4 = 1;
constexpr std::size_t vnet_hdr_len = sizeof(virtio_net_hdr);
// Linux 6.2; bookworm's headers predate it.
constexpr int fanout_flag_ignore_outgoing = 0x4000;

[[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

void set_int_option(int fd, int level, int name, int value, const char* what) {
    if (setsockopt(fd, level, name, &value, sizeof value) != 0) fail(what);
}

// Bytes a transmit buffer needs for a full-sized frame on ifname (headroom,
// Ethernet header, MTU), at least `configured`; `configured` when the MTU
// cannot be read (the constructor then reports the interface).
std::size_t tx_buffer_size_for(const std::string& ifname, std::size_t configured) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return configured;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    const bool ok = ioctl(fd, SIOCGIFMTU, &ifr) == 0;
    ::close(fd);
    if (!ok || ifr.ifr_mtu <= 0) return configured;
    return std::max(configured, packet_headroom + 14 + static_cast<std::size_t>(ifr.ifr_mtu));
}

// The interface named ifname as the kernel has it now: its index (0: there
// is none) and whether it is up with a carrier (IFF_UP and IFF_RUNNING).
struct interface_now {
    unsigned ifindex = 0;
    bool running = false;
};
interface_now look_up(int fd, const std::string& ifname) {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0) return {};
    interface_now now{.ifindex = static_cast<unsigned>(ifr.ifr_ifindex)};
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) now.running = (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
    return now;
}

// Errors that say the link is down or the socket's interface is gone.
bool is_link_error(int err) { return err == ENETDOWN || err == ENODEV || err == ENXIO; }

// Attaches a socket filter to fd.
void attach_filter(int fd, std::vector<sock_filter> program) {
    sock_fprog filter{static_cast<unsigned short>(program.size()), program.data()};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof filter) != 0) fail("SO_ATTACH_FILTER");
}

// Joins fd to fanout group `id` (none: a new group, its id chosen by the
// kernel and its program `program`) of type PACKET_FANOUT_CBPF with `flags`,
// leaving our own frames out (on a kernel without the flag for it, by the
// socket filter `own`, which must refuse them); returns the group's id.
std::uint16_t join_group(int fd, std::optional<std::uint16_t> id, int flags, const std::vector<sock_filter>& program,
                         const std::vector<sock_filter>& own) {
    const int type = PACKET_FANOUT_CBPF | flags | (id ? 0 : PACKET_FANOUT_FLAG_UNIQUEID);
    // Once a socket joins, the group's hook receives for it and the socket's
    // own PACKET_IGNORE_OUTGOING no longer applies: the group needs the flag.
    int arg = id.value_or(0) | (type | fanout_flag_ignore_outgoing) << 16;
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
        if (errno != EINVAL) fail("PACKET_FANOUT");
        // A kernel before 6.2: a socket filter keeps our own frames out (of
        // the rings above all, where each would take a slot).
        attach_filter(fd, own);
        arg = id.value_or(0) | type << 16;
        if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) fail("PACKET_FANOUT");
    }
    socklen_t len = sizeof arg;
    if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, &len) != 0) fail("PACKET_FANOUT (read the group)");
    if (!id) {
        sock_fprog prog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
        if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof prog) != 0) fail("PACKET_FANOUT_DATA");
    }
    return static_cast<std::uint16_t>(arg & 0xffff);
}

// Drops what a socket queued before it joined a fanout group: frames that
// were not steered, or copies of what another member received.
void discard_queued(int fd) {
    std::array<std::byte, 64> scratch;
    for (int i = 0; i < 100000 && ::recv(fd, scratch.data(), scratch.size(), MSG_DONTWAIT | MSG_TRUNC) >= 0; ++i) {
    }
}

// The header of a receive ring's next slot.
tpacket2_hdr* head(const af_packet_device::rx_ring& r) {
    return reinterpret_cast<tpacket2_hdr*>(r.base + (r.next / r.per_block) * (std::size_t{1} << 20) +
                                           (r.next % r.per_block) * r.slot_size);
}

// The next slot's header if the kernel has handed it over.
tpacket2_hdr* ready(const af_packet_device::rx_ring& r) {
    if (!r.base) return nullptr;
    tpacket2_hdr* hdr = head(r);
    return (__atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) ? hdr : nullptr;
}

// Gives the next slot back to the kernel and moves on.
void release(af_packet_device::rx_ring& r) {
    __atomic_store_n(&head(r)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    r.next = r.next + 1 == r.slots ? 0 : r.next + 1;
}

// Whether kernel timestamp (sec, nsec) is earlier than (sec2, nsec2).
bool stamped_before(std::uint64_t sec, std::uint64_t nsec, std::uint64_t sec2, std::uint64_t nsec2) {
    return sec != sec2 ? sec < sec2 : nsec < nsec2;
}

rx_meta meta_from(const virtio_net_hdr& h) {
    rx_meta m;
    if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
        m.checksum = rx_checksum::partial;
    else if (h.flags & VIRTIO_NET_HDR_F_DATA_VALID)
        m.checksum = rx_checksum::verified;
    if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) m.gso_size = h.gso_size;
    return m;
}

}  // namespace

// A receive that stays armed: the ring's multishot poll, or a multishot
// receive into the provided buffers, on socket fd.
struct af_packet_device::rx_op final : runtime::io_operation {
    af_packet_device& dev;
    int fd;
    bool polls_ring;
    bool armed = false;
    rx_op(af_packet_device& d, int f, bool ring) : dev(d), fd(f), polls_ring(ring) {}
    void complete(const io_uring_cqe& cqe) override { dev.on_receive(*this, cqe); }
};

struct af_packet_device::arp_rx final : runtime::io_operation {
    af_packet_device& dev;
    std::array<std::byte, 512> buf{};  // ARP frames are 42 to 60 bytes
    explicit arp_rx(af_packet_device& d) : dev(d) {}
    void complete(const io_uring_cqe& cqe) override {
        dev.arp_armed_ = false;
        if (cqe.res == -ECANCELED || !dev.sink_) return;
        if (cqe.res > 0) {
            ++dev.counters_.rx_frames;
            dev.counters_.rx_bytes += static_cast<std::size_t>(cqe.res);
            dev.sink_->on_frame(bytes{buf.data(), static_cast<std::size_t>(cqe.res)}, rx_meta{});
        } else {
            ++dev.counters_.rx_errors;
        }
        if (dev.sink_ && dev.status_ == link_status::up) dev.arm_arp_receive();
    }
};

struct af_packet_device::tx_slot final : runtime::io_operation {
    af_packet_device& dev;
    packet frame;
    explicit tx_slot(af_packet_device& d) : dev(d) {}
    void complete(const io_uring_cqe& cqe) override {
        frame = packet{};
        dev.tx_free_.push_back(this);
        if (cqe.res < 0) {
            ++dev.counters_.tx_errors;
            if (is_link_error(-cqe.res)) dev.link_error(-cqe.res);
        }
    }
};

af_packet_device::af_packet_device(runtime::loop& loop, af_packet_options opts)
    : loop_(loop),
      opts_(std::move(opts)),
      tx_pool_(opts_.tx_slots, tx_buffer_size_for(opts_.ifname, opts_.tx_buffer_size), packet_headroom),
      tx_large_pool_(opts_.tx_large_buffers, opts_.tx_large_buffer_size, packet_headroom) {
    watch_.on_expire = &watch_fired;
    watch_.context = this;
    ifindex_ = if_nametoindex(opts_.ifname.c_str());
    if (ifindex_ == 0) fail("interface '" + opts_.ifname + "'");
    fd_ = open_socket(ifindex_, opts_.rx != rx_path::ring);  // a ring's socket is bound in open_rx_side
    try {
        set_up();
    } catch (...) {  // the destructor will not run
        close_all();
        throw;
    }
}

// The constructor's work once the socket is open.
void af_packet_device::set_up() {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, opts_.ifname.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd_, SIOCGIFHWADDR, &ifr) != 0) fail("SIOCGIFHWADDR");
    std::memcpy(mac_.octets.data(), ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(fd_, SIOCGIFMTU, &ifr) != 0) fail("SIOCGIFMTU");
    mtu_ = static_cast<std::uint16_t>(ifr.ifr_mtu);
    if (opts_.fanout.enabled && !rings_per_loop()) join_fanout();
    if (opts_.arp_tap) open_arp_tap(ifindex_);

    rx_side_ = open_rx_side(fd_, ifindex_);
    rx_ = std::make_unique<rx_op>(*this, fd_, rx_side_.small.base != nullptr);
    if (rx_side_.large_fd >= 0) large_rx_ = std::make_unique<rx_op>(*this, rx_side_.large_fd, true);
    if (rx_side_.overflow_fd >= 0) {
        set_up_buffer_ring(opts_.rx_overflow_buffers);
        overflow_rx_ = std::make_unique<rx_op>(*this, rx_side_.overflow_fd, false);
    } else if (opts_.rx == rx_path::multishot) {
        set_up_buffer_ring(opts_.rx_buffers);
    }
    if (opts_.rx == rx_path::ring) copy_buffer_.reset(new std::byte[opts_.rx_buffer_size + vnet_hdr_len]);

    // A slot for every transmit buffer, the large ones too: a frame built in a
    // buffer allocate() gave must find a slot. allocate() is where a sender
    // is told to wait (TCP retries); transmit() can only drop, and a dropped
    // segment is a loss. With 512 slots for 512 + 64 buffers, a sender with
    // all 64 large buffers in flight went on in MTU-sized frames and lost the
    // frames past the 512th.
    for (unsigned i = 0; i < opts_.tx_slots + opts_.tx_large_buffers; ++i) {
        tx_slots_.push_back(std::make_unique<tx_slot>(*this));
        tx_free_.push_back(tx_slots_.back().get());
    }
    // Last: nothing after it can throw, so the loop never keeps a device that failed to construct.
    if (opts_.rx == rx_path::ring) loop_.add_spin_poller(*this);
}

// The provided-buffer ring of rx_path::multishot or of the ring's overflow
// socket, `buffers` a power of two (liburing 2.3 has no io_uring_setup_buf_ring).
void af_packet_device::set_up_buffer_ring(unsigned buffers) {
    if (buffers == 0 || (buffers & (buffers - 1)) != 0)
        throw std::invalid_argument("af_packet_options: receive buffers must be a power of two");
    buf_count_ = buffers;
    buf_ring_bytes_ = buf_count_ * sizeof(io_uring_buf);
    void* mem = mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) fail("mmap buffer ring");
    buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(buf_ring_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(buf_ring_);
    reg.ring_entries = buf_count_;
    int rc = -EEXIST;
    for (unsigned short g = first_buffer_group; rc == -EEXIST && g < first_buffer_group + buffer_group_count; ++g) {
        reg.bgid = g;
        rc = io_uring_register_buf_ring(&loop_.ring(), &reg, 0);
        buf_group_ = g;
    }
    if (rc != 0) {
        munmap(buf_ring_, buf_ring_bytes_);
        buf_ring_ = nullptr;
        errno = -rc;
        fail("io_uring_register_buf_ring");
    }
    rx_storage_.reset(new std::byte[buf_count_ * opts_.rx_buffer_size]);
    for (unsigned i = 0; i < buf_count_; ++i) recycle(static_cast<unsigned short>(i));
}

// A TPACKET_V2 receive ring on socket fd of at least `slots` slots, each
// with room for a frame of frame_room bytes and the kernel's headers, in
// blocks of 1 MiB (the kernel allocates each block in one piece: a power of
// two wastes nothing), mapped shared. A frame longer than a slot arrives
// truncated: with PACKET_COPY_THRESH set it also waits whole in the socket's
// queue (TP_STATUS_COPY), else it is dropped (rx_errors). Throws
// std::system_error (leaving nothing mapped) when it cannot.
af_packet_device::rx_ring af_packet_device::map_ring(int fd, std::size_t frame_room, unsigned slots) {
    set_int_option(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION");
    constexpr std::size_t block = 1 << 20;
    const std::size_t slot =
        (frame_room + TPACKET2_HDRLEN + 64 + TPACKET_ALIGNMENT - 1) & ~std::size_t{TPACKET_ALIGNMENT - 1};
    if (slot > block) throw std::invalid_argument("af_packet_options::rx_buffer_size is over 1 MiB");
    const std::size_t per_block = block / slot;
    const std::size_t blocks = (std::max<std::size_t>(slots, 1) + per_block - 1) / per_block;
    tpacket_req req{};
    req.tp_block_size = static_cast<unsigned>(block);
    req.tp_block_nr = static_cast<unsigned>(blocks);
    req.tp_frame_size = static_cast<unsigned>(slot);
    req.tp_frame_nr = static_cast<unsigned>(blocks * per_block);
    if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) fail("PACKET_RX_RING");
    void* mem = mmap(nullptr, block * blocks, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) fail("mmap the receive ring");
    return {.base = static_cast<std::byte*>(mem),
            .bytes = block * blocks,
            .slot_size = slot,
            .slots = req.tp_frame_nr,
            .per_block = static_cast<unsigned>(per_block)};
}

// The receive side of rx_path::ring for socket fd on ifindex (nothing for
// multishot). fd gets a ring for frames up to the MTU (and
// PACKET_COPY_THRESH, for a longer one rolled over to it), a second socket
// one of rx_buffer_size slots, and the two (and the overflow socket) form a
// fanout group that sends each frame to its ring by length. The second socket receives every frame from its bind to
// its join: those copies (older than the join) are skipped in its ring and
// dropped from the overflow socket's queue; one that arrives during the join
// may be read twice, which TCP, ARP and ICMP shrug off. Each ring's socket
// is bound once its ring is mapped (fd comes unbound), so nothing waits in
// its queue from before. With fanout each socket's filter (open_socket)
// keeps this loop's frames only, so rollover stays within the loop. Throws
// std::system_error (leaving nothing open but fd) when it cannot.
af_packet_device::rx_side af_packet_device::open_rx_side(int fd, unsigned ifindex) {
    rx_side side;
    if (opts_.rx != rx_path::ring) return side;
    try {
        set_int_option(fd, SOL_PACKET, PACKET_COPY_THRESH, 1, "PACKET_COPY_THRESH");
        side.small = map_ring(fd, 14 + std::size_t{mtu_}, opts_.rx_ring_small_slots);  // an Ethernet header and the MTU
        bind_socket(fd, ifindex);
        side.large_fd = open_socket(ifindex, false);
        side.large = map_ring(side.large_fd, opts_.rx_buffer_size, opts_.rx_ring_slots);
        bind_socket(side.large_fd, ifindex);
        const int flags = PACKET_FANOUT_FLAG_ROLLOVER;
        const auto own = own_filter();
        const std::uint16_t group = join_group(fd, std::nullopt, flags, size_split_program(mtu_), own);
        if (rings_per_loop()) fanout_group_ = group;
        timespec joined{};
        clock_gettime(CLOCK_REALTIME, &joined);
        join_group(side.large_fd, group, flags, {}, own);
        for (unsigned n = 0; n < side.large.slots; ++n) {  // the copies from before the join
            const tpacket2_hdr* hdr = ready(side.large);
            if (!hdr || !stamped_before(hdr->tp_sec, hdr->tp_nsec, static_cast<std::uint64_t>(joined.tv_sec),
                                        static_cast<std::uint64_t>(joined.tv_nsec)))
                break;
            release(side.large);
        }
        if (opts_.rx_overflow) {
            side.overflow_fd = open_socket(ifindex);
            join_group(side.overflow_fd, group, flags, {}, own);
            discard_queued(side.overflow_fd);
        }
    } catch (...) {
        close_rx_side(side);
        throw;
    }
    return side;
}

void af_packet_device::close_rx_side(rx_side& side) noexcept {
    for (rx_ring* r : {&side.small, &side.large})
        if (r->base) munmap(r->base, r->bytes);
    for (int fd : {side.large_fd, side.overflow_fd})
        if (fd >= 0) ::close(fd);
    side = {};
}

af_packet_device::~af_packet_device() {
    // Cancel what the kernel still holds and reap it, so no completion can
    // reach a freed operation (or a sink that is already gone).
    sink_ = nullptr;
    loop_.remove_spin_poller(*this);
    loop_.timers().erase(watch_);
    io_uring_sqe* s = loop_.sqe();
    io_uring_prep_cancel_fd(s, fd_, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data(s, nullptr);
    for (int fd : {arp_fd_, rx_side_.large_fd, rx_side_.overflow_fd}) {
        if (fd < 0) continue;
        s = loop_.sqe();
        io_uring_prep_cancel_fd(s, fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data(s, nullptr);
    }
    for (int i = 0; i < 1000 && (receiving() || arp_armed_ || tx_free_.size() < tx_slots_.size()); ++i)
        loop_.run_once(false);
    close_all();
}

// Gives back what the device opened: the buffer ring, the rings and sockets.
void af_packet_device::close_all() noexcept {
    if (buf_ring_) {
        io_uring_unregister_buf_ring(&loop_.ring(), buf_group_);
        munmap(buf_ring_, buf_ring_bytes_);
    }
    close_rx_side(rx_side_);
    if (arp_fd_ >= 0) ::close(arp_fd_);
    ::close(fd_);
}

// A raw socket with the device's options, bound to ifindex unless `bind`
// is false (bind_socket() then, once its ring is mapped); throws
// std::system_error (and leaves nothing open) when it cannot. It receives
// nothing before the bind (protocol 0 until then), so a ring, and with
// rings per loop the loop's filter, is in place for its first frame.
int af_packet_device::open_socket(unsigned ifindex, bool bind) {
    const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("AF_PACKET socket (needs CAP_NET_RAW)");
    try {
        set_int_option(fd, SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR");
        set_int_option(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING");
        // What arrives while the loop is busy waits here: the windows the
        // stack's connections advertise (up to 6 MiB each) add up past 8 MiB
        // with two bulk senders, and frames past the buffer were lost (a
        // coronet sender, not paced on a LAN, sends a window at once). Memory
        // is used only while frames wait.
        int rcvbuf = 64 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);  // best effort
        // A send finding the socket's send buffer full (frames still queued in a
        // qdisc, e.g. a rate limiter) must not wait: io_uring would retry it after
        // AF_PACKET had already consumed the virtio-net header from it, and the
        // retry went out shifted by 10 bytes (EINVAL, or a frame to a wrong MAC).
        // A send buffer far above what the transmit pools can hold keeps that
        // rare, and MSG_DONTWAIT (transmit) makes it a counted error, never a retry.
        int sndbuf = 32 << 20;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);  // best effort

        if (rings_per_loop()) attach_filter(fd, own_filter());
        if (bind) bind_socket(fd, ifindex);
    } catch (...) {
        ::close(fd);
        throw;
    }
    return fd;
}

// Binds fd to every protocol on ifindex: from now on it receives.
void af_packet_device::bind_socket(int fd, unsigned ifindex) {
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(ifindex);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind to " + opts_.ifname);
}

std::vector<sock_filter> af_packet_device::own_filter() const {
    if (rings_per_loop()) return loop_filter_program(opts_.fanout.index, opts_.fanout.loops);
    return incoming_only_program();
}

// Joins (or starts) the fanout group. A new group gets a kernel-chosen id
// (PACKET_FANOUT_FLAG_UNIQUEID) and the steering program.
void af_packet_device::join_fanout() {
    fanout_group_ = join_group(fd_, opts_.fanout.group, 0, flow_steering_program(), own_filter());
    // Frames queued between bind and join were not steered: drop them, or
    // this loop would answer other loops' segments with resets.
    discard_queued(fd_);
    runtime::logger().debug("{}: fanout group {} joined", opts_.ifname, *fanout_group_);
}

void af_packet_device::open_arp_tap(unsigned ifindex) {
    arp_fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (arp_fd_ < 0) fail("AF_PACKET socket for ARP");
    set_int_option(arp_fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING (ARP)");
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ARP);
    addr.sll_ifindex = static_cast<int>(ifindex);
    if (::bind(arp_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        fail("bind ARP socket to " + opts_.ifname);
    arp_ = std::make_unique<arp_rx>(*this);
}

af_packet_device::interface_flags af_packet_device::flags_now() const {
    ifreq ifr{};
    if (::if_indextoname(ifindex_, ifr.ifr_name) == nullptr || ioctl(fd_, SIOCGIFFLAGS, &ifr) != 0) return {};
    return {.up = (ifr.ifr_flags & IFF_UP) != 0, .carrier = (ifr.ifr_flags & IFF_RUNNING) != 0};
}

void af_packet_device::start(frame_sink& sink) {
    sink_ = &sink;
    arm_receive();
    if (arp_fd_ >= 0) arm_arp_receive();
}

void af_packet_device::arm_arp_receive() {
    io_uring_sqe* s = loop_.sqe();
    io_uring_prep_recv(s, arp_fd_, arp_->buf.data(), arp_->buf.size(), 0);
    io_uring_sqe_set_data(s, static_cast<runtime::io_operation*>(arp_.get()));
    arp_armed_ = true;
}

// Arms each receive that is not armed.
void af_packet_device::arm_receive() {
    for (rx_op* op : receives()) {
        if (!op || op->armed) continue;
        io_uring_sqe* s = loop_.sqe();
        if (op->polls_ring) {
            io_uring_prep_poll_multishot(s, op->fd, POLLIN);
        } else {
            io_uring_prep_recv_multishot(s, op->fd, nullptr, 0, 0);
            s->flags |= IOSQE_BUFFER_SELECT;
            s->buf_group = buf_group_;
        }
        io_uring_sqe_set_data(s, static_cast<runtime::io_operation*>(op));
        op->armed = true;
    }
}

bool af_packet_device::receiving() const noexcept {
    return std::ranges::any_of(receives(), [](const rx_op* op) { return op && op->armed; });
}

void af_packet_device::recycle(unsigned short bid) {
    io_uring_buf_ring_add(buf_ring_, rx_storage_.get() + bid * opts_.rx_buffer_size,
                          static_cast<unsigned>(opts_.rx_buffer_size), bid, io_uring_buf_ring_mask(buf_count_), 0);
    io_uring_buf_ring_advance(buf_ring_, 1);
}

void af_packet_device::on_receive(rx_op& op, const io_uring_cqe& cqe) {
    op.armed = cqe.flags & IORING_CQE_F_MORE;
    if (cqe.res < 0) {
        if (cqe.res == -ENOBUFS) {
            ++counters_.rx_no_buffers;  // back-pressure: the ring ran dry
        } else if (cqe.res != -ECANCELED) {
            ++counters_.rx_errors;
            if (is_link_error(-cqe.res))
                link_error(-cqe.res);
            else
                runtime::logger().warn("{}: receive failed: {}", opts_.ifname, std::strerror(-cqe.res));
        }
    } else if (op.polls_ring) {
        // The poll saw frames in the ring, or an error on the socket (the
        // interface went down or away: the error a receive would have failed with).
        if (cqe.res & POLLERR) {
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(op.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
                ++counters_.rx_errors;
                if (is_link_error(err))
                    link_error(err);
                else
                    runtime::logger().warn("{}: receive failed: {}", opts_.ifname, std::strerror(err));
            }
        }
        drain_rings();
    } else if (cqe.flags & IORING_CQE_F_BUFFER) {
        const auto bid = static_cast<unsigned short>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
        if (&op == overflow_rx_.get()) {
            // It found its ring full: most of what the rings hold came before
            // it (not all: the order across the three is not exact).
            ++counters_.rx_overflow;
            drain_rings();
        }
        deliver(rx_storage_.get() + bid * opts_.rx_buffer_size, static_cast<std::size_t>(cqe.res));
        recycle(bid);
    }
    // Not while the link is down or gone: a receive would fail at once again, or wait for nothing.
    if (!op.armed && cqe.res != -ECANCELED && sink_ && status_ == link_status::up) arm_receive();
}

// One received frame, len bytes after its virtio-net header at vnet, to the sink.
void af_packet_device::deliver(const std::byte* vnet, std::size_t len) {
    if (len < vnet_hdr_len) {
        ++counters_.rx_errors;
        return;
    }
    virtio_net_hdr h;
    std::memcpy(&h, vnet, sizeof h);
    ++counters_.rx_frames;
    counters_.rx_bytes += len - vnet_hdr_len;
    if (sink_) sink_->on_frame(bytes{vnet + vnet_hdr_len, len - vnet_hdr_len}, meta_from(h));
}

// Reads every frame the kernel has handed over in the rings, the older of the
// two heads first (their kernel timestamps), each slot given back as soon as
// its frame was delivered. A bounded pass (one ring's worth each) so that a
// fast sender cannot keep the loop here.
void af_packet_device::drain_rings() {
    rx_ring& small = rx_side_.small;
    rx_ring& large = rx_side_.large;
    for (unsigned n = 0; n < small.slots + large.slots; ++n) {
        tpacket2_hdr* s = ready(small);
        tpacket2_hdr* l = ready(large);
        if (!s && !l) break;
        if (s && (!l || !stamped_before(l->tp_sec, l->tp_nsec, s->tp_sec, s->tp_nsec)))
            take(small, fd_);
        else
            take(large, rx_side_.large_fd);
    }
}

// A busy-polling loop asks on each spin: a frame the kernel wrote into a
// ring is taken at once, where the ring's poll would complete only as task
// work on the loop's next entry into the kernel (a system call per spin).
bool af_packet_device::poll() {
    if (!sink_ || status_ != link_status::up) return false;
    if (!ready(rx_side_.small) && !ready(rx_side_.large)) return false;
    drain_rings();
    return true;
}

// Delivers the frame in ring's next slot (or, for one too long for the slot,
// from socket fd's queue) and gives the slot back.
void af_packet_device::take(rx_ring& ring, int fd) {
    tpacket2_hdr* hdr = head(ring);
    std::byte* slot = reinterpret_cast<std::byte*>(hdr);
    if (hdr->tp_status & TP_STATUS_COPY) {
        const std::size_t room = opts_.rx_buffer_size + vnet_hdr_len;
        ssize_t n = ::recv(fd, copy_buffer_.get(), room, MSG_DONTWAIT | MSG_TRUNC);
        // A pending socket error (the link went down) is reported once, before
        // the queue: the frame is still there, and must not be left for the next slot.
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            n = ::recv(fd, copy_buffer_.get(), room, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 || static_cast<std::size_t>(n) > room)
            ++counters_.rx_errors;
        else
            deliver(copy_buffer_.get(), static_cast<std::size_t>(n));
    } else if (hdr->tp_snaplen < hdr->tp_len || hdr->tp_mac < vnet_hdr_len) {
        ++counters_.rx_errors;  // longer than a slot: truncated
    } else {
        deliver(slot + hdr->tp_mac - vnet_hdr_len, hdr->tp_snaplen + vnet_hdr_len);
    }
    release(ring);
}

const char* to_string(rx_path p) noexcept { return p == rx_path::ring ? "ring" : "multishot"; }

const char* to_string(link_status s) noexcept {
    switch (s) {
        case link_status::up:
            return "up";
        case link_status::down:
            return "down";
        case link_status::gone:
            return "gone";
    }
    return "?";
}

// A send or receive failed with err, a link error: find out what happened to
// the interface, once (later errors find the status changed already).
void af_packet_device::link_error(int err) {
    if (status_ != link_status::up) return;
    runtime::logger().debug("{}: link error: {}", opts_.ifname, std::strerror(err));
    check_link(err);
}

// Compares the interface with what the device is bound to, and acts on a
// change of status; while down, looks again after watch_period.
void af_packet_device::check_link(int err) {
    const interface_now now = look_up(fd_, opts_.ifname);
    const link_status next = now.ifindex != ifindex_ ? link_status::gone
                             : now.running           ? link_status::up
                                                     : link_status::down;
    const link_status before = std::exchange(status_, next);
    if (next == link_status::down && !watch_.queued()) {
        watch_.deadline = loop_.now() + watch_period;
        loop_.timers().insert(watch_);
    }
    if (next == before) return;
    std::error_code ec;
    switch (next) {
        case link_status::down:
            runtime::logger().warn("{}: link is down ({}); waiting for it to come up", opts_.ifname,
                                   std::strerror(err));
            ec = std::error_code(err, std::generic_category());
            break;
        case link_status::up:
            runtime::logger().warn("{}: link is up again", opts_.ifname);
            if (sink_) arm_receive();
            if (sink_ && arp_fd_ >= 0 && !arp_armed_) arm_arp_receive();
            break;
        case link_status::gone:
            // The interface this socket was bound to no longer exists, whatever error revealed it.
            loop_.timers().erase(watch_);
            cancel_receive();
            ec = std::make_error_code(std::errc::no_such_device);
            break;
    }
    if (on_status) on_status(next, ec);
}

void af_packet_device::watch_fired(runtime::timer_node& n) {
    auto& self = *static_cast<af_packet_device*>(n.context);
    self.check_link(ENETDOWN);
}

void af_packet_device::cancel_receive() {
    for (rx_op* op : receives()) {
        if (!op || !op->armed) continue;
        io_uring_sqe* s = loop_.sqe();
        io_uring_prep_cancel(s, static_cast<runtime::io_operation*>(op), 0);
        io_uring_sqe_set_data(s, nullptr);
    }
}

std::error_code af_packet_device::reopen() {
    if (fanout_group_ || arp_fd_ >= 0) return std::make_error_code(std::errc::operation_not_supported);
    if (receiving()) return std::make_error_code(std::errc::resource_unavailable_try_again);
    const interface_now now = look_up(fd_, opts_.ifname);
    if (now.ifindex == 0 || !now.running) return std::make_error_code(std::errc::no_such_device);
    int fd = -1;
    try {
        fd = open_socket(now.ifindex, opts_.rx != rx_path::ring);
    } catch (const std::system_error& e) {
        return e.code();
    }
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, opts_.ifname.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) std::memcpy(mac_.octets.data(), ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu < mtu_)
        runtime::logger().warn("{}: the interface's MTU is now {}, below the stack's {}: larger frames will be lost",
                               opts_.ifname, ifr.ifr_mtu, mtu_);
    // Rings and sockets of their own for the new socket; the old ones' unread frames are lost.
    rx_side side;
    try {
        side = open_rx_side(fd, now.ifindex);
    } catch (const std::system_error& e) {
        ::close(fd);
        return e.code();
    }
    close_rx_side(rx_side_);
    rx_side_ = side;
    if (large_rx_) large_rx_->fd = rx_side_.large_fd;
    if (overflow_rx_) overflow_rx_->fd = rx_side_.overflow_fd;
    // Sends still in flight on the old socket hold it until they complete.
    ::close(fd_);
    fd_ = fd;
    rx_->fd = fd;
    ifindex_ = now.ifindex;
    status_ = link_status::up;
    loop_.timers().erase(watch_);
    if (sink_) arm_receive();
    return {};
}

const device_counters& af_packet_device::counters() const {
    tpacket_stats st{};
    socklen_t len = sizeof st;
    for (int fd : {fd_, rx_side_.large_fd, rx_side_.overflow_fd}) {
        len = sizeof st;
        if (fd >= 0 && getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
            counters_.rx_kernel_drops += st.tp_drops;
    }
    return counters_;
}

std::optional<packet> af_packet_device::allocate(std::size_t wanted) {
    const bool large = wanted > tx_pool_.buffer_size() - packet_headroom;
    if (large)
        if (auto big = tx_large_pool_.get()) return big;
    auto p = tx_pool_.get();  // an MTU-sized one will do
    if (!p)
        ++counters_.tx_dropped;
    else if (large)
        ++counters_.tx_large_exhausted;
    return p;
}

void af_packet_device::transmit(packet frame) {
    if (status_ != link_status::up || tx_free_.empty() || frame.headroom() < vnet_hdr_len) {
        ++counters_.tx_dropped;
        return;
    }
    virtio_net_hdr h{};
    const tx_offload& o = frame.offload;
    if (o.checksum_partial) {
        h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h.csum_start = o.csum_start;
        h.csum_offset = o.csum_offset;
    }
    if (o.gso_size > 0) {
        h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
        h.gso_size = o.gso_size;
        h.hdr_len = o.csum_start;  // headers up to L4; the kernel recomputes as needed
        ++counters_.tx_gso_frames;
    }
    ++counters_.tx_frames;
    counters_.tx_bytes += frame.size();
    std::memcpy(frame.push(vnet_hdr_len).data(), &h, sizeof h);

    tx_slot* slot = tx_free_.back();
    tx_free_.pop_back();
    slot->frame = std::move(frame);
    io_uring_sqe* s = loop_.sqe();
    const auto d = slot->frame.data();
    io_uring_prep_send(s, fd_, d.data(), d.size(), MSG_DONTWAIT);
    io_uring_sqe_set_data(s, static_cast<runtime::io_operation*>(slot));
}

std::vector<std::pair<boost::asio::ip::address_v4, unsigned>> kernel_ipv4_addresses(const std::string& ifname) {
    std::vector<std::pair<boost::asio::ip::address_v4, unsigned>> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return out;
    for (ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || ifname != a->ifa_name) continue;
        auto addr = reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr;
        auto mask = a->ifa_netmask ? reinterpret_cast<sockaddr_in*>(a->ifa_netmask)->sin_addr.s_addr : 0;
        out.emplace_back(boost::asio::ip::address_v4(ntohl(addr)), static_cast<unsigned>(__builtin_popcount(mask)));
    }
    freeifaddrs(list);
    return out;
}

}  // namespace coronet::link
