// coronet-bench's command line: a role (server, client or link), the client's
// run (mode, duration, size, connections, direction), the stack to use, the
// link run (path, direction, frame size), and the interface options shared by
// every coronet program, which only the user-space stack needs.
#pragma once

#include "../common/options.hpp"
#include "client.hpp"
#include "link.hpp"

namespace coronet::bench {

// The name the program's messages start with.
inline constexpr const char* program = "coronet-bench";

enum class stack_kind { user, kernel };
enum class bench_role { server, client, link };

struct bench_options {
    bench_role role = bench_role::client;
    stack_kind stack = stack_kind::user;
    std::uint16_t listen_port = 0;  // server
    unsigned loops = 1;             // server, client (user stack): threads, each with its own loop and stack
    client_config client;           // client
    link_config link;               // link
    apps::common_options common;    // --stack user
    std::string congestion;         // --cc: kernel sockets' TCP_CONGESTION ("": the kernel's default)
    bool stats = false;             // --stats (user stack): the stack's counters to stderr at exit
};

// Parses argv. --help prints usage and exits 0; a usage error prints the
// message and a hint to stderr and exits 2. Applies --log-level.
bench_options parse_or_exit(int argc, char** argv);

}  // namespace coronet::bench
