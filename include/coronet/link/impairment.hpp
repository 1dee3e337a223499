// The seeded impairment model shared by sim_link and coronet-impair: for each
// frame it decides loss, duplication, corruption, a token-bucket policer, a
// bottleneck (a rate with a finite tail-drop queue), propagation delay with
// jitter, and reordering, in that order. Same seed, same decisions.
#pragma once

#include <coronet/runtime/clock.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace coronet::link {

struct impairment {
    double loss = 0;       // probability a frame is dropped
    double duplicate = 0;  // probability a frame is sent twice
    double reorder = 0;    // probability a frame is held back so later ones overtake it
    double corrupt = 0;    // probability one bit past the Ethernet header is flipped
    runtime::duration delay{};
    runtime::duration jitter{};                                    // uniform extra delay in [0, jitter]
    runtime::duration reorder_gap = std::chrono::milliseconds(1);  // how long a reordered frame is held
    double rate_mbit = 0;                                          // 0 = unlimited
    // The bottleneck queue in front of rate_mbit: the frames waiting to be
    // serialised, the one being serialised included. A frame that would take
    // it past either limit is dropped (tail drop). 0 = no limit; both are
    // ignored without a rate.
    std::size_t queue_packets = 0;
    std::size_t queue_bytes = 0;
    // A token-bucket policer in front of the bottleneck, as ISPs enforce a
    // contracted rate: tokens accrue at police_mbit up to police_burst bytes
    // (the bucket starts full), a frame takes its length in tokens, and a
    // frame the bucket cannot cover is dropped at once, never queued.
    // 0 = no policer.
    double police_mbit = 0;
    std::size_t police_burst = 0;
};

struct impairment_counters {
    std::uint64_t passed = 0, dropped = 0, duplicated = 0, reordered = 0, corrupted = 0;
    std::uint64_t queue_drops = 0;   // tail drops at the bottleneck queue, copies included
    std::uint64_t police_drops = 0;  // frames the policer's bucket could not cover
};

// The token bucket of impairment::police_mbit / police_burst.
class policer {
public:
    // Whether the frame of len bytes arriving at now conforms (and takes its tokens).
    bool admit(std::size_t len, runtime::time_point now, const impairment& p);

private:
    double tokens_ = -1;  // bytes; negative until the first frame fills the bucket
    runtime::time_point last_{};
};

// A link of rate_mbit fed by a FIFO with a packet and a byte limit: when
// each admitted frame's last bit leaves, and which frames find it full.
class bottleneck {
public:
    // The time the frame of len bytes arriving at now has been serialised,
    // or nullopt when the queue has no room for it (the frame is dropped).
    // Without a rate every frame leaves at once.
    std::optional<runtime::time_point> admit(std::size_t len, runtime::time_point now, const impairment& p);
    // Frames and bytes still in the queue at now (after the last admit()).
    std::size_t queued_packets() const noexcept { return count_; }
    std::size_t queued_bytes() const noexcept { return bytes_; }

private:
    struct in_queue {
        runtime::time_point departs;
        std::size_t len;
    };
    // Forgets the frames whose last bit has left by now.
    void drain(runtime::time_point now);
    void push(in_queue f);

    runtime::time_point link_free_{};  // when the last admitted frame has been serialised
    // A ring of the frames in the queue, oldest at head_: it grows to the
    // largest queue seen and is reused from then on.
    std::vector<in_queue> ring_;
    std::size_t head_ = 0, count_ = 0, bytes_ = 0;
};

class impairment_model {
public:
    struct verdict {
        bool drop = false;                       // lost (loss)
        bool queue_drop = false;                 // no room in the bottleneck queue
        bool police_drop = false;                // beyond the policer's rate and burst
        bool duplicate = false;                  // a copy was made (it queues right behind the original)
        bool reordered = false;                  // held back by reorder_gap
        std::optional<std::size_t> corrupt_bit;  // bit index into the frame
        runtime::duration delay{};
        // When the copy arrives; nullopt when the policer or the queue
        // dropped it (duplicate_police_drop says which).
        std::optional<runtime::duration> duplicate_delay;
        bool duplicate_police_drop = false;
    };

    impairment_model(impairment params, std::uint64_t seed) : p_(params), rng_(seed) {}

    // The fate of one frame of frame_len bytes sent at now.
    verdict decide(std::size_t frame_len, runtime::time_point now);
    const impairment_counters& counters() const noexcept { return counters_; }
    const impairment& params() const noexcept { return p_; }
    void set_params(const impairment& p) noexcept { p_ = p; }
    const link::bottleneck& bottleneck() const noexcept { return bottleneck_; }

private:
    bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
    runtime::duration draw_jitter();
    std::optional<std::size_t> draw_corrupt_bit(std::size_t frame_len);

    impairment p_;
    std::mt19937_64 rng_;
    link::bottleneck bottleneck_;
    link::policer policer_;
    impairment_counters counters_;
};

}  // namespace coronet::link
