// coronet behind packetdrill's in-process interface (interface.hpp), on
// virtual time: one host with TCP on a sim_loop and an ip_device, and the
// POSIX socket calls packetdrill makes, mapped onto coronet's connection and
// listener.
//
// Time. The sim_loop's clock is the only clock: gettimeofday reads it (and
// moves it on by a microsecond, since packetdrill spins on it), usleep runs
// the loop forward, and netdev_receive, with nothing sent yet, runs it from
// timer to timer until the stack sends (or gives up after `horizon`).
//
// Threads. packetdrill makes blocking calls on a second thread while its
// main thread goes on with the script. Every call takes one mutex; a blocked
// call sleeps on a condition variable until the stack changes. Before the
// main thread moves time on, it waits until every blocked call that the
// stack has made ready has returned and read its end time (packetdrill takes
// it with gettimeofday right after the call), so a call ends at the virtual
// time it became ready, whatever the threads' timing. A blocked call that
// needs time to pass while the main thread waits for it (packetdrill's main
// thread is idle for 100 ms of wall time) moves the loop on itself.
#pragma once

#include <condition_variable>
#include <coronet/api/connection.hpp>
#include <coronet/net/host.hpp>
#include <coronet/runtime/sim_loop.hpp>
#include <coronet/tcp/layer.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "interface.hpp"
#include "ip_device.hpp"

namespace coronet::packetdrill {

// What --so_flags sets (settings::parse documents the syntax).
struct settings {
    wire::address_v4 address = wire::address_v4({192, 168, 0, 1});
    unsigned prefix_len = 16;
    wire::address_v4 gateway = wire::address_v4({192, 168, 0, 254});
    tcp::tcp_config tcp;
    std::uint64_t seed = 1;
    runtime::duration horizon = std::chrono::seconds(300);  // netdev_receive gives up after this much silence
    bool trace = false;                                     // the stack's log on stderr

    // The defaults the upstream scripts assume (Linux's): SACK off (the
    // scripts were rewritten without it), a receive buffer that gives
    // window scale 8.
    settings();
    // "key=value" items separated by spaces or commas; throws
    // std::invalid_argument naming a bad item. Keys: address (A.B.C.D/N),
    // gateway, sack, timestamps, window_scaling, nagle (0/1), rcvbuf,
    // sndbuf (the maxima, bytes), syn_retries, seed, horizon_ms, trace.
    static settings parse(const char* flags);
};

class adapter {
public:
    explicit adapter(const settings& s);
    ~adapter();
    adapter(const adapter&) = delete;
    adapter& operator=(const adapter&) = delete;

    int socket(int domain, int type, int protocol);
    int bind(int fd, const sockaddr* addr, socklen_t len);
    int listen(int fd, int backlog);
    int accept(int fd, sockaddr* addr, socklen_t* len);
    int connect(int fd, const sockaddr* addr, socklen_t len);
    // Every read and write call comes down to these, over scattered buffers.
    ssize_t receive(int fd, const iovec* iov, int iovcnt, int flags);
    ssize_t send(int fd, const iovec* iov, int iovcnt, int flags);
    int fcntl(int fd, int cmd, long arg);
    int ioctl(int fd, unsigned long request, void* arg);
    int close(int fd);
    int shutdown(int fd, int how);
    int getsockopt(int fd, int level, int name, void* value, socklen_t* len);
    int setsockopt(int fd, int level, int name, const void* value, socklen_t len);
    int poll(pollfd* fds, nfds_t n, int timeout_ms);
    int epoll_create(int size);
    int epoll_ctl(int epfd, int op, int fd, epoll_event* event);
    int epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms);

    int netdev_send(const void* buf, std::size_t count);
    int netdev_receive(void* buf, std::size_t* count, long long* time_usecs);
    int usleep(useconds_t usecs);
    int gettimeofday(timeval* tv);

private:
    struct socket_entry;
    struct epoll_entry;
    using lock = std::unique_lock<std::mutex>;

    // A call's hold on the adapter: the mutex, and the bookkeeping of which
    // thread is where (see the header comment).
    class call {
    public:
        // socket_call: one of the script's system calls (packetdrill reads
        // the end time of a blocking one); false for the clock and packets.
        explicit call(adapter& a, bool socket_call = true);
        ~call();
        call(const call&) = delete;
        call& operator=(const call&) = delete;
        lock& held() noexcept { return lock_; }

    private:
        adapter& a_;
        lock lock_;
        bool main_, socket_call_;
    };

    bool on_main_thread() const noexcept { return std::this_thread::get_id() == main_thread_; }
    // Runs what is ready now, answers ARP, and wakes blocked calls.
    void pump();
    // Waits until no blocked call is ready and every finished one has read its end time.
    void settle(lock& l);
    // Moves the clock to `until`, timer by timer, settling after each.
    void advance_to(lock& l, runtime::time_point until);
    // Blocks the caller until ready() holds; false when nothing can make it
    // hold (no timer left, or the horizon passed).
    bool block(lock& l, const std::function<bool()>& ready);
    // Runs the loop to its next timer; false when none is queued.
    bool step();

    // poll's and epoll_wait's wait: until ready() holds or timeout_ms of
    // virtual time has passed (-1: no limit, 0: none); false when nothing
    // can make it hold.
    bool wait_for(lock& l, int timeout_ms, const std::function<bool()>& ready);
    socket_entry* find(int fd);
    // The socket options set before it had one, onto its new connection.
    void apply_options(socket_entry& s);
    std::uint16_t free_port() const;
    // The readiness of fd as poll reports it.
    std::uint32_t readiness(socket_entry& s) const;
    // Counts the events an edge-triggered epoll reports: new data or FIN,
    // a state change, an error, room after a write found none.
    std::uint64_t generation(socket_entry& s) const;
    ssize_t receive_locked(lock& l, socket_entry& s, const iovec* iov, int iovcnt, int flags);
    ssize_t send_locked(lock& l, socket_entry& s, const iovec* iov, int iovcnt, int flags);
    long long usecs(runtime::time_point t) const;

    settings cfg_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::thread::id main_thread_;
    bool main_inside_ = false;
    std::chrono::steady_clock::time_point main_seen_;
    unsigned owed_stamps_ = 0;                           // blocked calls returned, end time not yet read
    std::vector<const std::function<bool()>*> waiters_;  // blocked calls' conditions

    runtime::sim_loop sim_;
    runtime::time_point origin_;
    ip_device dev_;
    net::host host_;
    tcp::tcp_layer tcp_;
    std::map<int, std::unique_ptr<socket_entry>> sockets_;
    std::vector<std::unique_ptr<socket_entry>> closed_;  // closed sockets (see close())
    std::map<int, std::map<int, epoll_entry>> epolls_;
};

}  // namespace coronet::packetdrill
