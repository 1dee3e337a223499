// Why a wire view refused a packet, as std::error_code values in the
// "coronet.wire" category, and the result<T> type every parse() returns.
#pragma once

#include <boost/system/result.hpp>
#include <system_error>
#include <type_traits>

namespace coronet::wire {

enum class errc {
    truncated = 1,      // shorter than the fixed header or a length it announces
    bad_length,         // a length field disagrees with the buffer
    bad_header_length,  // IHL / data offset too small or past the end
    bad_checksum,       // checksum does not verify
    bad_version,        // IP version is not 4
    bad_option,         // malformed option list
    unsupported,        // well-formed but a variant we do not handle
};

// The "coronet.wire" error category (a singleton).
const std::error_category& wire_category() noexcept;

// Wraps e in the "coronet.wire" category.
std::error_code make_error_code(errc e) noexcept;

// A parsed value or the reason it could not be parsed.
template <class T>
using result = boost::system::result<T, std::error_code>;

}  // namespace coronet::wire

template <>
struct std::is_error_code_enum<coronet::wire::errc> : std::true_type {};
