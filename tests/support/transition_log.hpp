// The state transitions a TCP layer made, as its on_transition reports them,
// and the arrows the state diagram allows.
#pragma once

#include <coronet/tcp/state.hpp>
#include <string>
#include <vector>

namespace coronet::test {

// Whether the state diagram (DESIGN.md, "The state machine") has this arrow.
bool legal_transition(tcp::state from, tcp::state to);

struct transition {
    tcp::state from, to;
    std::string cause;
};

struct transition_log {
    std::vector<transition> entries;  // every connection's, in order

    void record(tcp::state from, tcp::state to, const char* cause) { entries.push_back({from, to, cause}); }
    // Whether some connection went from -> to.
    bool saw(tcp::state from, tcp::state to) const;
    // "SYN_SENT->ESTABLISHED(SYN+ACK) ..." for failure messages.
    std::string trace() const;
};

}  // namespace coronet::test
