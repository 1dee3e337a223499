#include "prometheus.hpp"

#include <spdlog/fmt/fmt.h>

#include <cmath>

namespace coronet::apps {

namespace {

// \ and newline escaped, and " too in label values (help texts keep theirs).
std::string escaped(std::string_view text, bool quotes) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quotes)
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

}  // namespace

std::string prometheus_escape(std::string_view value) { return escaped(value, true); }

void prometheus_text::family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escaped(help, false), name, type);
}

void prometheus_text::sample_start(labels l) {
    out_ += name_;
    if (l.size() == 0) {
        out_ += ' ';
        return;
    }
    char sep = '{';
    for (const auto& [key, value] : l) {
        out_ += fmt::format("{}{}=\"{}\"", sep, key, prometheus_escape(value));
        sep = ',';
    }
    out_ += "} ";
}

void prometheus_text::sample(labels l, std::uint64_t value) {
    sample_start(l);
    out_ += fmt::format("{}\n", value);
}

void prometheus_text::sample(labels l, double value) {
    sample_start(l);
    if (std::isnan(value))
        out_ += "NaN\n";
    else if (std::isinf(value))
        out_ += value > 0 ? "+Inf\n" : "-Inf\n";
    else
        out_ += fmt::format("{}\n", value);
}

void prometheus_text::counter(std::string_view name, std::string_view help, labels l, std::uint64_t value) {
    family(name, "counter", help);
    sample(l, value);
}

void prometheus_text::gauge(std::string_view name, std::string_view help, labels l, double value) {
    family(name, "gauge", help);
    sample(l, value);
}

}  // namespace coronet::apps
