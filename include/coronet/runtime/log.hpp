// The library's logger. coronet writes its messages (state transitions at
// info, trouble at warn and error) to one spdlog logger of its own, named
// "coronet", not to spdlog's default logger: by default it writes to stderr
// at level warn, so a program that links coronet prints nothing but warnings
// and errors unless it asks for more. An application can raise or lower its
// level (logger().set_level(spdlog::level::info), or off to silence it) or
// replace it with one of its own sinks and format (set_logger). The
// programs share theirs with the library, so --log-level sets both.
#pragma once

#include <spdlog/logger.h>

#include <memory>

namespace coronet::runtime {

// The logger the library writes to (made on first use). Any thread.
spdlog::logger& logger();

// Makes l the library's logger; null restores a default one (stderr,
// warn). A logger replaced while another thread still writes to it stays
// alive until the program ends.
void set_logger(std::shared_ptr<spdlog::logger> l);

}  // namespace coronet::runtime
