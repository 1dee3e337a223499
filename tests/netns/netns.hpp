// The netns tier's fixture: two network namespaces joined by a veth pair
// (default offloads on). The "stack" end has no kernel IPv4 address; the
// "peer" end is the kernel's, with peer_ip. Names are unique per test run and
// everything is deleted in the destructor, also when a test fails. The
// scripts' cmake/netns.sh builds the same shapes by the same steps.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace coronet::test {

// Whether AddressSanitizer instruments this build (GCC and clang say so
// differently): its redzones, shadow memory and quarantine inflate RSS.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool address_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool address_sanitizer = true;
#else
inline constexpr bool address_sanitizer = false;
#endif
#else
inline constexpr bool address_sanitizer = false;
#endif

using namespace std::chrono_literals;

// Runs a shell command; returns its exit status and, if out is given, its
// stdout and stderr.
int sh(const std::string& cmd, std::string* out = nullptr);

// Path of a built program (ctest sets CORONET_BIN_DIR).
std::string bin(const std::string& relative);

// A background process with its output captured in a file.
class child_process {
public:
    // Starts argv with stdin from stdin_path; stdout and stderr are captured
    // (to stdout_path when given, else to a temporary file).
    explicit child_process(const std::vector<std::string>& argv, const std::string& stdin_path = "/dev/null",
                           const std::string& stdout_path = "");
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    // Waits until the output contains needle; false on timeout or exit.
    bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);
    // Waits for exit; returns the exit code, or -1 on timeout (still running).
    int wait(std::chrono::milliseconds timeout);
    // SIGTERM, then SIGKILL after timeout; returns the exit code (128+sig if killed).
    int terminate(std::chrono::milliseconds timeout = 5000ms);
    // Sends sig (no-op once the process has exited).
    void signal(int sig);
    // stdout+stderr, or only stderr when stdout goes to a file of the caller's.
    std::string output() const;
    bool running();
    // The process id (that of the program itself: ip netns exec execs it).
    int pid() const { return pid_; }

private:
    int pid_ = -1;
    int status_ = -1;
    std::string out_path_;
};

// The sha256 of a file, as hex.
std::string sha256(const std::string& path);

// The integer after "key": in a JSON text (coronet::counters_json, the
// tools' one-line reports), or -1 when the key is absent.
long json_field(const std::string& json, const std::string& key);

// The value of "key" in a one-line JSON object: a string's text without its
// quotes (escapes left as they are), or a number's or literal's token; ""
// when the key is absent.
std::string json_value(const std::string& json, const std::string& key);

// The lines of a JSON-lines file (coronet-proxy --summary-json) that hold
// "event":"<event>", in order.
std::vector<std::string> json_events(const std::string& path, const std::string& event);

// Waits until a JSON-lines file has an "event":"<event>" line; false on timeout.
bool wait_for_event(const std::string& path, const std::string& event, std::chrono::milliseconds timeout);

// A /tmp path unique to this process, deleted when this goes out of scope.
struct temp_file {
    std::string path;
    explicit temp_file(const std::string& tag);
    ~temp_file();
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
};

// A FIFO held open for writing: coronet-cat reading it as stdin keeps its
// side of the connection open (ESTABLISHED) until release().
struct held_fifo {
    temp_file file{"fifo"};
    int fd = -1;
    held_fifo();
    ~held_fifo() { release(); }
    held_fifo(const held_fifo&) = delete;
    held_fifo& operator=(const held_fifo&) = delete;
    void release();
};

// Fills f with mib MiB from /dev/urandom (fails the test when it cannot).
void fill_random(const temp_file& f, int mib);

// Waits (up to 5 s) until a kernel socket listens on port in namespace ns.
bool wait_listening(const std::string& ns, int port);
// Waits (up to 5 s) until a kernel socket on port in namespace ns has an established connection.
bool wait_established(const std::string& ns, int port);

class topology;

// A kernel socat in the peer namespace that writes what one connection to
// port brings to path; started and listening (fails the test otherwise).
std::unique_ptr<child_process> kernel_sink(const topology& t, int port, const std::string& path);

class topology {
public:
    // What sits between the stack and the peer: nothing (one veth pair), a
    // Linux bridge (for nftables loss rules), an empty namespace with two
    // interfaces (mid_a towards the stack, mid_b towards the peer) for a
    // relay, or a kernel router between two subnets: mid_a is router_ip,
    // the stack's gateway; the peer is 10.202.0.2 behind mid_b (10.202.0.1).
    // The router answers as routers do (ICMP fragmentation needed, nftables
    // rejects); tests set its links' MTUs and rules.
    enum class middle { none, bridge, relay, router };
    // Creates the namespaces and veth pairs; fails the test (BOOST_FAIL) with
    // the reason when it cannot (for example, not root).
    explicit topology(middle m = middle::none);
    ~topology();
    topology(const topology&) = delete;
    topology& operator=(const topology&) = delete;

    std::string ns_stack, ns_peer, if_stack, if_peer;
    std::string ns_mid, mid_a, mid_b;  // only with a middle
    std::string stack_ip = "10.201.0.2", peer_ip = "10.201.0.1";
    unsigned prefix = 24;
    std::string router_ip;  // only with middle::router: the stack's --gateway

    // "ip netns exec <ns_peer> <cmd>"
    std::string in_peer(const std::string& cmd) const;
    // "ip netns exec <ns_mid> <cmd>"
    std::string in_mid(const std::string& cmd) const;
    // argv of a coronet program in the stack namespace with --iface/--ip
    // (and --gateway behind a router) set.
    std::vector<std::string> stack_cmd(const std::string& program, const std::vector<std::string>& args = {}) const;
    // The MAC of the stack's interface.
    std::string stack_mac() const;
};

}  // namespace coronet::test
