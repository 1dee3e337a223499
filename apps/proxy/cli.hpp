// coronet-proxy's command line: its options, their --help, and the checks
// of their values (a bad one is a usage error: one line, exit status 2).
#pragma once

#include <optional>
#include <string>

#include "../common/options.hpp"
#include "proxy.hpp"

namespace coronet::apps {

struct proxy_command {
    common_options common;
    proxy_config proxy;
    std::string summary_json;         // --summary-json FILE, "" for none
    std::string access_log;           // --access-log FILE ("-": stdout), "" for none
    std::optional<endpoint> metrics;  // --metrics ADDR:PORT
};

// Parses argv; exits 0 after --help or --version, 2 on a usage error.
proxy_command parse_proxy_command(int argc, char** argv);

}  // namespace coronet::apps
