// coronet-bench's command line: a role (server or client), the client's run
// (mode, duration, size, connections, direction), the stack to use, and the
// interface options shared by every coronet program, which only the
// user-space stack needs.
#pragma once

#include "client.hpp"

#include "../common/options.hpp"

namespace coronet::bench {

enum class stack_kind { user, kernel };

struct bench_options {
    bool server = false;
    stack_kind stack = stack_kind::user;
    std::uint16_t listen_port = 0;  // server
    client_config client;           // client
    apps::common_options common;    // --stack user
};

// Parses argv. --help prints usage and exits 0; a usage error prints the
// message and a hint to stderr and exits 2. Applies --log-level.
bench_options parse_or_exit(int argc, char** argv);

}  // namespace coronet::bench
