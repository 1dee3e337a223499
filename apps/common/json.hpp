// The programs' JSON output (reports, --summary-json, --access-log), built
// with nlohmann-json so that every string is escaped: objects keep their keys
// in the order written, and a line is one object.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace coronet::apps {

using json = nlohmann::ordered_json;

// j as one line of JSON (no newline); bytes that are not UTF-8 are written as
// U+FFFD instead of throwing.
std::string json_line(const json& j);

// x rounded to `decimals` places: figures keep the precision they were
// printed with before (0.123, not 0.12345678901).
double rounded(double x, int decimals);

// A file of JSON lines, each written whole and flushed at once, so that a
// reader (tail -f, a log shipper, a test) never sees half a line.
class json_lines {
public:
    // Creates or truncates path ("-": stdout); throws std::system_error naming
    // `option` when it cannot (start-up).
    json_lines(const std::string& path, const std::string& option);
    ~json_lines();
    json_lines(const json_lines&) = delete;
    json_lines& operator=(const json_lines&) = delete;

    // Appends j as one line. A failed write is not reported (the disk is
    // full): the program goes on without its record.
    void write(const json& j);

private:
    std::FILE* file_;
    bool owned_;
};

}  // namespace coronet::apps
