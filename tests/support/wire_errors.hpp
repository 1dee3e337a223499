// The error a wire parser's result holds, as a std::error_code the unit
// tests compare with code(errc).
#pragma once

#include <coronet/wire/error.hpp>
#include <system_error>

namespace coronet::test {

// The result's error, or no error if it holds a value.
template <class T>
std::error_code error_of(const wire::result<T>& r) {
    return r.has_value() ? std::error_code{} : r.error();
}

inline std::error_code code(wire::errc e) { return wire::make_error_code(e); }

}  // namespace coronet::test
