// The io_context service behind detail::pending_holder (asio_service.hpp):
// it destroys the handlers still pending when the io_context shuts down.
// Also what every adapter uses: operation ids and to_asio_error.
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/query.hpp>
#include <coronet/api/asio_service.hpp>

namespace coronet {

namespace asio = boost::asio;
using boost::system::error_code;

error_code to_asio_error(const std::error_code& ec) {
    if (!ec) return {};
    // Asio reports a socket's errors as errno values in the system category.
    if (ec.category() == std::generic_category() || ec.category() == std::system_category())
        return {ec.value(), boost::system::system_category()};
    return ec;
}

namespace detail {

std::uint64_t next_operation_id() noexcept {
    thread_local std::uint64_t last = 0;
    return ++last;
}

class asio_service final : public asio::execution_context::service {
public:
    static asio::execution_context::id id;
    explicit asio_service(asio::execution_context& ctx) : service(ctx) {}

    void add(pending_holder& h) noexcept {
        if (shut_down_) return;  // too late: nothing will run its handlers
        h.service_ = this;
        h.next_ = head_;
        if (head_) head_->prev_ = &h;
        head_ = &h;
    }
    void remove(pending_holder& h) noexcept {
        if (h.prev_)
            h.prev_->next_ = h.next_;
        else
            head_ = h.next_;
        if (h.next_) h.next_->prev_ = h.prev_;
        h.service_ = nullptr;
        h.prev_ = h.next_ = nullptr;
    }

private:
    void shutdown() override {
        shut_down_ = true;
        // Dropping handlers may destroy other holders, which unlink themselves.
        while (head_) {
            pending_holder& h = *head_;
            remove(h);
            h.drop_pending();
        }
    }

    pending_holder* head_ = nullptr;
    bool shut_down_ = false;
};

asio::execution_context::id asio_service::id;

pending_holder::pending_holder(const asio::any_io_executor& io) {
    asio::use_service<asio_service>(asio::query(io, asio::execution::context)).add(*this);
}

pending_holder::~pending_holder() {
    if (service_) service_->remove(*this);
}

}  // namespace detail

}  // namespace coronet
