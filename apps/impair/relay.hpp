// One direction of coronet-impair: every frame read from one device meets the
// seeded impairment model and leaves on the other device, at once or when its
// delay is up. A frame is copied once, into a buffer of the output device's
// pool, and waits there: a full pool behaves like a full queue and its
// losses are counted as pool drops.
#pragma once

#include <algorithm>
#include <coronet/link/device.hpp>
#include <coronet/link/impairment.hpp>
#include <coronet/runtime/executor.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "offload.hpp"

namespace coronet::impair {

// Every received frame ends in exactly one of forwarded, dropped,
// pool_drops, unsupported or held, and so does every duplicate made:
// received + duplicated == forwarded + dropped + pool_drops + unsupported + held.
struct direction_counters {
    std::uint64_t received = 0;
    std::uint64_t forwarded = 0;          // handed to the output device
    std::uint64_t dropped = 0;            // lost on purpose (--loss)
    std::uint64_t duplicated = 0;         // extra copies made (--duplicate)
    std::uint64_t reordered = 0;          // held back so that later frames overtake them (--reorder)
    std::uint64_t corrupted = 0;          // IPv4 frames with one bit flipped (--corrupt)
    std::uint64_t pool_drops = 0;         // no free buffer in the output device's pool
    std::uint64_t unsupported = 0;        // too big for a buffer, or offload metadata the output cannot express
    std::uint64_t held = 0;               // still delayed at exit, never sent
    std::uint64_t gso_frames = 0;         // super-frames relayed with their segmentation request
    std::uint64_t partial_checksums = 0;  // frames relayed with their checksum left to offload
};

class direction final : public link::frame_sink {
public:
    // Relays to out; capacity is the size of out's pool (the most frames that
    // can wait at once). The model starts from seed.
    direction(std::string name, runtime::executor& ex, link::device& out, const link::impairment& params,
              std::uint64_t seed, std::size_t capacity)
        : name_(std::move(name)), ex_(ex), out_(out), model_(params, seed) {
        queue_.reserve(capacity);  // every waiting frame holds a pool buffer: no growth later
        timer_.on_expire = &deliver_due;
        timer_.context = this;
    }
    ~direction() { stop(); }
    direction(const direction&) = delete;
    direction& operator=(const direction&) = delete;

    void on_frame(bytes frame, const storage::rx_meta& meta) override {
        if (stopped_) return;
        ++c_.received;
        const auto now = ex_.now();
        const auto reordered_before = model_.counters().reordered;
        const auto v = model_.decide(frame.size(), now);
        if (v.drop) {
            ++c_.dropped;
            return;
        }
        auto p = copy_in(frame, meta);
        if (!p) return;
        if (v.corrupt_bit && corrupt_frame(p->data(), p->offload, *v.corrupt_bit)) ++c_.corrupted;
        if (model_.counters().reordered != reordered_before) ++c_.reordered;
        if (v.duplicate) {
            if (auto copy = out_.allocate()) {
                std::copy_n(p->data().data(), p->size(), copy->put(p->size()).data());
                copy->offload = p->offload;
                ++c_.duplicated;
                send(std::move(*copy), now + v.delay);
            } else {
                ++c_.pool_drops;
            }
        }
        send(std::move(*p), now + v.delay);
    }

    // Stops relaying for good: frames still waiting are discarded (counted
    // as held) and their buffers go back to the output pool.
    void stop() noexcept {
        stopped_ = true;
        ex_.timers().erase(timer_);
        c_.held += queue_.size();
        queue_.clear();
    }

    const direction_counters& counters() const noexcept { return c_; }
    const std::string& name() const noexcept { return name_; }

private:
    struct waiting {
        runtime::time_point due;
        std::uint64_t order;  // arrival order: equal due times leave first in, first out
        storage::packet frame;
    };
    static bool later(const waiting& a, const waiting& b) noexcept {
        return a.due > b.due || (a.due == b.due && a.order > b.order);
    }

    // The frame in a buffer of the output pool, with its offload request.
    std::optional<storage::packet> copy_in(bytes frame, const storage::rx_meta& meta) {
        storage::tx_offload offload;
        if (!carry_offload(frame, meta, offload)) {
            ++c_.unsupported;
            return std::nullopt;
        }
        auto p = out_.allocate();
        if (!p) {
            ++c_.pool_drops;
            return std::nullopt;
        }
        if (frame.size() > p->tailroom()) {
            ++c_.unsupported;
            return std::nullopt;
        }
        std::copy_n(frame.data(), frame.size(), p->put(frame.size()).data());
        p->offload = offload;
        if (offload.gso_size > 0) ++c_.gso_frames;
        if (offload.checksum_partial) ++c_.partial_checksums;
        return p;
    }

    void send(storage::packet p, runtime::time_point due) {
        if (due <= ex_.now()) {
            ++c_.forwarded;
            out_.transmit(std::move(p));
            return;
        }
        queue_.push_back(waiting{due, next_order_++, std::move(p)});
        std::push_heap(queue_.begin(), queue_.end(), later);
        rearm();
    }

    // Points the timer at the earliest waiting frame.
    void rearm() {
        if (queue_.empty()) return;
        const auto due = queue_.front().due;
        if (timer_.queued()) {
            if (timer_.deadline == due) return;
            ex_.timers().erase(timer_);
        }
        timer_.deadline = due;
        ex_.timers().insert(timer_);
    }

    static void deliver_due(runtime::timer_node& n) {
        auto& self = *static_cast<direction*>(n.context);
        const auto now = self.ex_.now();
        while (!self.queue_.empty() && self.queue_.front().due <= now) {
            std::pop_heap(self.queue_.begin(), self.queue_.end(), later);
            ++self.c_.forwarded;
            self.out_.transmit(std::move(self.queue_.back().frame));
            self.queue_.pop_back();
        }
        self.rearm();
    }

    std::string name_;
    runtime::executor& ex_;
    link::device& out_;
    link::impairment_model model_;
    direction_counters c_;
    std::vector<waiting> queue_;  // a min-heap on (due, order)
    std::uint64_t next_order_ = 0;
    runtime::timer_node timer_;
    bool stopped_ = false;
};

}  // namespace coronet::impair
