// coronet-test-clients: many concurrent kernel TCP connections to one server,
// for capacity and flood tests. Opens --count connections (at most --parallel
// connecting at once), optionally writes bytes on each and reads them back
// (--echo), prints one JSON line, and with --hold keeps them open until
// SIGTERM/SIGINT (or stdin EOF with --hold-stdin). One thread, epoll, no
// blocking call.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/program_options.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "../../../apps/common/options.hpp"

namespace {

namespace po = boost::program_options;
using clock_type = std::chrono::steady_clock;

constexpr const char* program = "coronet-test-clients";
constexpr std::size_t max_count = 20000;
constexpr std::uint64_t signal_id = ~std::uint64_t{0}, stdin_id = signal_id - 1;

[[noreturn]] void usage_error(const std::string& message) { coronet::apps::usage_error(program, message); }
[[noreturn]] void fail(const std::string& what) { coronet::apps::die_errno(program, what); }

struct options {
    sockaddr_in server{};
    std::vector<in_addr> sources;
    std::size_t count = 1, parallel = 256, write = 0, usr1_write = 0;
    double timeout = 10, io_timeout = 5;
    bool echo = false, hold = false, hold_stdin = false;
    std::string send_file, echo_out;
};

options parse(int argc, char** argv) {
    options o;
    std::string server, sources;
    po::options_description d("Options");
    d.add_options()("help,h", "show this help and exit")(
        "connect", po::value(&server)->required()->value_name("A.B.C.D:PORT"), "the server")(
        "count", po::value(&o.count)->value_name("N"), "connections to open (default 1, at most 20000)")(
        "parallel", po::value(&o.parallel)->value_name("N"), "connects in progress at once (default 256)")(
        "sources", po::value(&sources)->value_name("A,B,..."), "local addresses to bind, used in turn")(
        "timeout", po::value(&o.timeout)->value_name("S"),
        "per connection: connect, write and echo must end within S seconds (default 10)")(
        "io-timeout", po::value(&o.io_timeout)->value_name("S"),
        "while holding: writes and echoes after a signal must end within S seconds (default 5)")(
        "write", po::value(&o.write)->value_name("BYTES"), "bytes to write on each connection once connected")(
        "send", po::value(&o.send_file)->value_name("FILE"), "write this file's bytes instead of --write's")(
        "echo", "read back what was written and compare it (the server echoes)")(
        "echo-out", po::value(&o.echo_out)->value_name("FILE"), "store what connection 0 read back (with --echo)")(
        "hold", "keep the connections open until SIGTERM/SIGINT, then (with --echo) echo 1 KiB on each")(
        "hold-stdin", "with --hold, also release when stdin reaches EOF")(
        "usr1-write", po::value(&o.usr1_write)->value_name("BYTES"),
        "with --hold: on SIGUSR1 write BYTES on every open connection, then report");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, d), vm);
        if (vm.count("help")) {
            std::cout
                << "Usage: " << program << " --connect A.B.C.D:PORT [--count N] [--write BYTES] [--echo] [--hold]\n\n"
                << "Opens N kernel TCP connections (raising RLIMIT_NOFILE as needed), writes and echoes as told,\n"
                   "and prints one JSON line: {\"report\":\"connected\",\"connected\",\"refused\",\"timed_out\",...}.\n"
                   "With --hold it then waits; SIGUSR1 prints a \"usr1\" line (after --usr1-write's bytes), and\n"
                   "the release prints a \"released\" line before closing everything.\n"
                   "Exit status: 0 ran (read the JSON), 1 system error, 2 usage error.\n\n"
                << d << "\n";
            std::exit(0);
        }
        po::notify(vm);
    } catch (const po::error& e) {
        usage_error(e.what());
    }
    o.echo = vm.count("echo") > 0;
    o.hold = vm.count("hold") > 0;
    o.hold_stdin = vm.count("hold-stdin") > 0;
    const auto colon = server.rfind(':');
    const int port = colon == std::string::npos ? 0 : std::atoi(server.c_str() + colon + 1);
    o.server.sin_family = AF_INET;
    o.server.sin_port = htons(static_cast<std::uint16_t>(port));
    if (port <= 0 || port > 65535 || ::inet_pton(AF_INET, server.substr(0, colon).c_str(), &o.server.sin_addr) != 1)
        usage_error("--connect takes A.B.C.D:PORT");
    for (std::size_t pos = 0; !sources.empty() && pos <= sources.size();) {
        const auto comma = std::min(sources.find(',', pos), sources.size());
        in_addr a{};
        if (::inet_pton(AF_INET, sources.substr(pos, comma - pos).c_str(), &a) != 1)
            usage_error("--sources takes addresses separated by commas");
        o.sources.push_back(a);
        pos = comma + 1;
    }
    if (o.count == 0 || o.count > max_count) usage_error("--count must be 1-20000");
    if (o.parallel == 0) usage_error("--parallel must be at least 1");
    if (!(o.timeout > 0 && o.timeout <= 300)) usage_error("--timeout must be in (0, 300]");
    if (!(o.io_timeout > 0 && o.io_timeout <= 300)) usage_error("--io-timeout must be in (0, 300]");
    if (!o.echo_out.empty() && !o.echo) usage_error("--echo-out needs --echo");
    if ((o.usr1_write || o.hold_stdin) && !o.hold) usage_error("--usr1-write and --hold-stdin need --hold");
    return o;
}

// What one connection is doing: connecting, then writing `job` and (echo)
// reading it back; idle when neither is left.
struct conn {
    int fd = -1;
    bool connected = false, lost = false;
    clock_type::time_point started, deadline;
    std::span<const std::byte> job;
    std::size_t written = 0, echoed = 0;
    bool echo = false, mismatch = false;
    bool busy() const {
        return fd >= 0 && !lost && (!connected || written < job.size() || (echo && echoed < job.size()));
    }
};

struct tally {
    std::size_t connected = 0, refused = 0, timed_out = 0, reset = 0, other = 0;
    std::size_t echo_ok = 0, echo_bad = 0, io_incomplete = 0;
    std::uint64_t bytes_written = 0;
    std::string first_error;
    std::vector<double> connect_ms;
};

class clients {
public:
    explicit clients(const options& o) : o_(o), conns_(o.count) {
        std::mt19937 rng(12345);
        pattern_.resize(std::max<std::size_t>({o.write, o.usr1_write, 1024}));
        for (auto& b : pattern_) b = static_cast<std::byte>(rng());
        if (!o.send_file.empty()) {
            std::ifstream in(o.send_file, std::ios::binary);
            if (!in) fail("cannot read " + o.send_file);
            const std::string text{std::istreambuf_iterator<char>(in), {}};
            payload_.resize(text.size());
            std::memcpy(payload_.data(), text.data(), text.size());
        } else {
            payload_.assign(pattern_.begin(), pattern_.begin() + static_cast<std::ptrdiff_t>(o.write));
        }
        if (!o.echo_out.empty()) echo_out_.open(o.echo_out, std::ios::binary | std::ios::trunc);
        ep_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) fail("epoll_create1");
    }

    int run() {
        if (o_.hold) watch_signals();
        const auto begin = clock_type::now();
        drive(true);
        print_connected(std::chrono::duration<double>(clock_type::now() - begin).count());
        if (!o_.hold) return 0;
        hold();
        return 0;
    }

private:
    void watch(std::size_t i, std::uint32_t events, int op) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = i;
        if (::epoll_ctl(ep_, op, conns_[i].fd, &ev) < 0) fail("epoll_ctl");
    }

    void start(std::size_t i) {
        conn& c = conns_[i];
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) fail("socket");
        if (!o_.sources.empty()) {
            const int on = 1;
            ::setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
            sockaddr_in local{};
            local.sin_family = AF_INET;
            local.sin_addr = o_.sources[i % o_.sources.size()];
            if (::bind(c.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) fail("bind");
        }
        c.started = clock_type::now();
        c.deadline =
            c.started + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o_.timeout));
        c.job = payload_;
        c.echo = o_.echo;
        ++connecting_;
        const int r = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&o_.server), sizeof o_.server);
        if (r < 0 && errno != EINPROGRESS) {
            failed(i, errno);
            return;
        }
        watch(i, EPOLLOUT | EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
        deadlines_.push_back(i);
    }

    void failed(std::size_t i, int err) {
        conn& c = conns_[i];
        if (err == ECONNREFUSED)
            ++t_.refused;
        else if (err == ETIMEDOUT)
            ++t_.timed_out;
        else if (err == ECONNRESET)
            ++t_.reset;
        else
            ++t_.other;
        if (t_.first_error.empty()) t_.first_error = std::strerror(err);
        if (!c.connected) --connecting_;
        ::close(c.fd);
        c.fd = -1;
    }

    // Progress on connection i after an epoll event.
    void on_event(std::size_t i, std::uint32_t events) {
        conn& c = conns_[i];
        if (c.fd < 0 || c.lost) return;
        if (!c.connected) {
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                failed(i, err);
                return;
            }
            if (!(events & EPOLLOUT)) return;
            c.connected = true;
            --connecting_;
            ++t_.connected;
            t_.connect_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - c.started).count());
        }
        pump(i);
    }

    // Writes and reads back what the job still needs, and drops anything
    // else the server sends; a connection the server ends is `lost` and no
    // longer watched.
    void pump(std::size_t i) {
        conn& c = conns_[i];
        while (c.written < c.job.size()) {
            const ssize_t n = ::send(c.fd, c.job.data() + c.written, c.job.size() - c.written, MSG_NOSIGNAL);
            if (n <= 0) break;
            c.written += static_cast<std::size_t>(n);
            t_.bytes_written += static_cast<std::uint64_t>(n);
        }
        std::byte buf[16384];
        for (;;) {
            const bool echoing = c.echo && c.echoed < c.written;
            const ssize_t n = ::recv(c.fd, buf, echoing ? std::min(sizeof buf, c.written - c.echoed) : sizeof buf, 0);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (n <= 0) {
                c.lost = true;
                break;
            }
            if (!echoing) continue;
            if (std::memcmp(buf, c.job.data() + c.echoed, static_cast<std::size_t>(n)) != 0) c.mismatch = true;
            if (i == 0 && echo_out_.is_open()) echo_out_.write(reinterpret_cast<const char*>(buf), n);
            c.echoed += static_cast<std::size_t>(n);
        }
        if (c.lost) {
            ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
            return;
        }
        if (!c.busy() && c.job.size() > 0) {
            if (c.echo) ++(c.mismatch ? t_.echo_bad : t_.echo_ok);
            c.job = {};
            c.written = c.echoed = 0;
            if (i == 0 && echo_out_.is_open()) echo_out_.close();
        }
        watch(i, (c.busy() ? std::uint32_t{EPOLLOUT} : 0u) | EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
    }

    // A signal, or stdin's EOF, seen while driving connections: remembered
    // for hold().
    void on_control(std::uint64_t id) {
        if (id == stdin_id) {
            char b[256];
            if (::read(0, b, sizeof b) <= 0) {
                ::epoll_ctl(ep_, EPOLL_CTL_DEL, 0, nullptr);
                pending_signal_ = SIGTERM;
            }
            return;
        }
        signalfd_siginfo si{};
        if (::read(signal_fd_, &si, sizeof si) == sizeof si && pending_signal_ != SIGTERM)
            pending_signal_ = static_cast<int>(si.ssi_signo);
    }

    // Starts connections (when `connecting`, keeping --parallel in
    // progress) and waits for events until every connection with work is
    // done or past its deadline.
    void drive(bool connecting) {
        std::vector<epoll_event> events(512);
        for (;;) {
            while (connecting && connecting_ < o_.parallel && next_ < conns_.size()) start(next_++);
            const auto now = clock_type::now();
            while (!deadlines_.empty()) {
                conn& head = conns_[deadlines_.front()];
                if (head.busy() && head.deadline > now) break;
                if (head.busy() && !head.connected)
                    failed(deadlines_.front(), ETIMEDOUT);
                else if (head.busy())
                    ++t_.io_incomplete;
                deadlines_.pop_front();
            }
            if (deadlines_.empty()) {
                if (connecting && next_ < conns_.size()) continue;
                return;
            }
            const auto wait = std::chrono::ceil<std::chrono::milliseconds>(conns_[deadlines_.front()].deadline - now);
            const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()),
                                       static_cast<int>(std::max<long>(1, wait.count())));
            if (n < 0 && errno != EINTR) fail("epoll_wait");
            for (int k = 0; k < n; ++k) {
                const std::uint64_t id = events[k].data.u64;
                if (id == signal_id || id == stdin_id)
                    on_control(id);
                else
                    on_event(static_cast<std::size_t>(id), events[k].events);
            }
        }
    }

    void print_connected(double secs) {
        auto& ms = t_.connect_ms;
        std::sort(ms.begin(), ms.end());
        const auto pct = [&](double p) { return ms.empty() ? 0.0 : ms[static_cast<std::size_t>(p * (ms.size() - 1))]; };
        std::printf(
            "{\"report\":\"connected\",\"requested\":%zu,\"connected\":%zu,\"refused\":%zu,\"timed_out\":%zu,"
            "\"reset\":%zu,\"other_errors\":%zu,\"first_error\":\"%s\",\"bytes_written\":%lu,\"echo_ok\":%zu,"
            "\"echo_bad\":%zu,\"io_incomplete\":%zu,\"connect_ms_p50\":%.3f,\"connect_ms_p99\":%.3f,"
            "\"connect_ms_max\":%.3f,\"elapsed_s\":%.3f}\n",
            o_.count, t_.connected, t_.refused, t_.timed_out, t_.reset, t_.other, t_.first_error.c_str(),
            static_cast<unsigned long>(t_.bytes_written), t_.echo_ok, t_.echo_bad, t_.io_incomplete, pct(0.5),
            pct(0.99), ms.empty() ? 0.0 : ms.back(), secs);
        std::fflush(stdout);
    }

    // Gives every open connection a new job (bytes of the pattern) and
    // drives it to completion or its deadline.
    void run_jobs(std::size_t bytes, bool echo) {
        const auto deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                                      std::chrono::duration<double>(o_.io_timeout));
        for (std::size_t i = 0; i < conns_.size(); ++i) {
            conn& c = conns_[i];
            if (c.fd < 0 || c.lost || !c.connected) continue;
            c.job = std::span<const std::byte>(pattern_).first(bytes);
            c.written = c.echoed = 0;
            c.echo = echo;
            c.mismatch = false;
            c.deadline = deadline;
            deadlines_.push_back(i);
            pump(i);
        }
        drive(false);
    }

    std::size_t open_count() const {
        std::size_t n = 0;
        for (const auto& c : conns_) n += c.fd >= 0 && c.connected && !c.lost;
        return n;
    }

    // Blocks the hold signals and watches them (and stdin, if told) through
    // the same epoll set as the connections. Called before anything is
    // printed, so a signal sent as soon as the first line appears is not lost.
    void watch_signals() {
        sigset_t set;
        sigemptyset(&set);
        for (int s : {SIGTERM, SIGINT, SIGUSR1}) sigaddset(&set, s);
        ::sigprocmask(SIG_BLOCK, &set, nullptr);
        signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC);
        if (signal_fd_ < 0) fail("signalfd");
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = signal_id;
        if (::epoll_ctl(ep_, EPOLL_CTL_ADD, signal_fd_, &ev) < 0) fail("epoll_ctl(signalfd)");
        if (o_.hold_stdin) {
            ev.data.u64 = stdin_id;
            if (::epoll_ctl(ep_, EPOLL_CTL_ADD, 0, &ev) < 0) fail("epoll_ctl(stdin)");
        }
    }

    // Keeps the connections until released: SIGUSR1 writes (--usr1-write)
    // and reports; SIGTERM/SIGINT/stdin EOF end it, after a last echo round.
    void hold() {
        std::vector<epoll_event> events(512);
        for (;;) {
            if (pending_signal_ == SIGUSR1) {
                pending_signal_ = 0;
                const auto before = t_.bytes_written;
                const auto incomplete = t_.io_incomplete;
                if (o_.usr1_write) run_jobs(o_.usr1_write, false);
                print_usr1(t_.bytes_written - before, t_.io_incomplete - incomplete);
                continue;
            }
            if (pending_signal_ != 0) break;
            const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), -1);
            if (n < 0 && errno != EINTR) fail("epoll_wait");
            for (int k = 0; k < n; ++k) {
                const std::uint64_t id = events[k].data.u64;
                if (id == signal_id || id == stdin_id)
                    on_control(id);
                else
                    on_event(static_cast<std::size_t>(id), events[k].events);
            }
        }
        const std::size_t ok = t_.echo_ok, bad = t_.echo_bad, incomplete = t_.io_incomplete;
        const std::size_t open = open_count();
        if (o_.echo) run_jobs(1024, true);
        std::printf(
            "{\"report\":\"released\",\"open\":%zu,\"final_echo_ok\":%zu,\"final_echo_bad\":%zu,"
            "\"final_echo_incomplete\":%zu,\"lost\":%zu}\n",
            open, t_.echo_ok - ok, t_.echo_bad - bad, t_.io_incomplete - incomplete, lost_count());
        std::fflush(stdout);
        for (auto& c : conns_)
            if (c.fd >= 0) ::close(c.fd);
    }

    std::size_t lost_count() const {
        std::size_t n = 0;
        for (const auto& c : conns_) n += c.fd >= 0 && c.lost;
        return n;
    }

    // The state after a SIGUSR1: bytes written for it, and what the kernel
    // still holds unacknowledged (the server's window closed on it).
    void print_usr1(std::uint64_t written, std::size_t incomplete) {
        std::uint64_t outq = 0;
        for (const auto& c : conns_) {
            int q = 0;
            if (c.fd >= 0 && c.connected && ::ioctl(c.fd, SIOCOUTQ, &q) == 0) outq += static_cast<std::uint64_t>(q);
        }
        std::printf(
            "{\"report\":\"usr1\",\"open\":%zu,\"lost\":%zu,\"bytes_written\":%lu,\"write_incomplete\":%zu,"
            "\"send_queue_bytes\":%lu}\n",
            open_count(), lost_count(), static_cast<unsigned long>(written), incomplete,
            static_cast<unsigned long>(outq));
        std::fflush(stdout);
    }

    const options& o_;
    std::vector<conn> conns_;
    std::vector<std::byte> pattern_, payload_;
    std::ofstream echo_out_;
    std::deque<std::size_t> deadlines_;  // connections with work, in deadline order
    std::size_t next_ = 0, connecting_ = 0;
    int pending_signal_ = 0;
    int ep_ = -1, signal_fd_ = -1;
    tally t_;
};

// Room for count sockets plus a few descriptors.
void raise_fd_limit(std::size_t count) {
    rlimit r{};
    ::getrlimit(RLIMIT_NOFILE, &r);
    const rlim_t want = count + 64;
    if (r.rlim_cur >= want) return;
    r.rlim_cur = want;
    if (r.rlim_max < want) r.rlim_max = want;
    if (::setrlimit(RLIMIT_NOFILE, &r) < 0) fail("setrlimit(RLIMIT_NOFILE)");
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    raise_fd_limit(o.count);
    ::signal(SIGPIPE, SIG_IGN);
    clients c(o);
    return c.run();
}
