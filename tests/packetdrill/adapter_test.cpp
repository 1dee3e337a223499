// The packetdrill adapter as packetdrill drives it, without packetdrill: the
// test dlopens libcoronet_packetdrill.so with RTLD_DEEPBIND, takes the
// interface from packetdrill_interface_init and plays a script by hand
// (a passive open, data both ways, a blocking read on a second thread,
// close), checking what the stack sends, when, and what the calls return.
// Runs in every check, with or without a packetdrill binary.
#define BOOST_TEST_MODULE coronet_packetdrill_adapter
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <coronet/wire/ipv4.hpp>
#include <coronet/wire/tcp.hpp>
#include <cstring>
#include <thread>
#include <vector>

#include "interface.hpp"

using namespace coronet;
using namespace wire::tcp_flag;
using wire::seq32;

namespace {

const wire::address_v4 local{{192, 168, 0, 1}}, remote{{192, 0, 2, 1}};
constexpr std::uint16_t local_port = 8080, remote_port = 45000;

// The adapter loaded as packetdrill loads it.
struct loaded {
    void* handle = nullptr;
    packetdrill_interface ifc{};
    explicit loaded(const char* flags = "") {
        handle = dlopen(CORONET_PACKETDRILL_ADAPTER, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        BOOST_REQUIRE_MESSAGE(handle, dlerror());
        auto init =
            reinterpret_cast<decltype(&packetdrill_interface_init)>(dlsym(handle, "packetdrill_interface_init"));
        BOOST_REQUIRE(init);
        init(flags, &ifc);
    }
    ~loaded() {
        ifc.free(ifc.userdata);
        dlclose(handle);
    }
    void* u() const { return ifc.userdata; }

    long long now() {
        timeval tv{};
        ifc.gettimeofday(u(), &tv, nullptr);
        return tv.tv_sec * 1'000'000LL + tv.tv_usec;
    }
    // The peer sends a segment (raw IPv4, as packetdrill does).
    void inject(const wire::tcp_repr& h, std::string_view payload = {}) {
        std::vector<std::byte> p(wire::ipv4_repr::header_len + h.header_len() + payload.size());
        wire::ipv4_repr ip{.src = remote, .dst = local, .protocol = 6};
        ip.payload_len = static_cast<std::uint16_t>(p.size() - wire::ipv4_repr::header_len);
        ip.emit(p);
        const wire::mut_bytes seg = wire::mut_bytes{p}.subspan(wire::ipv4_repr::header_len);
        std::memcpy(seg.data() + h.header_len(), payload.data(), payload.size());
        h.emit(seg, remote, local);
        BOOST_REQUIRE_EQUAL(ifc.netdev_send(u(), p.data(), p.size()), 0);
    }
    struct sniffed {
        wire::tcp_repr h;
        std::size_t len = 0;
        long long at = 0;
    };
    // The stack's next segment (the adapter runs time forward until it comes).
    sniffed sniff() {
        std::vector<std::byte> buf(2048);
        std::size_t n = buf.size();
        long long at = 0;
        BOOST_REQUIRE_EQUAL(ifc.netdev_receive(u(), buf.data(), &n, &at), 0);
        BOOST_REQUIRE(n > 0);
        auto ip = wire::ipv4_view::parse({buf.data(), n});
        BOOST_REQUIRE(ip);
        auto tcp = wire::tcp_view::parse(ip->payload(), ip->src(), ip->dst());
        BOOST_REQUIRE(tcp);
        return {wire::tcp_repr::from(*tcp), tcp->payload().size(), at};
    }
};

wire::tcp_repr from_peer(std::uint32_t seq, std::uint8_t flags, std::uint32_t ack = 0) {
    wire::tcp_repr h{.src_port = remote_port, .dst_port = local_port, .seq = seq32{seq}, .flags = flags};
    h.ack = seq32{ack};
    h.window = 65535;
    return h;
}

// A listening socket on local_port and a connection accepted on it; returns
// the accepted fd and our ISS.
std::pair<int, std::uint32_t> open_passive(loaded& l, std::uint32_t irs) {
    const int fd = l.ifc.socket(l.u(), AF_INET, SOCK_STREAM, IPPROTO_TCP);
    BOOST_REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(local_port);
    a.sin_addr.s_addr = htonl(local.to_uint());
    BOOST_REQUIRE_EQUAL(l.ifc.bind(l.u(), fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    BOOST_REQUIRE_EQUAL(l.ifc.listen(l.u(), fd, 1), 0);
    auto syn = from_peer(irs, wire::tcp_flag::syn);
    syn.options.mss = 1000;
    syn.options.window_scale = 7;
    l.inject(syn);
    const auto synack = l.sniff();
    BOOST_TEST(synack.h.flags == (wire::tcp_flag::syn | ack));
    BOOST_TEST(synack.h.options.mss.value_or(0) == 1460);
    BOOST_TEST(synack.h.options.window_scale.value_or(0) == 8, "a Linux-like receive buffer: window scale 8");
    BOOST_TEST(!synack.h.options.sack_permitted, "SACK is off unless --so_flags says sack=1");
    l.inject(from_peer(irs + 1, ack, synack.h.seq.value + 1));
    const int conn = l.ifc.accept(l.u(), fd, nullptr, nullptr);
    BOOST_REQUIRE(conn >= 0);
    BOOST_REQUIRE_EQUAL(l.ifc.close(l.u(), fd), 0);
    return {conn, synack.h.seq.value};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_passive_open_moves_data_both_ways_and_closes) {
    loaded l;
    const std::uint32_t irs = 1000;
    const auto [fd, iss] = open_passive(l, irs);

    // The peer's first 100 bytes: ACKed at once (quick-ack mode), readable.
    const long long sent_at = l.now();
    l.inject(from_peer(irs + 1, ack | psh, iss + 1), std::string(100, 'p'));
    const auto a = l.sniff();
    BOOST_TEST(a.h.ack.value == irs + 101);
    BOOST_TEST(a.at - sent_at < 1000, "ACKed within a millisecond of virtual time");
    int unread = 0;
    BOOST_REQUIRE_EQUAL(l.ifc.ioctl(l.u(), fd, FIONREAD, &unread), 0);
    BOOST_TEST(unread == 100);
    char buf[200];
    BOOST_TEST(l.ifc.read(l.u(), fd, buf, sizeof buf) == 100);

    // Bad arguments fail as POSIX says.
    errno = 0;
    BOOST_TEST(l.ifc.read(l.u(), fd, nullptr, 10) == -1);
    BOOST_TEST(errno == EFAULT);
    BOOST_TEST(l.ifc.read(l.u(), 12345, buf, 10) == -1);
    BOOST_TEST(errno == EBADF);
    int mss = 0;
    socklen_t len = sizeof mss;
    BOOST_REQUIRE_EQUAL(l.ifc.getsockopt(l.u(), fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &len), 0);
    BOOST_TEST(mss == 1000, "the peer's MSS");

    // Our 300 bytes go out at once, PSH set.
    BOOST_TEST(l.ifc.write(l.u(), fd, std::string(300, 'q').data(), 300) == 300);
    const auto d = l.sniff();
    BOOST_TEST(d.len == 300u);
    BOOST_TEST((d.h.flags & psh) != 0);
    l.inject(from_peer(irs + 101, ack, iss + 301));

    // A blocking read on another thread (packetdrill's syscall thread) ends
    // when data comes, 100 ms of virtual time later, at that time.
    long long read_done = 0;
    ssize_t got = 0;
    std::thread reader([&] {
        got = l.ifc.read(l.u(), fd, buf, sizeof buf);
        read_done = l.now();  // packetdrill reads the end time at once
    });
    const long long before = l.now();
    BOOST_REQUIRE_EQUAL(l.ifc.usleep(l.u(), 100'000), 0);
    BOOST_TEST(l.now() - before >= 100'000);
    l.inject(from_peer(irs + 101, ack | psh, iss + 301), std::string(50, 'r'));
    const long long injected = l.now();  // waits until the read has returned and taken its time
    reader.join();
    BOOST_TEST(got == 50);
    BOOST_TEST(read_done - before >= 100'000, "the read did not end before the data came");
    BOOST_TEST(read_done - injected < 1000, "the read ends when the data came");

    // close: a FIN after the data.
    BOOST_REQUIRE_EQUAL(l.ifc.close(l.u(), fd), 0);
    auto f = l.sniff();
    if (f.len == 0 && (f.h.flags & fin) == 0) f = l.sniff();  // the ACK of the 50 bytes first
    BOOST_TEST((f.h.flags & fin) != 0);
    BOOST_TEST(f.h.seq.value == iss + 301);
}

BOOST_AUTO_TEST_CASE(closing_a_socket_ends_a_read_blocked_on_it_in_another_thread) {
    loaded l;
    const auto [fd, iss] = open_passive(l, 2000);
    (void)iss;
    ssize_t got = 0;
    int error = 0;
    std::thread reader([&] {
        char buf[16];
        got = l.ifc.read(l.u(), fd, buf, sizeof buf);
        error = errno;
        l.now();  // as packetdrill does after a blocking call
    });
    BOOST_REQUIRE_EQUAL(l.ifc.usleep(l.u(), 10'000), 0);  // the reader blocks (or has not started yet)
    BOOST_REQUIRE_EQUAL(l.ifc.close(l.u(), fd), 0);
    l.now();
    reader.join();
    BOOST_TEST(got == -1);
    BOOST_TEST(error == EBADF);
}

BOOST_AUTO_TEST_CASE(a_nonblocking_connect_says_in_progress_and_completes) {
    loaded l("timestamps=0");
    const int fd = l.ifc.socket(l.u(), AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    BOOST_REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(remote_port);
    a.sin_addr.s_addr = htonl(remote.to_uint());
    errno = 0;
    BOOST_TEST(l.ifc.connect(l.u(), fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == -1);
    BOOST_TEST(errno == EINPROGRESS);
    const auto s = l.sniff();
    BOOST_TEST(s.h.flags == wire::tcp_flag::syn);
    BOOST_TEST(!s.h.options.timestamp, "--so_flags timestamps=0");
    char buf[8];
    BOOST_TEST(l.ifc.read(l.u(), fd, buf, sizeof buf) == -1);
    BOOST_TEST(errno == EAGAIN);
    wire::tcp_repr synack{.src_port = remote_port, .dst_port = s.h.src_port, .seq = seq32{5000}, .flags = syn | ack};
    synack.ack = s.h.seq + 1;
    synack.window = 65535;
    synack.options.mss = 1460;
    l.inject(synack);
    const auto last = l.sniff();
    BOOST_TEST(last.h.flags == ack);
    int error = -1;
    socklen_t len = sizeof error;
    BOOST_REQUIRE_EQUAL(l.ifc.getsockopt(l.u(), fd, SOL_SOCKET, SO_ERROR, &error, &len), 0);
    BOOST_TEST(error == 0);
    BOOST_TEST(l.ifc.connect(l.u(), fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == -1);
    BOOST_TEST(errno == EISCONN);
}

BOOST_AUTO_TEST_CASE(a_bad_so_flags_item_ends_the_process_with_a_message) {
    const pid_t child = fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        loaded l("sack=maybe");
        _exit(0);
    }
    int status = 0;
    BOOST_REQUIRE_EQUAL(waitpid(child, &status, 0), child);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 2);
}
