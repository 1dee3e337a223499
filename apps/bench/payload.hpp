// The bytes of a fixed-size bulk transfer (--bytes): a pattern that is a
// function of the stream offset alone, so the receiver can check every byte
// without being told what was sent, and a SHA-256 of what each end sent or
// received, so the two ends' digests prove the transfer byte-exact.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "stream.hpp"

namespace coronet::bench {

// Fills out with the pattern's bytes from stream offset `offset` on. The
// pattern never repeats (each 8-byte word is a mix of its index), so a
// segment delivered at the wrong offset, even 2^32 bytes off, is caught.
void fill_pattern(wire::mut_bytes out, std::uint64_t offset) noexcept;

using sha256_digest = std::array<std::byte, 32>;

// Lower-case hex of a digest, as sha256sum prints it.
std::string to_hex(const sha256_digest& d);

// An incremental SHA-256 (OpenSSL's EVP, which uses the CPU's SHA
// instructions where there are any: the receiver hashes inside the timed run).
class sha256 {
public:
    sha256();
    void update(wire::bytes data) noexcept;
    // The digest of everything fed so far; the hash cannot be fed afterwards.
    sha256_digest finish() noexcept;

private:
    struct free_ctx {
        void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
    };
    std::unique_ptr<EVP_MD_CTX, free_ctx> ctx_;
};

// The receiving end of a fixed-size transfer: hashes what arrives and checks
// it against the pattern at its offset.
class payload_check {
public:
    // Feeds the next received bytes (at offset received()).
    void feed(wire::bytes data);
    std::uint64_t received() const noexcept { return offset_; }
    // True while every byte so far matched the pattern.
    bool matches() const noexcept { return matches_; }
    sha256_digest finish() noexcept { return hash_.finish(); }

private:
    sha256 hash_;
    std::uint64_t offset_ = 0;
    bool matches_ = true;
    std::array<std::byte, 64 * 1024> expected_;
};

// What the receiver of a fixed-size transfer, or its sender when that is the
// server, sends the client once all the data has passed: the SHA-256 of the
// data it received or sent, whether it found the pattern intact, and its own
// retransmissions so far. 41 bytes.
struct trailer {
    static constexpr std::size_t size = 41;
    sha256_digest digest{};
    bool verified = false;  // the receiver checked every byte against the pattern (a sender: true)
    std::uint64_t retransmits = 0;

    std::array<std::byte, size> encode() const;
    static trailer decode(wire::bytes b);
};

}  // namespace coronet::bench
