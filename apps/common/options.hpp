// The options every coronet app shares (--iface --ip --gateway --mac --mtu
// --log-level --pcap --wait-for-interface ...), parsed with Boost.Program_options, and the usual
// --help / usage-error handling (exit 0 / exit 2).
#pragma once

#include <boost/program_options.hpp>
#include <coronet/api/stack.hpp>
#include <optional>
#include <string>

namespace coronet::apps {

namespace po = boost::program_options;

struct common_options {
    interface_config iface;
    runtime::loop_options loop;  // construct the program's loop with these (--busy-poll)
    std::string log_level = "warn";
};

// The common options, to add to an app's own description.
po::options_description common_description(common_options& out);
// The TCP options (buffers, memory limit, connection limit, keep-alive, SYN
// cookies, SACK), for the programs that use TCP.
po::options_description tcp_description(common_options& out);

struct command_line {
    std::string usage;                // e.g. "coronet-ping [options] HOST"
    std::string summary;              // one paragraph on what the program does
    po::options_description options;  // all named options (common ones included)
    po::positional_options_description positional;
};

// Parses argv. --help prints usage and exits 0, --version the version; a usage error prints the
// message and a hint to stderr and exits 2. Also applies --log-level and
// checks that --iface and --ip were given.
po::variables_map parse_or_exit(int argc, char** argv, command_line& cl, common_options& common);

// Applies --log-level to spdlog's default logger (the program's own, which
// the caller has made) and makes it the library's logger too, so one level
// rules both. A level spdlog does not know is a usage error.
void apply_log_level(const std::string& program, const std::string& level);
// --help and --version, added to every program's options.
void add_help_and_version(po::options_description& d);
// With --version: prints "PROGRAM VERSION" and exits 0.
void exit_if_version(const po::variables_map& vm, const std::string& program);
// What is wrong with --ip's value, or nullopt. It must be A.B.C.D/N with
// the prefix length written out: a bare address would be a /32, and
// peers in the same subnet would then be taken for off-subnet.
std::optional<std::string> ip_option_problem(const std::string& address);

// "262144", "256K", "64M" or "2G" (binary multiples); nullopt otherwise.
std::optional<std::size_t> parse_size(const std::string& text);

// A port, 1-65535 in decimal; nullopt otherwise (0 and 70000 included).
std::optional<std::uint16_t> parse_port(const std::string& text);
// A port option (or positional argument) stored into out. Anything but a
// port is a usage error worded alike in every program:
// "--listen: '70000' is not a port (1-65535)".
po::typed_value<std::string>* port_value(const std::string& name, std::uint16_t& out);

// "A.B.C.D:PORT" with a port of 1-65535; nullopt when text is not one.
std::optional<endpoint> parse_endpoint(const std::string& text);
// The usage error for an option that wanted an endpoint and got text:
// "--upstream: 'x' is not A.B.C.D:PORT (port 1-65535)".
std::string not_an_endpoint(const std::string& name, const std::string& text);
// e as "A.B.C.D:PORT" (what parse_endpoint reads).
std::string endpoint_text(const endpoint& e);

// What a user should read for the error a connection ends with.
std::string describe(const std::error_code& ec);

// Makes the program exit with status 1 once st's interface is gone (without
// --wait-for-interface), after one line on stderr: "program: interface IF is
// gone (No such device)". Leaves at once, as a crash would, tearing nothing down.
void exit_when_interface_lost(stack& st, const std::string& program);

// Prints "program: message" to stderr and exits with code.
[[noreturn]] void die(const std::string& program, const std::string& message, int code);
// A usage error: "program: message" and a hint to try --help, exit status 2.
[[noreturn]] void usage_error(const std::string& program, const std::string& message);
// A failed system call: "program: what: strerror(errno)", exit status 1.
[[noreturn]] void die_errno(const std::string& program, const std::string& what);

}  // namespace coronet::apps
