#include "support/transition_log.hpp"

#include <algorithm>

namespace coronet::test {

bool legal_transition(tcp::state from, tcp::state to) {
    using enum tcp::state;
    switch (from) {
        case closed:
            return to == syn_sent;
        case listen:
            return to == syn_rcvd || to == syn_sent;
        case syn_sent:
            return to == established || to == syn_rcvd || to == closed;
        case syn_rcvd:
            return to == established || to == listen || to == fin_wait_1 || to == closed;
        case established:
            return to == fin_wait_1 || to == close_wait || to == closed;
        case fin_wait_1:
            return to == fin_wait_2 || to == closing || to == time_wait || to == closed;
        case fin_wait_2:
            return to == time_wait || to == closed;
        case close_wait:
            return to == last_ack || to == closed;
        case closing:
            return to == time_wait || to == closed;
        case last_ack:
            return to == closed;
        case time_wait:
            return to == closed;
    }
    return false;
}

bool transition_log::saw(tcp::state from, tcp::state to) const {
    return std::ranges::any_of(entries, [&](const transition& t) { return t.from == from && t.to == to; });
}

std::string transition_log::trace() const {
    std::string s;
    for (const auto& t : entries)
        s.append(tcp::to_string(t.from))
            .append("->")
            .append(tcp::to_string(t.to))
            .append("(")
            .append(t.cause)
            .append(") ");
    return s;
}

}  // namespace coronet::test
