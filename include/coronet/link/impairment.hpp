// The seeded impairment model shared by sim_link and coronet-impair: for each
// frame it decides loss, duplication, corruption, reordering and delay
// (including a rate limit's queueing delay). Same seed, same decisions.
#pragma once

#include <coronet/runtime/clock.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>

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
};

struct impairment_counters {
    std::uint64_t passed = 0, dropped = 0, duplicated = 0, reordered = 0, corrupted = 0;
};

class impairment_model {
public:
    struct verdict {
        bool drop = false;
        bool duplicate = false;
        std::optional<std::size_t> corrupt_bit;  // bit index into the frame
        runtime::duration delay{};
    };

    impairment_model(impairment params, std::uint64_t seed) : p_(params), rng_(seed) {}

    // The fate of one frame of frame_len bytes sent at now.
    verdict decide(std::size_t frame_len, runtime::time_point now);
    const impairment_counters& counters() const noexcept { return counters_; }
    const impairment& params() const noexcept { return p_; }
    void set_params(const impairment& p) noexcept { p_ = p; }

private:
    bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

    impairment p_;
    std::mt19937_64 rng_;
    runtime::time_point link_free_{};
    impairment_counters counters_;
};

}  // namespace coronet::link
