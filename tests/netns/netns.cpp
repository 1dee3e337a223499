#include "netns.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace coronet::test {

int sh(const std::string& cmd, std::string* out) {
    std::FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return -1;
    std::array<char, 4096> buf;
    std::string text;
    while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) text.append(buf.data(), n);
    const int status = ::pclose(p);
    if (out) *out = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string bin(const std::string& relative) {
    const char* dir = std::getenv("CORONET_BIN_DIR");
    return std::string(dir ? dir : ".") + "/" + relative;
}

child_process::child_process(const std::vector<std::string>& argv, const std::string& stdin_path,
                             const std::string& stdout_path) {
    char tmpl[] = "/tmp/coronet-test-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    BOOST_REQUIRE_MESSAGE(fd >= 0, "mkstemp failed");
    out_path_ = tmpl;
    const int out = stdout_path.empty() ? fd : ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    BOOST_REQUIRE_MESSAGE(out >= 0, "cannot open " + stdout_path);
    const int in = ::open(stdin_path.c_str(), O_RDONLY);
    BOOST_REQUIRE_MESSAGE(in >= 0, "cannot open " + stdin_path);
    pid_ = ::fork();
    BOOST_REQUIRE_MESSAGE(pid_ >= 0, "fork failed");
    if (pid_ == 0) {
        ::dup2(out, 1);
        ::dup2(fd, 2);
        ::dup2(in, 0);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        std::perror("execvp");
        ::_exit(127);
    }
    ::close(fd);
    ::close(in);
    if (out != fd) ::close(out);
}

child_process::~child_process() {
    if (running()) terminate(2000ms);
    ::unlink(out_path_.c_str());
}

bool child_process::running() {
    if (pid_ <= 0 || status_ != -1) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return false;
    }
    return true;
}

std::string child_process::output() const {
    std::ifstream in(out_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool child_process::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (output().find(needle) != std::string::npos) return true;
        if (!running()) return output().find(needle) != std::string::npos;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

int child_process::wait(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() >= end) return -1;
        std::this_thread::sleep_for(10ms);
    }
    return status_;
}

void child_process::signal(int sig) {
    if (running()) ::kill(pid_, sig);
}

int child_process::terminate(std::chrono::milliseconds timeout) {
    if (running()) ::kill(pid_, SIGTERM);
    if (wait(timeout) == -1) {
        ::kill(pid_, SIGKILL);
        wait(5000ms);
    }
    return status_;
}

long json_field(const std::string& json, const std::string& key) {
    const std::string quoted = "\"" + key + "\":";
    const auto at = json.find(quoted);
    if (at == std::string::npos) return -1;
    return std::strtol(json.c_str() + at + quoted.size(), nullptr, 10);  // strtol skips spaces
}

std::string json_value(const std::string& json, const std::string& key) {
    const std::string quoted = "\"" + key + "\":";
    auto at = json.find(quoted);
    if (at == std::string::npos) return "";
    at += quoted.size();
    if (at < json.size() && json[at] == '"') {
        std::string text;
        for (++at; at < json.size() && json[at] != '"'; ++at) {
            if (json[at] == '\\' && at + 1 < json.size()) text += json[at++];
            text += json[at];
        }
        return text;
    }
    const auto end = json.find_first_of(",}", at);
    return json.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::vector<std::string> json_events(const std::string& path, const std::string& event) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (in.eof()) break;  // no newline yet: the program is still writing the line
        if (json_value(line, "event") == event) lines.push_back(line);
    }
    return lines;
}

bool wait_for_event(const std::string& path, const std::string& event, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (json_events(path, event).empty()) {
        if (std::chrono::steady_clock::now() >= end) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

std::string sha256(const std::string& path) {
    std::string out;
    sh("sha256sum " + path + " | cut -d' ' -f1", &out);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

temp_file::temp_file(const std::string& tag) {
    static std::atomic<int> n{0};
    path = "/tmp/coronet-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

temp_file::~temp_file() { ::unlink(path.c_str()); }

held_fifo::held_fifo() {
    BOOST_REQUIRE(::mkfifo(file.path.c_str(), 0600) == 0);
    fd = ::open(file.path.c_str(), O_RDWR | O_CLOEXEC);  // never blocks, unlike O_WRONLY
    BOOST_REQUIRE(fd >= 0);
}

void held_fifo::release() {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

void fill_random(const temp_file& f, int mib) {
    BOOST_REQUIRE(sh("head -c " + std::to_string(mib) + "M /dev/urandom > " + f.path) == 0);
}

namespace {

// Waits (up to 5 s) until `ss -H<flags> <filter> 'sport = :port'` in ns lists a socket.
bool wait_for_socket(const std::string& ns, const std::string& ss_args, int port) {
    for (int i = 0; i < 100; ++i) {
        std::string out;
        sh("ip netns exec " + ns + " ss -H" + ss_args + " 'sport = :" + std::to_string(port) + "'", &out);
        if (!out.empty()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

}  // namespace

bool wait_established(const std::string& ns, int port) { return wait_for_socket(ns, "tn state established", port); }

std::unique_ptr<child_process> kernel_sink(const topology& t, int port, const std::string& path) {
    auto server = std::make_unique<child_process>(
        std::vector<std::string>{"ip", "netns", "exec", t.ns_peer, "socat", "-u",
                                 "TCP-LISTEN:" + std::to_string(port) + ",reuseaddr", "CREATE:" + path});
    BOOST_REQUIRE(wait_listening(t.ns_peer, port));
    return server;
}

bool wait_listening(const std::string& ns, int port) { return wait_for_socket(ns, "ltn", port); }

namespace {

std::atomic<int> topology_counter{0};

// The steps of cmake/netns.sh, as shell commands: the two build the same
// shapes (keep them in step).
std::string add_namespace(const std::string& ns) {
    return "ip netns add " + ns + "; ip -n " + ns + " link set lo up; ";
}

std::string add_veth(const std::string& if_a, const std::string& ns_a, const std::string& if_b,
                     const std::string& ns_b) {
    return "ip link add " + if_a + " netns " + ns_a + " type veth peer name " + if_b + " netns " + ns_b + "; ip -n " +
           ns_a + " link set " + if_a + " up; ip -n " + ns_b + " link set " + if_b + " up; ";
}

std::string add_bridge(const std::string& ns, const std::vector<std::string>& ports) {
    std::string cmd = "ip -n " + ns + " link add br0 type bridge; ";
    for (const auto& port : ports) cmd += "ip -n " + ns + " link set " + port + " master br0; ";
    return cmd + "ip -n " + ns + " link set br0 up; ";
}

}  // namespace

topology::topology(middle m) {
    if (::geteuid() != 0)
        BOOST_FAIL("the netns tier needs root (CAP_NET_ADMIN) to create network namespaces; run it as root");
    const std::string id = "cn" + std::to_string(::getpid()) + "-" + std::to_string(topology_counter++);
    ns_stack = id + "s";
    ns_peer = id + "p";
    if_stack = id + "s0";
    if_peer = id + "p0";
    std::string cmd = "set -e; " + add_namespace(ns_stack) + add_namespace(ns_peer);
    if (m == middle::none) {
        cmd += add_veth(if_stack, ns_stack, if_peer, ns_peer);
    } else {
        ns_mid = id + "m";
        mid_a = id + "ma";
        mid_b = id + "mb";
        cmd += add_namespace(ns_mid) + add_veth(if_stack, ns_stack, mid_a, ns_mid) +
               add_veth(if_peer, ns_peer, mid_b, ns_mid);
        if (m == middle::bridge) cmd += add_bridge(ns_mid, {mid_a, mid_b});
    }
    if (m == middle::router) {  // only the tests build this shape
        router_ip = "10.201.0.1";
        peer_ip = "10.202.0.2";
        cmd += "ip -n " + ns_mid + " addr add " + router_ip + "/24 dev " + mid_a + "; ip -n " + ns_mid +
               " addr add 10.202.0.1/24 dev " + mid_b + "; ip netns exec " + ns_mid +
               " sysctl -qw net.ipv4.ip_forward=1; ip -n " + ns_peer + " addr add " + peer_ip + "/24 dev " + if_peer +
               "; ip -n " + ns_peer + " route add default via 10.202.0.1";
    } else {
        cmd += "ip -n " + ns_peer + " addr add " + peer_ip + "/" + std::to_string(prefix) + " dev " + if_peer;
    }
    std::string out;
    if (sh(cmd, &out) != 0) {
        sh("ip netns del " + ns_stack + " 2>/dev/null; ip netns del " + ns_peer + " 2>/dev/null" +
           (ns_mid.empty() ? "" : "; ip netns del " + ns_mid + " 2>/dev/null"));
        BOOST_FAIL("cannot create the test namespaces: " + out);
    }
}

topology::~topology() {
    sh("ip netns del " + ns_stack + "; ip netns del " + ns_peer + (ns_mid.empty() ? "" : "; ip netns del " + ns_mid));
}

std::string topology::in_peer(const std::string& cmd) const { return "ip netns exec " + ns_peer + " " + cmd; }

std::string topology::in_mid(const std::string& cmd) const { return "ip netns exec " + ns_mid + " " + cmd; }

std::vector<std::string> topology::stack_cmd(const std::string& program, const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"ip",     "netns",      "exec",
                                  ns_stack, bin(program), "--iface",
                                  if_stack, "--ip",       stack_ip + "/" + std::to_string(prefix)};
    if (!router_ip.empty()) argv.insert(argv.end(), {"--gateway", router_ip});
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

std::string topology::stack_mac() const {
    std::string out;
    sh("cat /dev/null; ip netns exec " + ns_stack + " cat /sys/class/net/" + if_stack + "/address", &out);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

}  // namespace coronet::test
