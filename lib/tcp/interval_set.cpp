// interval_set: a sorted array searched by bisection. Mostly it holds a
// handful of ranges; a path that reorders a large window can leave hundreds
// of holes, so it grows on demand up to its bound.
#include <algorithm>
#include <array>
#include <coronet/tcp/interval_set.hpp>
#include <ostream>

namespace coronet::tcp {

using wire::seq32;

std::ostream& operator<<(std::ostream& os, const seq_range& r) { return os << '[' << r.left << ", " << r.right << ')'; }

namespace {
constexpr std::size_t reserved_up_front = 32;
}

interval_set::interval_set(std::size_t max_ranges) : max_(max_ranges) {}

// The index of the first range whose right edge is at or past seq (ranges
// are sorted and never touch, so their right edges ascend too).
std::size_t interval_set::first_reaching(seq32 seq) const noexcept {
    const auto it =
        std::partition_point(ranges_.begin(), ranges_.end(), [&](const seq_range& r) { return r.right < seq; });
    return static_cast<std::size_t>(it - ranges_.begin());
}

bool interval_set::add(seq32 left, seq32 right) {
    if (!(left < right)) return true;
    // [first, last) are the ranges that overlap or touch [left, right).
    const std::size_t first = first_reaching(left);
    std::size_t last = first;
    while (last < ranges_.size() && ranges_[last].left <= right) ++last;

    if (first == last) {
        if (ranges_.size() >= max_) return false;
        if (ranges_.capacity() == 0) {  // the first range: room for a few at once (an idle connection has none)
            ranges_.reserve(std::min(max_, reserved_up_front));
            added_.reserve(std::min(max_, reserved_up_front));
        }
        const auto at = static_cast<std::ptrdiff_t>(first);
        ranges_.insert(ranges_.begin() + at, seq_range{left, right});
        added_.insert(added_.begin() + at, ++clock_);
        return true;
    }
    ranges_[first] = seq_range{wire::seq_min(left, ranges_[first].left), wire::seq_max(right, ranges_[last - 1].right)};
    added_[first] = ++clock_;
    erase(first + 1, last);
    return true;
}

std::uint32_t interval_set::take_contiguous(seq32 rcv_nxt) {
    discard_below(rcv_nxt);
    // Now every range starts at or after rcv_nxt; ranges never touch, so the
    // first one is the whole contiguous run.
    if (ranges_.empty() || ranges_.front().left != rcv_nxt) return 0;
    const auto n = wire::distance(rcv_nxt, ranges_.front().right);
    erase(0, 1);
    return n;
}

void interval_set::discard_below(seq32 seq) {
    std::size_t keep = 0;
    while (keep < ranges_.size() && ranges_[keep].right <= seq) ++keep;
    erase(0, keep);
    if (!ranges_.empty() && ranges_.front().left < seq) ranges_.front().left = seq;
}

std::uint32_t interval_set::remove(seq32 left, seq32 right) {
    std::uint32_t removed = 0;
    // Sorted: from the first range that reaches `left` to the last that starts before `right`.
    for (std::size_t i = first_reaching(left); i < ranges_.size() && ranges_[i].left < right;) {
        seq_range& r = ranges_[i];
        const seq32 lo = wire::seq_max(left, r.left), hi = wire::seq_min(right, r.right);
        if (!(lo < hi)) {
            ++i;
            continue;
        }
        if (r.left < lo && hi < r.right) {
            // Strictly inside this range, so inside no other: it splits in two.
            if (ranges_.size() >= max_) return 0;
            const seq_range tail{hi, r.right};
            r.right = lo;
            const auto at = static_cast<std::ptrdiff_t>(i) + 1;
            added_.insert(added_.begin() + at, added_[i]);
            ranges_.insert(ranges_.begin() + at, tail);
            return wire::distance(lo, hi);
        }
        removed += wire::distance(lo, hi);
        if (r.left == lo && r.right == hi) {
            erase(i, i + 1);
            continue;
        }
        if (r.left == lo)
            r.left = hi;
        else
            r.right = lo;
        ++i;
    }
    return removed;
}

std::uint64_t interval_set::bytes() const noexcept {
    std::uint64_t total = 0;
    for (const seq_range& r : ranges_) total += wire::distance(r.left, r.right);
    return total;
}

void interval_set::clear() noexcept {
    ranges_.clear();
    added_.clear();
}

std::optional<seq_range> interval_set::holding(wire::seq32 left, wire::seq32 right) const noexcept {
    if (const std::size_t i = first_reaching(right); i < ranges_.size()) {
        const seq_range& r = ranges_[i];
        if (r.left <= left && right <= r.right) return r;
    }
    return std::nullopt;
}

std::size_t interval_set::sack_blocks(std::span<seq_range> out, std::optional<seq_range> skip) const {
    // One pass keeps the out.size() (at most 4) latest stamps, latest first.
    std::array<std::size_t, 4> best{};
    const std::size_t want = std::min(out.size(), best.size());
    if (want == 0) return 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < ranges_.size(); ++i) {
        if (skip && ranges_[i] == *skip) continue;
        if (n == want && added_[i] < added_[best[n - 1]]) continue;
        std::size_t at = std::min(n, want - 1);  // insertion point, from the back
        for (; at > 0 && added_[best[at - 1]] < added_[i]; --at) best[at] = best[at - 1];
        best[at] = i;
        n = std::min(n + 1, want);
    }
    for (std::size_t k = 0; k < n; ++k) out[k] = ranges_[best[k]];
    return n;
}

std::optional<seq_range> interval_set::latest() const {
    seq_range r;
    if (sack_blocks(std::span(&r, 1)) == 0) return std::nullopt;
    return r;
}

void interval_set::erase(std::size_t first, std::size_t last) {
    const auto f = static_cast<std::ptrdiff_t>(first), l = static_cast<std::ptrdiff_t>(last);
    ranges_.erase(ranges_.begin() + f, ranges_.begin() + l);
    added_.erase(added_.begin() + f, added_.begin() + l);
}

}  // namespace coronet::tcp
