// packetdrill_interface_init: parses --so_flags, makes the adapter and fills
// every function pointer with a trampoline into it. A bad --so_flags ends
// the process with one line on stderr (packetdrill has no way to hear an
// error from init).
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "adapter.hpp"

namespace {

using coronet::packetdrill::adapter;

adapter& self(void* userdata) { return *static_cast<adapter*>(userdata); }

ssize_t read_iov(void* u, int fd, const iovec* iov, int n, int flags) { return self(u).receive(fd, iov, n, flags); }
ssize_t write_iov(void* u, int fd, const iovec* iov, int n, int flags) { return self(u).send(fd, iov, n, flags); }

iovec one(const void* buf, size_t len) { return {const_cast<void*>(buf), len}; }

int no_support(int e = ENOSYS) {
    errno = e;
    return -1;
}

// The variadic two (a lambda cannot be variadic and become a function pointer).
int fcntl_call(void* u, int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    const long arg = va_arg(ap, long);
    va_end(ap);
    return self(u).fcntl(fd, cmd, arg);
}

int ioctl_call(void* u, int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return self(u).ioctl(fd, request, arg);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) void packetdrill_interface_init(const char* flags,
                                                                                  packetdrill_interface* ifc) {
    adapter* a = nullptr;
    try {
        a = new adapter(coronet::packetdrill::settings::parse(flags));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "coronet packetdrill adapter: %s\n", e.what());
        std::exit(2);
    }
    *ifc = {};
    ifc->userdata = a;
    ifc->free = [](void* u) { delete static_cast<adapter*>(u); };
    ifc->socket = [](void* u, int d, int t, int p) { return self(u).socket(d, t, p); };
    ifc->bind = [](void* u, int fd, const sockaddr* a, socklen_t l) { return self(u).bind(fd, a, l); };
    ifc->listen = [](void* u, int fd, int b) { return self(u).listen(fd, b); };
    ifc->accept = [](void* u, int fd, sockaddr* a, socklen_t* l) { return self(u).accept(fd, a, l); };
    ifc->connect = [](void* u, int fd, const sockaddr* a, socklen_t l) { return self(u).connect(fd, a, l); };
    ifc->read = [](void* u, int fd, void* b, size_t n) {
        const iovec v = one(b, n);
        return read_iov(u, fd, &v, 1, 0);
    };
    ifc->readv = [](void* u, int fd, const iovec* v, int n) { return read_iov(u, fd, v, n, 0); };
    ifc->recv = [](void* u, int fd, void* b, size_t n, int f) {
        const iovec v = one(b, n);
        return read_iov(u, fd, &v, 1, f);
    };
    ifc->recvfrom = [](void* u, int fd, void* b, size_t n, int f, sockaddr*, socklen_t* l) {
        const iovec v = one(b, n);
        if (l) *l = 0;  // TCP names no source
        return read_iov(u, fd, &v, 1, f);
    };
    ifc->recvmsg = [](void* u, int fd, msghdr* m, int f) -> ssize_t {
        if (!m) return no_support(EFAULT);
        m->msg_namelen = 0;
        m->msg_controllen = 0;
        m->msg_flags = 0;
        return read_iov(u, fd, m->msg_iov, static_cast<int>(m->msg_iovlen), f);
    };
    ifc->write = [](void* u, int fd, const void* b, size_t n) {
        const iovec v = one(b, n);
        return write_iov(u, fd, &v, 1, 0);
    };
    ifc->writev = [](void* u, int fd, const iovec* v, int n) { return write_iov(u, fd, v, n, 0); };
    ifc->send = [](void* u, int fd, const void* b, size_t n, int f) {
        const iovec v = one(b, n);
        return write_iov(u, fd, &v, 1, f);
    };
    ifc->sendto = [](void* u, int fd, const void* b, size_t n, int f, const sockaddr*, socklen_t) {
        const iovec v = one(b, n);
        return write_iov(u, fd, &v, 1, f);  // a connected stream: Linux ignores the address
    };
    ifc->sendmsg = [](void* u, int fd, const msghdr* m, int f) -> ssize_t {
        if (!m) return no_support(EFAULT);
        if (m->msg_controllen > 0) return no_support(EOPNOTSUPP);
        return write_iov(u, fd, m->msg_iov, static_cast<int>(m->msg_iovlen), f);
    };
    ifc->fcntl = fcntl_call;
    ifc->ioctl = ioctl_call;
    ifc->close = [](void* u, int fd) { return self(u).close(fd); };
    ifc->shutdown = [](void* u, int fd, int how) { return self(u).shutdown(fd, how); };
    ifc->getsockopt = [](void* u, int fd, int level, int name, void* v, socklen_t* l) {
        return self(u).getsockopt(fd, level, name, v, l);
    };
    ifc->setsockopt = [](void* u, int fd, int level, int name, const void* v, socklen_t l) {
        return self(u).setsockopt(fd, level, name, v, l);
    };
    ifc->poll = [](void* u, pollfd* fds, nfds_t n, int t) { return self(u).poll(fds, n, t); };
    ifc->netdev_send = [](void* u, const void* b, size_t n) { return self(u).netdev_send(b, n); };
    ifc->netdev_receive = [](void* u, void* b, size_t* n, long long* t) { return self(u).netdev_receive(b, n, t); };
    ifc->usleep = [](void* u, useconds_t us) { return self(u).usleep(us); };
    ifc->gettimeofday = [](void* u, timeval* tv, struct timezone*) { return self(u).gettimeofday(tv); };
    ifc->epoll_create = [](void* u, int size) { return self(u).epoll_create(size); };
    ifc->epoll_ctl = [](void* u, int ep, int op, int fd, epoll_event* e) { return self(u).epoll_ctl(ep, op, fd, e); };
    ifc->epoll_wait = [](void* u, int ep, epoll_event* e, int max, int t) { return self(u).epoll_wait(ep, e, max, t); };
    ifc->pipe = [](void*, int*) { return no_support(); };
    ifc->splice = [](void*, int, loff_t*, int, loff_t*, size_t, unsigned) { return no_support(); };
}
