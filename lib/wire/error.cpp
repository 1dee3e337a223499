// The "coronet.wire" error category.
#include <coronet/wire/error.hpp>
#include <string>

namespace coronet::wire {

namespace {

class wire_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "coronet.wire"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::truncated:
                return "packet truncated";
            case errc::bad_length:
                return "length field does not match the packet";
            case errc::bad_header_length:
                return "bad header length";
            case errc::bad_checksum:
                return "bad checksum";
            case errc::bad_version:
                return "bad IP version";
            case errc::bad_option:
                return "malformed option";
            case errc::unsupported:
                return "unsupported packet format";
        }
        return "unknown coronet.wire error";
    }
};

}  // namespace

const std::error_category& wire_category() noexcept {
    static const wire_category_impl instance;
    return instance;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), wire_category()}; }

}  // namespace coronet::wire
