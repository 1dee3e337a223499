// The receive side's out-of-order bookkeeping: disjoint sequence ranges held
// beyond RCV.NXT, bounded in number so that a hostile peer cannot make it
// grow, and remembering which range took data last for SACK (RFC 2018).
#pragma once

#include <coronet/wire/seq32.hpp>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <vector>

namespace coronet::tcp {

struct seq_range {
    wire::seq32 left, right;  // [left, right)
    bool operator==(const seq_range&) const = default;
};

// Prints "[left, right)", for logs and test failures.
std::ostream& operator<<(std::ostream& os, const seq_range& r);

// All ranges are assumed to lie within one receive window (< 2^31 bytes), so
// that seq32 ordering among them is consistent across the 2^32 wrap.
class interval_set {
public:
    // An empty set that holds at most max_ranges ranges. Storage for a few
    // is reserved by the first add (none before: an idle connection's sets
    // cost nothing); more only when reordering needs it.
    explicit interval_set(std::size_t max_ranges = 32);

    // Adds [left, right), merging overlapping or adjacent ranges; true for an
    // empty range (no change); false, with no change, when it would need more
    // than max_ranges ranges.
    bool add(wire::seq32 left, wire::seq32 right);
    // If a range starts at or before rcv_nxt, removes it (the contiguous run)
    // and returns right - rcv_nxt; otherwise 0. Ranges wholly below rcv_nxt are dropped.
    std::uint32_t take_contiguous(wire::seq32 rcv_nxt);
    // Drops every range, or part of one, below seq.
    void discard_below(wire::seq32 seq);
    // Takes [left, right) out of the ranges held; returns the bytes it took.
    // Nothing changes (0) when that would split a range into more than max_ranges.
    std::uint32_t remove(wire::seq32 left, wire::seq32 right);

    // The range held that [left, right) lies within, if any.
    std::optional<seq_range> holding(wire::seq32 left, wire::seq32 right) const noexcept;
    bool covers(wire::seq32 left, wire::seq32 right) const noexcept { return holding(left, right).has_value(); }
    // Ranges held.
    std::size_t count() const noexcept { return ranges_.size(); }
    bool empty() const noexcept { return ranges_.empty(); }
    // Bytes held in all ranges.
    std::uint64_t bytes() const noexcept;
    void clear() noexcept;
    // The bound given at construction.
    std::size_t max_ranges() const noexcept { return max_; }

    // Fills out with up to out.size() ranges for SACK blocks (RFC 2018 4): the
    // range that took data most recently first, then the others most recent
    // first; returns how many.
    // A range equal to `skip` is left out (the caller reported it already).
    std::size_t sack_blocks(std::span<seq_range> out, std::optional<seq_range> skip = {}) const;
    // The range that took data most recently (the first SACK block), if any.
    std::optional<seq_range> latest() const;
    // The ranges in ascending order (relative to the first), for tests.
    std::span<const seq_range> ranges() const noexcept { return ranges_; }

private:
    void erase(std::size_t first, std::size_t last);
    std::size_t first_reaching(wire::seq32 seq) const noexcept;

    std::size_t max_;
    std::vector<seq_range> ranges_;     // ascending, disjoint, never adjacent
    std::vector<std::uint64_t> added_;  // added_[i]: when ranges_[i] last took data (larger is later)
    std::uint64_t clock_ = 0;           // counts successful adds
};

}  // namespace coronet::tcp
