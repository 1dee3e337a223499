// One direction of coronet-impair: every frame read from one device meets the
// seeded impairment model and leaves on the other device, at once or when its
// delay is up. A GSO super-frame is first cut into the packets a NIC would
// send (unless per-frame), so that each packet meets the model on its own.
// A frame is copied once, into a buffer of the direction's own pools, and
// waits there through the bottleneck queue and the delay line; the model's
// queue limit decides the tail drops, the pools only bound the memory.
#pragma once

#include <algorithm>
#include <coronet/link/device.hpp>
#include <coronet/link/gso.hpp>
#include <coronet/link/impairment.hpp>
#include <coronet/runtime/executor.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "offload.hpp"

namespace coronet::impair {

// Every frame that meets the model ends in exactly one of forwarded, dropped,
// police_drops, queue_drops, pool_drops, unsupported or held, and so does
// every duplicate made. A segmented super-frame meets it as its segments:
// received - segmented + segments + duplicated == forwarded + dropped
//   + police_drops + queue_drops + pool_drops + unsupported + held.
struct direction_counters {
    std::uint64_t received = 0;
    std::uint64_t forwarded = 0;          // handed to the output device
    std::uint64_t dropped = 0;            // lost on purpose (--loss)
    std::uint64_t police_drops = 0;       // beyond the policer's rate and burst (--police)
    std::uint64_t queue_drops = 0;        // no room in the bottleneck queue (--queue): tail drops
    std::uint64_t duplicated = 0;         // extra copies made (--duplicate)
    std::uint64_t reordered = 0;          // held back so that later frames overtake them (--reorder)
    std::uint64_t corrupted = 0;          // IPv4 frames with one bit flipped (--corrupt)
    std::uint64_t pool_drops = 0;         // no free buffer in the direction's pools (--pool)
    std::uint64_t unsupported = 0;        // too big for a buffer, or offload metadata the output cannot express
    std::uint64_t held = 0;               // still queued or delayed at exit, never sent
    std::uint64_t segmented = 0;          // super-frames cut into packets here (per-packet mode)
    std::uint64_t segments = 0;           // the packets they became
    std::uint64_t gso_frames = 0;         // super-frames relayed whole with their segmentation request
    std::uint64_t partial_checksums = 0;  // frames relayed with their checksum left to offload
    // How far behind its own schedule the relay sent (the loop woke late,
    // or the output device had no room): frames sent more than 1 ms after
    // they were due, and the most any was late. Not impairments: the
    // relay's own limits, which a benchmark must see to trust a cell.
    std::uint64_t late_1ms = 0;
    std::uint64_t max_late_us = 0;
};

// The buffers one direction holds its frames in: frame-sized ones for packets
// and 64 KiB ones for super-frames relayed whole. Each pool reserves its
// memory at start and touches it as frames use it (buffers are reused last
// in, first out), so what stays resident is the most ever held at once.
class frame_buffers {
public:
    // frame_room: the largest frame that is not a super-frame (Ethernet
    // header + MTU); memory: bytes for both pools, large_share of it for the
    // super-frame buffers.
    frame_buffers(std::size_t frame_room, std::size_t memory, double large_share)
        : small_(count(memory * (1 - large_share), small_size(frame_room)), small_size(frame_room),
                 link::packet_headroom),
          large_(count(memory * large_share, large_size), large_size, link::packet_headroom) {}

    // An empty buffer with room for len bytes, or nullopt when none is free.
    std::optional<storage::packet> get(std::size_t len) noexcept {
        if (len <= small_.buffer_size() - link::packet_headroom) {
            if (auto p = small_.get()) return p;
        }
        if (len <= large_.buffer_size() - link::packet_headroom) return large_.get();
        return std::nullopt;
    }
    // The most frames that can be held at once.
    std::size_t capacity() const noexcept { return small_.capacity() + large_.capacity(); }
    // Whether a frame of len bytes fits any buffer.
    bool fits(std::size_t len) const noexcept { return len <= large_.buffer_size() - link::packet_headroom; }

private:
    // A 64 KiB super-frame, its Ethernet header and the headroom.
    static constexpr std::size_t large_size = 64 * 1024 + 512;
    static std::size_t small_size(std::size_t frame_room) {
        return (link::packet_headroom + frame_room + 63) / 64 * 64;
    }
    static std::size_t count(double bytes, std::size_t size) { return static_cast<std::size_t>(bytes) / size; }

    storage::packet_pool small_, large_;
};

struct direction_options {
    bool per_packet = true;      // segment super-frames before the model decides
    std::size_t frame_room = 0;  // Ethernet header + the larger MTU
    std::size_t memory = 0;      // bytes of buffers (--pool)
};

class direction final : public link::frame_sink {
public:
    // Relays to out; the model starts from seed.
    direction(std::string name, runtime::executor& ex, link::device& out, const link::impairment& params,
              std::uint64_t seed, const direction_options& o)
        : name_(std::move(name)),
          ex_(ex),
          out_(out),
          model_(params, seed),
          per_packet_(o.per_packet),
          buffers_(o.frame_room, o.memory, o.per_packet ? 1.0 / 8 : 3.0 / 4) {
        waiting_.reserve(buffers_.capacity());  // every waiting frame holds a buffer: no growth later
        timer_.on_expire = &deliver_due;
        timer_.context = this;
    }
    ~direction() { stop(); }
    direction(const direction&) = delete;
    direction& operator=(const direction&) = delete;

    void on_frame(bytes frame, const storage::rx_meta& meta) override {
        if (stopped_) return;
        ++c_.received;
        storage::tx_offload offload;
        if (!carry_offload(frame, meta, offload)) {
            ++c_.unsupported;
            return;
        }
        if (per_packet_ && offload.gso_size > 0) {
            // A super-frame that cannot be cut (a bad header) goes on whole.
            if (const auto s = link::tcp4_super_frame::parse(frame, offload.gso_size)) {
                relay_segments(*s);
                return;
            }
        }
        relay(frame, offload);
    }

    // Stops relaying for good: frames still waiting are discarded (counted
    // as held) and their buffers go back to the pools.
    void stop() noexcept {
        stopped_ = true;
        ex_.timers().erase(timer_);
        c_.held += waiting_.size();
        waiting_.clear();
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

    // Each segment of s, complete with its checksums, meets the model.
    void relay_segments(const link::tcp4_super_frame& s) {
        ++c_.segmented;
        const std::size_t n = s.segments();
        c_.segments += n;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t len = s.segment_len(i);
            const auto v = model_.decide(len, ex_.now());
            if (!admitted(v)) continue;
            auto p = buffers_.get(len);
            if (!p) {
                count_lost_buffer(v);
                continue;
            }
            s.write_segment(i, p->put(len));
            impair_and_send(std::move(*p), v);
        }
    }

    // frame, whole, meets the model.
    void relay(bytes frame, const storage::tx_offload& offload) {
        if (!buffers_.fits(frame.size())) {
            ++c_.unsupported;
            return;
        }
        const auto v = model_.decide(frame.size(), ex_.now());
        if (!admitted(v)) return;
        auto p = buffers_.get(frame.size());
        if (!p) {
            count_lost_buffer(v);
            return;
        }
        std::copy_n(frame.data(), frame.size(), p->put(frame.size()).data());
        p->offload = offload;
        if (offload.gso_size > 0) ++c_.gso_frames;
        if (offload.checksum_partial) ++c_.partial_checksums;
        impair_and_send(std::move(*p), v);
    }

    // Counts a frame the model lost or tail-dropped; true for one to send.
    bool admitted(const link::impairment_model::verdict& v) noexcept {
        if (v.drop) ++c_.dropped;
        if (v.police_drop) ++c_.police_drops;
        if (v.queue_drop) ++c_.queue_drops;
        return !v.drop && !v.police_drop && !v.queue_drop;
    }

    // No buffer for an admitted frame: it is a pool drop, and so is its copy
    // unless the policer or the queue dropped that.
    void count_lost_buffer(const link::impairment_model::verdict& v) noexcept {
        ++c_.pool_drops;
        if (v.duplicate) {
            ++c_.duplicated;
            ++(v.duplicate_delay ? c_.pool_drops : copy_drops(v));
        }
    }

    // The counter of a copy the model dropped (no duplicate_delay).
    std::uint64_t& copy_drops(const link::impairment_model::verdict& v) noexcept {
        return v.duplicate_police_drop ? c_.police_drops : c_.queue_drops;
    }

    // Damages p and makes its copy as the verdict says, then sends both
    // when their delays are up.
    void impair_and_send(storage::packet p, const link::impairment_model::verdict& v) {
        const auto now = ex_.now();
        if (v.corrupt_bit && corrupt_frame(p.data(), p.offload, *v.corrupt_bit)) ++c_.corrupted;
        if (v.reordered) ++c_.reordered;
        if (v.duplicate) {
            ++c_.duplicated;
            if (!v.duplicate_delay)
                ++copy_drops(v);
            else if (auto copy = buffers_.get(p.size())) {
                std::copy_n(p.data().data(), p.size(), copy->put(p.size()).data());
                copy->offload = p.offload;
                send(std::move(*copy), now + *v.duplicate_delay);
            } else {
                ++c_.pool_drops;
            }
        }
        send(std::move(p), now + v.delay);
    }

    // Hands p to the output device when due, behind the frames due before it.
    void send(storage::packet p, runtime::time_point due) {
        const auto now = ex_.now();
        const bool none_due_before = waiting_.empty() || waiting_.front().due > now;
        if (due <= now && none_due_before && out_.tx_room() > 0) {
            forward(std::move(p), due);
            return;
        }
        waiting_.push_back(waiting{due, next_order_++, std::move(p)});
        std::push_heap(waiting_.begin(), waiting_.end(), later);
        rearm();
    }

    // Points the timer at the earliest waiting frame. A frame already due
    // (the device had no room) makes it fire on the loop's next turn, once
    // the completions of the sends before it have been reaped.
    void rearm() {
        if (waiting_.empty()) return;
        const auto due = waiting_.front().due;
        if (timer_.queued()) {
            if (timer_.deadline == due) return;
            ex_.timers().erase(timer_);
        }
        timer_.deadline = due;
        ex_.timers().insert(timer_);
    }

    // Sends the frames whose time has come, as far as the device has room:
    // a burst (a delay line releasing a receive batch of super-frames, cut
    // into packets) waits for its sends to complete instead of being dropped.
    static void deliver_due(runtime::timer_node& n) {
        auto& self = *static_cast<direction*>(n.context);
        const auto now = self.ex_.now();
        while (!self.waiting_.empty() && self.waiting_.front().due <= now && self.out_.tx_room() > 0) {
            std::pop_heap(self.waiting_.begin(), self.waiting_.end(), later);
            self.forward(std::move(self.waiting_.back().frame), self.waiting_.back().due);
            self.waiting_.pop_back();
        }
        self.rearm();
    }

    // Lateness by the clock, not the turn's time: a burst's sends (each a
    // system call, the receiving kernel's TCP in its softirq) make the
    // later frames of a turn later.
    void forward(storage::packet p, runtime::time_point due) {
        ++c_.forwarded;
        const auto late = std::chrono::duration_cast<std::chrono::microseconds>(runtime::clock::now() - due).count();
        if (late > 1000) ++c_.late_1ms;
        if (late > 0) c_.max_late_us = std::max(c_.max_late_us, static_cast<std::uint64_t>(late));
        out_.transmit(std::move(p));
    }

    std::string name_;
    runtime::executor& ex_;
    link::device& out_;
    link::impairment_model model_;
    bool per_packet_;
    frame_buffers buffers_;
    direction_counters c_;
    std::vector<waiting> waiting_;  // the bottleneck queue and the delay line: a min-heap on (due, order)
    std::uint64_t next_order_ = 0;
    runtime::timer_node timer_;
    bool stopped_ = false;
};

}  // namespace coronet::impair
