#include "user_transport.hpp"

#include "../common/options.hpp"

namespace coronet::bench {

user_transport::user_transport(runtime::loop& loop, const interface_config& cfg) : stack_(loop, cfg) {
    apps::exit_when_interface_lost(stack_, "coronet-bench");
}

namespace {

loss_counts losses_of(const tcp::connection_stats& s) noexcept {
    return {.retransmits = s.retransmits, .dsacks = s.dsacks_received, .recoveries = s.recoveries};
}

class user_stream final : public stream {
public:
    user_stream(cancel_scope& scope, connection c) : stream(scope), c_(std::move(c)) { c_.set_no_delay(true); }

    task<result<std::size_t>> read(wire::mut_bytes buf) override {
        give_back();
        return c_.read(buf);
    }
    // In place: what the last receive lent is given back first.
    task<result<wire::bytes>> receive(wire::mut_bytes scratch) override {
        give_back();
        auto view = co_await c_.read_view();
        if (!view) co_return view.error();
        lent_ = std::min(view->size(), scratch.size());
        co_return view->first(lent_);
    }
    task<result<void>> write(wire::bytes data) override {
        give_back();
        return c_.write(data);
    }
    task<result<void>> shutdown_write() override {
        give_back();
        return c_.shutdown_write();
    }
    // As close(2) on a kernel socket: the FIN is queued and the stack
    // finishes the close in the background (a dropped connection closes
    // gracefully), rather than connection::close()'s wait for the FIN's ACK,
    // which cost a crr client one more round trip per connection than the
    // kernel's.
    task<result<void>> close() override {
        give_back();
        keep_stats();
        const std::error_code error = c_.valid() ? c_.tcb().error() : std::error_code{};
        connection closing = std::move(c_);
        if (error) co_return error;
        co_return result<void>{};
    }
    void abort() noexcept override {
        keep_stats();
        c_.abort();
    }
    loss_counts losses() const noexcept override { return c_.valid() ? losses_of(c_.stats()) : losses_; }
    std::string congestion() const override { return c_.valid() ? c_.tcb().congestion_now().name : congestion_; }

private:
    void give_back() noexcept {
        if (lent_ > 0 && c_.valid()) (void)c_.consume(lent_);
        lent_ = 0;
    }
    void keep_stats() noexcept {
        if (!c_.valid()) return;
        losses_ = losses_of(c_.stats());
        congestion_ = c_.tcb().congestion_now().name;
    }

    connection c_;
    std::size_t lent_ = 0;  // bytes the last receive() lent, not yet consumed
    loss_counts losses_;
    std::string congestion_;
};

class user_acceptor final : public acceptor {
public:
    user_acceptor(cancel_scope& scope, listener l) : acceptor(scope), l_(std::move(l)) {}

    task<result<std::unique_ptr<stream>>> accept() override {
        auto c = co_await l_.accept();
        if (!c) co_return c.error();
        co_return std::make_unique<user_stream>(scope(), std::move(*c));
    }
    void abort() noexcept override { l_.close(); }

private:
    listener l_;
};

}  // namespace

task<result<std::unique_ptr<stream>>> user_transport::connect(endpoint remote, runtime::duration) {
    // No connect timeout: coronet keeps the deadline after the open
    // completes, and a connection that outlives it spins on its timer
    // (tcb::state_at_ is not reset on ESTABLISHED). The client's watchdog
    // bounds a connect instead.
    auto c = co_await stack_.connect(remote);
    if (!c) co_return c.error();
    co_return std::make_unique<user_stream>(scope_, std::move(*c));
}

result<std::unique_ptr<acceptor>> user_transport::listen(std::uint16_t port) {
    auto l = stack_.listen(port, 1024);
    if (!l) return l.error();
    return std::make_unique<user_acceptor>(scope_, std::move(*l));
}

}  // namespace coronet::bench
