// flat_line.h - the decoder's fast path: one scan over an NDJSON line that is a flat JSON object
// in the plain shape publishers send (internal to CKPIJSON; included by kpid_json.cpp only).
//
// Why: simdjson's on-demand API costs ~1,000 instructions of stage 1 per ~300-byte document plus
// ~170 per field walked: with the line handling 3,700 instructions per event, more than all the
// aggregation after it. Most events are a flat object of ASCII keys and plain values,
// and for those one forward scan suffices (measured with callgrind, with the number parsing and
// line handling: ~1,700 instead of ~3,700 instructions per benchmark event; docs/benchmarks.md).
//
// Contract: decode_flat_object either DECODES the line, producing exactly the slots simdjson's path
// would (same kinds, same doubles, same string bytes), or DECLINES, writing nothing that
// matters: the caller then runs the simdjson path on the same line, which stays the authority
// for every error and every unusual input. It decodes only when the line is, byte for byte:
//   ws* '{' ws* ( member ( ws* ',' ws* member )* )? ws* '}'      (ws = space, tab, CR)
//   member = string ws* ':' ws* value
//   value  = string | number | true | false | null
// where every byte of the line is ASCII, strings contain no control characters, keys and
// extracted strings contain no backslash (a skipped string may contain escapes; like the
// simdjson path it does not check them), no extracted key occurs twice, and every number is in
// the subset converted exactly below. Anything else (nested values, non-ASCII bytes, escapes in
// extracted strings, long or huge numbers, syntax errors) declines.
//
// Numbers: the JSON number grammar; converted exactly when the significand has at most 19
// digits, is below 2^53, and the decimal exponent is within [-22, 22] (one IEEE multiplication
// or division of two exact doubles is correctly rounded, and so is simdjson's parse, so both give
// the same double). Other numbers decline.
//
// Where the line ends: decode_flat_object parses from the '{' and returns the byte after the
// matching '}'; the caller checks that only spaces, tabs and CRs follow up to the '\n' or the end
// of the payload. No scan crosses a '\n' (strings stop at control characters, spaces skipped are
// only ' ', '\t', '\r'), so the object lies within one line, the same line the simdjson path
// would cut at the first '\n'.
//
// Memory safety: every scan stops at the line's '\n' or at a zero byte, and reads at most 16 bytes
// beyond where it stops (the vector scan 15, a key's 16-byte load, the 8-digit number load). So the
// line must be followed either by at least 64 readable zero bytes (the decoder's padded buffer
// has SIMDJSON_PADDING of them) or by a '\n' at least 64 bytes before the end of the readable
// bytes (a borrowed payload: kpid_json.cpp checks this before it decodes a line in place).
#ifndef KPID_FLAT_LINE_H
#define KPID_FLAT_LINE_H

#include "kpid_json.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kpid_flat {

// The first byte at or after `s` that is '"', '\\', a control character (< 0x20, including the
// '\n' that ends a line and the zero padding) or not ASCII (>= 0x80).
inline const uint8_t *scan_string(const uint8_t *s) noexcept {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    for (;;) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s));
        // Signed compare: bytes >= 0x80 are negative, so "< 0x20" also catches non-ASCII.
        const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                         _mm_cmplt_epi8(v, space));
        const int mask = _mm_movemask_epi8(hit);
        if (mask != 0) { return s + __builtin_ctz(static_cast<unsigned>(mask)); }
        s += 16;
    }
#else
    for (;; ++s) {
        const uint8_t c = *s;
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) { return s; }
    }
#endif
}

inline const uint8_t *skip_space(const uint8_t *s) noexcept {
    // Usually there is none: one comparison then.
    while (*s <= ' ' && (*s == ' ' || *s == '\t' || *s == '\r')) { ++s; }
    return s;
}

inline bool is_digit(uint8_t c) noexcept { return c >= '0' && c <= '9'; }

// True when the 8 bytes at `s` are all ASCII digits.
inline bool eight_digits(const uint8_t *s, uint64_t *word) noexcept {
    uint64_t w;
    std::memcpy(&w, s, 8);
    *word = w;
    return ((w & 0xF0F0F0F0F0F0F0F0ULL) | (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
           0x3333333333333333ULL;
}

// The value of 8 ASCII digits loaded little-endian (first digit in the lowest byte).
inline uint64_t eight_digit_value(uint64_t w) noexcept {
    w -= 0x3030303030303030ULL;
    w = (w * 10) + (w >> 8); // pairs of digits
    return (((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
            (((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
}

// Parses a JSON number at `s`. Returns the byte after it, or nullptr to decline.
inline const uint8_t *parse_number(const uint8_t *s, double *out) noexcept {
    static const double kPow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const bool negative = *s == '-';
    if (negative) { ++s; }
    uint64_t mantissa = 0;
    int digits = 0;
    int exponent = 0;
    if (*s == '0') {
        ++s; // a leading zero stands alone ("01" is not JSON)
    } else if (*s >= '1' && *s <= '9') {
        uint64_t w;
        // Long integers such as epoch milliseconds: 8 digits at once (s[7] first: short numbers
        // then cost one comparison).
        if (is_digit(s[7]) && eight_digits(s, &w)) {
            mantissa = eight_digit_value(w);
            digits = 8;
            s += 8;
        }
        while (is_digit(*s)) {
            if (++digits > 19) { return nullptr; }
            mantissa = mantissa * 10 + static_cast<uint64_t>(*s - '0');
            ++s;
        }
    } else {
        return nullptr;
    }
    if (*s == '.') {
        ++s;
        if (!is_digit(*s)) { return nullptr; }
        while (is_digit(*s)) {
            if (mantissa != 0 || *s != '0') { ++digits; } // leading zeros of 0.00x are not significant
            if (digits > 19) { return nullptr; }
            mantissa = mantissa * 10 + static_cast<uint64_t>(*s - '0');
            --exponent;
            ++s;
        }
    }
    if (*s == 'e' || *s == 'E') {
        ++s;
        bool exp_negative = false;
        if (*s == '+' || *s == '-') { exp_negative = *s == '-'; ++s; }
        if (!is_digit(*s)) { return nullptr; }
        int e = 0;
        int exp_digits = 0;
        while (is_digit(*s)) {
            if (++exp_digits > 3) { return nullptr; }
            e = e * 10 + (*s - '0');
            ++s;
        }
        exponent += exp_negative ? -e : e;
    }
    if (mantissa > (uint64_t{1} << 53) || exponent < -22 || exponent > 22) { return nullptr; }
    double v = static_cast<double>(mantissa);
    v = exponent < 0 ? v / kPow10[-exponent] : v * kPow10[exponent];
    *out = negative ? -v : v;
    return s;
}

// Decodes the object starting at p[0] == '{' into `slots` (already zeroed), or declines.
// An object with more than `max_fields` members, or an extracted string longer than
// `max_field_bytes`, declines: the simdjson path reports those limits as errors.
// `lookup(key, length)` gives the slot of a key (its 16 bytes may be read) or -1; `claim(slot)`
// marks a slot filled in this object and returns false when it already was (a duplicate).
// Returns the byte after the closing '}', or nullptr to decline.
template <class Lookup, class Claim>
inline const uint8_t *decode_flat_object(const uint8_t *p, kpid_slot *slots, size_t max_fields,
                                         size_t max_field_bytes, Lookup &&lookup, Claim &&claim) noexcept {
    const uint8_t *s = p;
    size_t members = 0;
    if (*s != '{') { return nullptr; }
    s = skip_space(s + 1);
    if (*s != '}') {
        for (;;) {
            // Key.
            if (*s != '"' || ++members > max_fields) { return nullptr; }
            const uint8_t *key = s + 1;
            const uint8_t *q = scan_string(key);
            if (*q != '"') { return nullptr; }
            const int slot = lookup(reinterpret_cast<const char *>(key), static_cast<size_t>(q - key));
            s = q + 1;
            if (*s != ':') {
                s = skip_space(s);
                if (*s != ':') { return nullptr; }
            }
            s = skip_space(s + 1);
            if (slot >= 0 && !claim(slot)) { return nullptr; }
            // Value.
            const uint8_t c = *s;
            if (c == '"') {
                const uint8_t *v = s + 1;
                q = scan_string(v);
                while (*q == '\\' && slot < 0) {
                    // Skipped strings may hold escapes; only their extent matters.
                    const uint8_t e = q[1];
                    if (e < 0x20 || e >= 0x80) { return nullptr; }
                    q = scan_string(q + 2);
                }
                if (*q != '"') { return nullptr; }
                if (slot >= 0) {
                    // No escapes in an extracted string here: its bytes are its unescaped length.
                    if (static_cast<size_t>(q - v) > max_field_bytes) { return nullptr; }
                    slots[slot].kind = KPID_KIND_STRING;
                    slots[slot].string = v;
                    slots[slot].string_end = q;
                }
                s = q + 1;
            } else if (c == '-' || is_digit(c)) {
                double x;
                s = parse_number(s, &x);
                if (!s) { return nullptr; }
                if (slot >= 0) {
                    slots[slot].kind = KPID_KIND_NUMBER;
                    slots[slot].number = x;
                }
            } else if (c == 't' && std::memcmp(s, "true", 4) == 0) {
                if (slot >= 0) {
                    slots[slot].kind = KPID_KIND_BOOL;
                    slots[slot].number = 1.0;
                }
                s += 4;
            } else if (c == 'f' && std::memcmp(s, "false", 5) == 0) {
                if (slot >= 0) {
                    slots[slot].kind = KPID_KIND_BOOL;
                    slots[slot].number = 0.0;
                }
                s += 5;
            } else if (c == 'n' && std::memcmp(s, "null", 4) == 0) {
                if (slot >= 0) { slots[slot].kind = KPID_KIND_NULL; }
                s += 4;
            } else {
                return nullptr;
            }
            // After a value: ',' and the next member, or the closing brace.
            s = skip_space(s);
            if (*s == ',') {
                s = skip_space(s + 1);
                continue;
            }
            if (*s != '}') { return nullptr; }
            break;
        }
    }
    return s + 1;
}

} // namespace kpid_flat

#endif // KPID_FLAT_LINE_H
