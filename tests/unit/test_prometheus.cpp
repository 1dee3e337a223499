// The Prometheus text writer behind coronet-proxy --metrics: families with
// their # HELP and # TYPE lines, labelled samples, escaping, and numbers as
// a scraper parses them.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>

#include "../../apps/common/prometheus.hpp"

using coronet::apps::prometheus_escape;
using coronet::apps::prometheus_text;

BOOST_AUTO_TEST_SUITE(prometheus_tests)

BOOST_AUTO_TEST_CASE(a_family_is_help_type_then_its_labelled_samples) {
    prometheus_text out;
    out.family("coronet_proxy_bytes_total", "counter", "Bytes copied, by direction");
    out.sample({{"loop", "0"}, {"direction", "up"}}, std::uint64_t{12});
    out.sample({{"loop", "0"}, {"direction", "down"}}, std::uint64_t{18446744073709551615u});
    out.gauge("coronet_proxy_sessions_open", "Sessions open now", {}, 3.0);
    BOOST_TEST(out.text() ==
               "# HELP coronet_proxy_bytes_total Bytes copied, by direction\n"
               "# TYPE coronet_proxy_bytes_total counter\n"
               "coronet_proxy_bytes_total{loop=\"0\",direction=\"up\"} 12\n"
               "coronet_proxy_bytes_total{loop=\"0\",direction=\"down\"} 18446744073709551615\n"
               "# HELP coronet_proxy_sessions_open Sessions open now\n"
               "# TYPE coronet_proxy_sessions_open gauge\n"
               "coronet_proxy_sessions_open 3\n");
}

BOOST_AUTO_TEST_CASE(label_values_escape_backslash_quote_and_newline) {
    BOOST_TEST(prometheus_escape(R"(a\b"c)"
                                 "\n"
                                 "d") == R"(a\\b\"c\nd)");
    prometheus_text out;
    out.counter("x_total", "help with \\ and\nnewline, \"quotes\" kept", {{"error", "say \"no\""}}, 1);
    BOOST_TEST(out.text() ==
               "# HELP x_total help with \\\\ and\\nnewline, \"quotes\" kept\n"
               "# TYPE x_total counter\n"
               "x_total{error=\"say \\\"no\\\"\"} 1\n");
}

BOOST_AUTO_TEST_CASE(gauges_write_fractions_and_the_special_values) {
    prometheus_text out;
    out.family("g", "gauge", "h");
    out.sample({{"k", "half"}}, 0.5);
    out.sample({{"k", "inf"}}, std::numeric_limits<double>::infinity());
    out.sample({{"k", "-inf"}}, -std::numeric_limits<double>::infinity());
    out.sample({{"k", "nan"}}, std::nan(""));
    BOOST_TEST(out.text() ==
               "# HELP g h\n# TYPE g gauge\n"
               "g{k=\"half\"} 0.5\ng{k=\"inf\"} +Inf\ng{k=\"-inf\"} -Inf\ng{k=\"nan\"} NaN\n");
}

BOOST_AUTO_TEST_SUITE_END()
