// The library's logger (coronet/runtime/log.hpp): its own, at warn by
// default, replaceable, and never spdlog's default logger.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <boost/test/unit_test.hpp>
#include <coronet/runtime/log.hpp>
#include <memory>
#include <sstream>

#include "support/stack_under_test.hpp"

namespace {

// A logger that writes into a string stream.
struct captured {
    std::ostringstream text;
    std::shared_ptr<spdlog::logger> logger =
        std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
};

// Puts back spdlog's default logger and the library's default one.
struct restore_loggers {
    std::shared_ptr<spdlog::logger> spdlog_default = spdlog::default_logger();
    ~restore_loggers() {
        spdlog::set_default_logger(spdlog_default);
        coronet::runtime::set_logger(nullptr);
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(library_logger)

BOOST_AUTO_TEST_CASE(the_default_is_its_own_logger_on_stderr_at_warn) {
    restore_loggers restore;
    coronet::runtime::set_logger(nullptr);
    spdlog::logger& l = coronet::runtime::logger();
    BOOST_TEST(l.name() == "coronet");
    BOOST_TEST(l.level() == spdlog::level::warn);  // transitions (info) are not printed
    BOOST_TEST(&l != spdlog::default_logger_raw());
    BOOST_TEST(spdlog::get("coronet") == nullptr);  // not registered: a program may name its own "coronet"
    BOOST_REQUIRE(l.sinks().size() == 1u);
    BOOST_TEST(std::dynamic_pointer_cast<spdlog::sinks::stderr_color_sink_mt>(l.sinks()[0]) != nullptr);
}

BOOST_AUTO_TEST_CASE(transitions_go_to_the_logger_set_and_only_at_its_level) {
    restore_loggers restore;
    captured mine, global;
    spdlog::set_default_logger(global.logger);
    global.logger->set_level(spdlog::level::trace);
    coronet::test::stack_under_test s;
    coronet::runtime::set_logger(mine.logger);
    mine.logger->set_level(spdlog::level::warn);
    auto quiet = s.tcp.listen(8001, 4);
    BOOST_REQUIRE(quiet.has_value());
    BOOST_TEST(mine.text.str().empty(), mine.text.str());  // info is below warn

    mine.logger->set_level(spdlog::level::info);
    auto heard = s.tcp.listen(8002, 4);
    BOOST_REQUIRE(heard.has_value());
    BOOST_TEST(mine.text.str().find("*:8002 CLOSED -> LISTEN (listen, backlog 4)") != std::string::npos,
               mine.text.str());
    BOOST_TEST(global.text.str().empty(), global.text.str());  // spdlog's default logger heard nothing
}

BOOST_AUTO_TEST_SUITE_END()
