// Prometheus text exposition format (version 0.0.4), as a scraper reads it
// from GET /metrics: per metric family a "# HELP" and a "# TYPE" line, then
// its samples, "name{label="value",...} number". Label values and help
// texts are escaped here, so any text may go in.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace coronet::apps {

class prometheus_text {
public:
    using label = std::pair<std::string_view, std::string_view>;
    using labels = std::initializer_list<label>;

    // Starts a family: type is "counter" (its name should end in _total) or
    // "gauge". Its samples follow until the next family.
    void family(std::string_view name, std::string_view type, std::string_view help);
    // One sample of the current family.
    void sample(labels l, std::uint64_t value);
    void sample(labels l, double value);
    // A family of one sample: family() then sample().
    void counter(std::string_view name, std::string_view help, labels l, std::uint64_t value);
    void gauge(std::string_view name, std::string_view help, labels l, double value);

    const std::string& text() const noexcept { return out_; }

private:
    void sample_start(labels l);
    std::string out_;
    std::string name_;
};

// A label value with \, " and newline escaped as the format asks.
std::string prometheus_escape(std::string_view value);

}  // namespace coronet::apps
