#include "json.hpp"

#include <cerrno>
#include <cmath>
#include <system_error>

namespace coronet::apps {

std::string json_line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

double rounded(double x, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(x * scale) / scale;
}

json_lines::json_lines(const std::string& path, const std::string& option)
    : file_(path == "-" ? stdout : std::fopen(path.c_str(), "w")), owned_(path != "-") {
    if (!file_) throw std::system_error(errno, std::generic_category(), option + " " + path);
}

json_lines::~json_lines() {
    if (owned_) std::fclose(file_);
}

void json_lines::write(const json& j) {
    const std::string line = json_line(j) + '\n';
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
}

}  // namespace coronet::apps
