// Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation-02):
// each transmission carries a snapshot of how much had been delivered and
// when; the ACK that delivers it turns the difference into a rate sample
// (bytes over the longer of the send and ACK intervals, so that neither
// ACK compression nor a burst inflates it). BBR lives on these samples;
// HyStart++ and the round counting of any controller can use them too.
#pragma once

#include <algorithm>
#include <coronet/runtime/clock.hpp>
#include <coronet/tcp/congestion.hpp>
#include <cstdint>

namespace coronet::tcp {

class delivery_rate {
public:
    // What a transmission carries (P.delivered, P.delivered_time,
    // P.first_sent_time, P.is_app_limited).
    struct snapshot {
        std::uint64_t delivered = 0;
        runtime::time_point delivered_time{}, first_sent_time{};
        bool app_limited = false;
    };

    // Data goes out now; `idle`: nothing was in flight before it (the
    // intervals start afresh: 3.2 "on send").
    snapshot on_send(bool idle, runtime::time_point now) noexcept {
        if (idle) first_sent_time_ = delivered_time_ = now;
        return {delivered_, delivered_time_, first_sent_time_, app_limited_ != 0};
    }

    // One ACK delivered `bytes`; `newest` is the snapshot of the most
    // recently sent data among them and `sent` its transmission time.
    // min_rtt (zero: unknown) rejects intervals too short to be believed.
    rate_sample on_ack(std::uint32_t bytes, const snapshot& newest, runtime::time_point sent, runtime::time_point now,
                       runtime::duration min_rtt) noexcept {
        rate_sample rs;
        if (bytes == 0) return rs;
        delivered_ += bytes;
        delivered_time_ = now;
        if (app_limited_ != 0 && delivered_ > app_limited_) app_limited_ = 0;
        rs.prior_delivered = newest.delivered;
        rs.app_limited = newest.app_limited;
        rs.delivered = delivered_ - newest.delivered;
        const runtime::duration send_elapsed = sent - newest.first_sent_time;
        const runtime::duration ack_elapsed = now - newest.delivered_time;
        first_sent_time_ = sent;
        const runtime::duration interval = std::max(send_elapsed, ack_elapsed);
        // 3.3: an interval below min_rtt comes from a bad snapshot (a
        // retransmission's, an ACK stretched over less than a round trip).
        if (interval > runtime::duration::zero() && interval >= min_rtt) rs.interval = interval;
        return rs;
    }

    // 3.4: the sender has less than a segment to send and room in the
    // window: what is delivered until `in_flight` more bytes are says
    // nothing of the path's capacity.
    void on_app_limited(std::uint32_t in_flight) noexcept {
        app_limited_ = std::max<std::uint64_t>(delivered_ + in_flight, 1);
    }

    // C.delivered: bytes delivered so far.
    std::uint64_t delivered() const noexcept { return delivered_; }
    bool app_limited() const noexcept { return app_limited_ != 0; }

private:
    std::uint64_t delivered_ = 0;
    runtime::time_point delivered_time_{}, first_sent_time_{};
    std::uint64_t app_limited_ = 0;  // C.app_limited: the end of the app-limited stretch (0: none)
};

}  // namespace coronet::tcp
