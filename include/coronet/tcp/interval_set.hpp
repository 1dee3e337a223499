// The receive side's out-of-order bookkeeping: disjoint sequence ranges held
// beyond RCV.NXT, bounded in number (a hostile peer cannot make it grow).
#pragma once

#include <coronet/wire/seq32.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace coronet::tcp {

struct seq_range {
    wire::seq32 left, right;  // [left, right)
    friend bool operator==(const seq_range&, const seq_range&) = default;
};

class interval_set {
public:
    explicit interval_set(std::size_t max_ranges = 32) : max_(max_ranges) { ranges_.reserve(max_ranges + 1); }

    // Adds [left, right), merging with overlapping or adjacent ranges; false
    // (and no change) when it would need more than max_ranges.
    bool add(wire::seq32 left, wire::seq32 right);
    // Removes the run that starts at or before rcv_nxt and returns how far it
    // reaches past rcv_nxt (0: none); ranges wholly below rcv_nxt are dropped.
    std::uint32_t take_contiguous(wire::seq32 rcv_nxt);
    // Drops everything below seq.
    void discard_below(wire::seq32 seq);
    // Up to out.size() ranges for SACK blocks, the most recently added first (RFC 2018 4).
    std::size_t sack_blocks(std::span<seq_range> out) const;

    std::size_t count() const noexcept { return ranges_.size(); }
    bool empty() const noexcept { return ranges_.empty(); }
    std::uint64_t bytes() const noexcept;
    void clear() noexcept { ranges_.clear(); }
    std::span<const seq_range> ranges() const noexcept { return ranges_; }  // ascending

private:
    std::size_t max_;
    std::vector<seq_range> ranges_;  // ascending, disjoint, not adjacent
    wire::seq32 last_left_{};        // start of the range that took the latest data
};

}  // namespace coronet::tcp
