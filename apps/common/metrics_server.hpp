// The --metrics endpoint: HTTP GET /metrics answered in Prometheus text, on
// a kernel TCP socket of the host (an operator scrapes it from there, e.g.
// 127.0.0.1:9464), not on the user-space stack, whose interface faces the
// clients. Its socket operations run on the program's own io_uring loop, the
// thread that runs the stack, so the counters it reads need no locks.
//
// A slow or hostile scraper is bounded: a request head of max_request bytes
// at most (else 431), one exchange within timeout (else the connection is
// closed), max_scrapes connections served at once (more wait in the
// kernel's listen backlog of 8, beyond it their SYNs are dropped).
#pragma once

#include <array>
#include <coronet/api/stack.hpp>
#include <coronet/runtime/loop.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "prometheus.hpp"
#include "uring_fd.hpp"

namespace coronet::apps {

struct metrics_limits {
    std::size_t max_request = 4096;
    std::size_t max_scrapes = 4;
    runtime::duration timeout = std::chrono::seconds(5);
};

class metrics_server {
public:
    // What /metrics shows: the program's families, written into out.
    using render_fn = std::function<void(prometheus_text& out)>;

    // Binds and listens on `at`; errors: address_in_use, permission_denied,
    // address_not_available (no such local address).
    static result<std::unique_ptr<metrics_server>> open(runtime::loop& loop, endpoint at, metrics_limits limits = {});
    ~metrics_server();
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;

    // Starts answering scrapes with what render writes.
    void start(render_fn render);
    // Stops accepting, cuts the scrapes in progress short and returns when
    // no operation of the server is left on the loop.
    runtime::task<void> stop();

    // How scrapes ended, by result.
    enum class outcome { ok, bad_request, not_found, too_large, timeout, closed, count };

private:
    struct scrape;
    metrics_server(runtime::loop& loop, int fd, metrics_limits limits);
    runtime::task<void> accept_loop();
    runtime::task<void> serve(std::shared_ptr<scrape> s);
    runtime::task<outcome> exchange(scrape& s);
    runtime::task<outcome> reply(scrape& s, std::string_view status, std::string body, outcome ok);
    runtime::task<void> linger(scrape& s);
    runtime::task<void> watch(std::shared_ptr<scrape> s, runtime::time_point deadline);
    std::string page();

    runtime::loop& loop_;
    uring_fd listen_;
    metrics_limits limits_;
    render_fn render_;
    std::size_t active_ = 0;
    std::vector<scrape*> scrapes_;  // those being served (max_scrapes at most)
    runtime::event slot_free_;      // a scrape ended
    bool accepting_ = false, stopped_ = false;
    std::array<std::uint64_t, static_cast<std::size_t>(outcome::count)> outcomes_{};
};

}  // namespace coronet::apps
