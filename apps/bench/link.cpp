#include "link.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <spdlog/fmt/fmt.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <coronet/link/af_packet.hpp>
#include <coronet/runtime/loop.hpp>
#include <coronet/wire/ethernet.hpp>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <vector>

#include "../common/json.hpp"

namespace coronet::bench {

namespace {

using runtime::clock;
using runtime::time_point;

// Where the frames go: a locally administered unicast address that no
// interface has, so the peer's kernel sees them as PACKET_OTHERHOST and drops
// them after its packet sockets have had their copy.
constexpr wire::mac_address frame_dst{{0x02, 0x00, 0x5e, 0x00, 0x88, 0xb5}};
// Frames per recvmmsg/sendmmsg call, and what a receive buffer holds.
constexpr unsigned batch = 64;
constexpr std::size_t rx_buffer_size = 2048;
// After a device send run, how long in-flight sends get to complete.
constexpr runtime::duration drain_time = std::chrono::milliseconds(20);

[[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

// Tells whoever starts the sender that this receiver is ready.
void say_receiving(const link_config& cfg) {
    std::fprintf(stderr, "coronet-bench: receiving on %s (path %s)\n", cfg.ifname.c_str(),
                 cfg.path == link_path::raw ? "raw" : "device");
    std::fflush(stderr);
}

// What one run saw. For a receiver, the window is from the first batch of
// frames to the last, so the rate is the sender's while it ran, whatever the
// two programs' start times.
struct link_tally {
    std::uint64_t frames = 0;
    time_point first{}, last{};
    std::uint64_t kernel_drops = 0;  // receive: dropped at the socket (PACKET_STATISTICS)
    std::uint64_t send_errors = 0;   // send: frames the kernel refused

    void received(std::uint64_t n, time_point now) {
        if (n == 0) return;
        if (frames == 0) first = now;
        frames += n;
        last = now;
    }
};

bool is_ours(wire::bytes frame) {
    const auto eth = wire::ethernet_view::parse(frame);
    return eth && eth->type() == link_ethertype;
}

// One frame of cfg.frame_size: the Ethernet header, then zeros.
std::vector<std::byte> make_frame(const link_config& cfg, const wire::mac_address& src) {
    std::vector<std::byte> frame(cfg.frame_size);
    wire::ethernet_repr{frame_dst, src, link_ethertype}.emit(frame);
    return frame;
}

// A plain AF_PACKET socket bound to one interface.
class raw_socket {
public:
    // protocol 0 receives nothing (a sender); ETH_P_ALL receives every frame,
    // as coronet's device does.
    raw_socket(const std::string& ifname, std::uint16_t protocol) {
        const unsigned ifindex = ::if_nametoindex(ifname.c_str());
        if (ifindex == 0) fail("interface '" + ifname + "'");
        fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(protocol));
        if (fd_ < 0) fail("AF_PACKET socket (needs CAP_NET_RAW)");
        sockaddr_ll addr{};
        addr.sll_family = AF_PACKET;
        addr.sll_protocol = htons(protocol);
        addr.sll_ifindex = static_cast<int>(ifindex);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind to " + ifname);
        ifreq ifr{};
        std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
        if (::ioctl(fd_, SIOCGIFHWADDR, &ifr) != 0) fail("SIOCGIFHWADDR");
        std::memcpy(mac_.octets.data(), ifr.ifr_hwaddr.sa_data, 6);
    }
    ~raw_socket() { ::close(fd_); }
    raw_socket(const raw_socket&) = delete;
    raw_socket& operator=(const raw_socket&) = delete;

    int fd() const noexcept { return fd_; }
    const wire::mac_address& mac() const noexcept { return mac_; }

    // Frames the kernel dropped for this socket since the last call.
    std::uint64_t drops() const {
        tpacket_stats st{};
        socklen_t len = sizeof st;
        return ::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0 ? st.tp_drops : 0;
    }

private:
    int fd_ = -1;
    wire::mac_address mac_{};
};

// Receive: recvmmsg in batches of 64, blocking for the first frame of each
// (MSG_WAITFORONE), as the device blocks in its loop's wait; spinning with
// MSG_DONTWAIT measured no faster on veth, where the sender's CPU does the
// delivery. The same 8 MiB receive buffer as the device, and outgoing frames
// ignored as the device does.
link_tally raw_receive(const link_config& cfg, time_point deadline) {
    raw_socket s{cfg.ifname, ETH_P_ALL};
    const int on = 1, rcvbuf = 8 << 20;
    if (::setsockopt(s.fd(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof on) != 0) fail("PACKET_IGNORE_OUTGOING");
    ::setsockopt(s.fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);  // best effort, as the device
    const timeval wake{0, 50'000};  // a blocked receive looks at the clock this often
    if (::setsockopt(s.fd(), SOL_SOCKET, SO_RCVTIMEO, &wake, sizeof wake) != 0) fail("SO_RCVTIMEO");

    std::vector<std::byte> buffers(batch * rx_buffer_size);
    std::array<iovec, batch> iov{};
    std::array<mmsghdr, batch> msgs{};
    for (unsigned i = 0; i < batch; ++i) {
        iov[i] = {buffers.data() + i * rx_buffer_size, rx_buffer_size};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    link_tally t;
    s.drops();  // reset
    say_receiving(cfg);
    for (time_point now = clock::now(); now < deadline;) {
        const int n = ::recvmmsg(s.fd(), msgs.data(), batch, MSG_WAITFORONE, nullptr);
        now = clock::now();
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            fail("recvmmsg");
        }
        std::uint64_t ours = 0;
        for (int i = 0; i < n; ++i) ours += is_ours({buffers.data() + i * rx_buffer_size, msgs[i].msg_len});
        t.received(ours, now);
    }
    t.kernel_drops = s.drops();
    return t;
}

// Send: sendmmsg in batches of 64 of the same frame (measured ~20 % more
// frames than one send() per frame).
link_tally raw_send(const link_config& cfg, time_point deadline) {
    raw_socket s{cfg.ifname, 0};
    auto frame = make_frame(cfg, s.mac());
    iovec iov{frame.data(), frame.size()};
    std::array<mmsghdr, batch> msgs{};
    for (auto& m : msgs) {
        m.msg_hdr.msg_iov = &iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    link_tally t;
    t.first = clock::now();
    while (clock::now() < deadline) {
        const int n = ::sendmmsg(s.fd(), msgs.data(), batch, 0);
        if (n > 0) {
            t.frames += static_cast<unsigned>(n);
            continue;
        }
        if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) fail("sendmmsg");
        ++t.send_errors;  // the frame at the head of the batch was refused
    }
    t.last = clock::now();
    return t;
}

// Counts the frames of our EtherType that the device delivers.
class counting_sink final : public link::frame_sink {
public:
    void on_frame(link::bytes frame, const storage::rx_meta&) override { frames += is_ours(frame); }
    std::uint64_t frames = 0;
};

// Ends the loop's wait at the deadline, so a receive run ends though no frame comes.
runtime::task<void> wake_at(runtime::loop& loop, time_point deadline) { co_await loop.sleep_until(deadline); }

// Receive through the device: the loop's turns are driven here, as loop::run
// would, so the time of each batch of completions is known.
link_tally device_receive(const link_config& cfg, time_point deadline) {
    runtime::loop loop;
    link::af_packet_options opts;
    opts.ifname = cfg.ifname;
    opts.rx = link::rx_path::multishot;  // the figures of README's link rows
    link::af_packet_device dev{loop, opts};
    counting_sink sink;
    dev.counters();  // reset the kernel's drop count
    const std::uint64_t drops_before = dev.counters().rx_kernel_drops;
    dev.start(sink);
    say_receiving(cfg);
    loop.spawn(wake_at(loop, deadline), "deadline");
    link_tally t;
    for (time_point now = clock::now(); now < deadline;) {
        loop.run_once(true);
        now = clock::now();
        t.received(sink.frames - t.frames, now);
    }
    t.kernel_drops = dev.counters().rx_kernel_drops - drops_before;
    return t;
}

// Send through the device: allocate and transmit until the pool is empty,
// then give the loop a turn (it submits the sends and reaps the completions
// that return the buffers), as the stack does.
link_tally device_send(const link_config& cfg, time_point deadline) {
    runtime::loop loop;
    link::af_packet_options opts;
    opts.ifname = cfg.ifname;
    opts.rx = link::rx_path::multishot;  // it reads nothing: no rings to map
    link::af_packet_device dev{loop, opts};
    const auto frame = make_frame(cfg, dev.mac());
    link_tally t;
    t.first = clock::now();
    while (clock::now() < deadline) {
        while (auto p = dev.allocate()) {
            if (p->tailroom() < frame.size()) throw std::length_error("the device's buffers are shorter than a frame");
            std::memcpy(p->put(frame.size()).data(), frame.data(), frame.size());
            dev.transmit(std::move(*p));
        }
        loop.run_once(false);
    }
    t.last = clock::now();
    for (const auto end = t.last + drain_time; clock::now() < end;) loop.run_once(false);
    const auto& c = dev.counters();
    t.send_errors = c.tx_errors;
    t.frames = c.tx_frames - c.tx_errors;
    return t;
}

std::string json(const link_config& cfg, const link_tally& t) {
    const double secs = std::max(std::chrono::duration<double>(t.last - t.first).count(), 1e-9);
    const double fps = t.frames > 0 ? static_cast<double>(t.frames) / secs : 0;
    const bool send = cfg.direction == link_direction::send;
    return apps::json_line({{"role", "link"},
                            {"path", cfg.path == link_path::raw ? "raw" : "device"},
                            {"direction", send ? "send" : "receive"},
                            {"frame_size", cfg.frame_size},
                            {"frames", t.frames},
                            {"duration_s", apps::rounded(t.frames > 0 ? secs : 0.0, 3)},
                            {"mpps", apps::rounded(fps / 1e6, 4)},
                            {"gbit_per_s", apps::rounded(fps * static_cast<double>(cfg.frame_size) * 8 / 1e9, 3)},
                            {send ? "send_errors" : "kernel_drops", send ? t.send_errors : t.kernel_drops}});
}

}  // namespace

std::string run_link(const link_config& cfg) {
    const time_point deadline = clock::now() + cfg.duration;
    const bool raw = cfg.path == link_path::raw;
    const link_tally t = cfg.direction == link_direction::send
                             ? (raw ? raw_send(cfg, deadline) : device_send(cfg, deadline))
                             : (raw ? raw_receive(cfg, deadline) : device_receive(cfg, deadline));
    return json(cfg, t);
}

}  // namespace coronet::bench
