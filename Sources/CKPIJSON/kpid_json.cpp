// kpid_json.cpp - simdjson on-demand bridge for kpid's event decoder. See include/kpid_json.h.
//
// Design notes
// - Fast path first: a line that is a plain flat object (see flat_line.h) is decoded by one scan,
//   without simdjson; any other line, and every error, goes through simdjson as below.
// - One simdjson document per NDJSON line: a JSON string cannot contain a raw newline, so splitting
//   on '\n' never cuts a valid document, and a bad line cannot poison the next one.
// - Only the configured keys are unescaped/parsed. Keys are matched on their raw bytes (length
//   bucket, then memcmp); only a key that contains a backslash is unescaped first.
// - Every field value's type is checked (objects/arrays -> nested error). Values of skipped fields
//   are validated cheaply: true/false/null literals and numbers are parsed, strings are not
//   unescaped (their bytes are UTF-8-validated by simdjson's stage 1, but escapes such as "\x" or
//   an unpaired "\ud800" inside a skipped string go unnoticed).
// - Error precedence inside one object: structural errors (malformed) win over nested/duplicate,
//   which are only reported once the rest of the line proved well-formed; number and string errors
//   of extracted fields stop the walk at once.
// - Only error_code APIs of simdjson are used; every entry point also catches C++ exceptions.

// simdjson guards its on-demand internals with assert(); in an optimized build of this bridge they
// only cost time (measured ~10% of next()), so compile them out here.
#if defined(__OPTIMIZE__) && !defined(NDEBUG)
#define NDEBUG 1
#endif

#include "kpid_json.h"
#include "flat_line.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SIMDJSON_PADDING;

namespace {

// Parser buffers are sized for this many bytes up front so that typical events never grow them.
constexpr size_t kInitialParserCapacity = 64 * 1024;
// Nested values are validated recursively up to this depth; deeper content is skipped by
// simdjson's bracket matching (the line is rejected as nested anyway).
constexpr int kMaxValidationDepth = 64;
// Largest multi-line (pretty-printed) single document the first-line fallback tries to parse.
constexpr size_t kMaxPrettyDocument = 1024 * 1024;
// After a borrowed load, the fast path reads a line in place only if its line break lies at least
// this many bytes before the end of the caller's bytes (its reads go at most 16 bytes past it).
constexpr size_t kBorrowedSlack = 64;

inline bool is_json_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// True when `token` (trailing whitespace allowed) is a number per the JSON grammar.
bool is_json_number_syntax(std::string_view token) {
    size_t n = token.size();
    while (n > 0 && is_json_space(static_cast<uint8_t>(token[n - 1]))) { --n; }
    const char *p = token.data();
    size_t i = 0;
    if (i < n && p[i] == '-') { ++i; }
    if (i >= n) { return false; }
    if (p[i] == '0') {
        ++i;
    } else if (p[i] >= '1' && p[i] <= '9') {
        while (i < n && is_digit(p[i])) { ++i; }
    } else {
        return false;
    }
    if (i < n && p[i] == '.') {
        ++i;
        if (i >= n || !is_digit(p[i])) { return false; }
        while (i < n && is_digit(p[i])) { ++i; }
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        ++i;
        if (i < n && (p[i] == '+' || p[i] == '-')) { ++i; }
        if (i >= n || !is_digit(p[i])) { return false; }
        while (i < n && is_digit(p[i])) { ++i; }
    }
    return i == n;
}

int hex4(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; ++i) {
        char c = p[i];
        int d;
        if (c >= '0' && c <= '9') { d = c - '0'; }
        else if (c >= 'a' && c <= 'f') { d = c - 'a' + 10; }
        else if (c >= 'A' && c <= 'F') { d = c - 'A' + 10; }
        else { return -1; }
        v = v * 16 + d;
    }
    return v;
}

// Explains a failed unescape. `p` points just after the opening quote of a string that stage 1
// proved closed. Returns INVALID_UTF8 when the only problem is an unpaired surrogate escape,
// otherwise MALFORMED (bad escape character or bad \u digits).
int classify_string_error(const char *p) {
    bool surrogate_problem = false;
    for (;;) {
        char c = *p;
        if (c == '"') { break; }
        if (c != '\\') { ++p; continue; }
        char e = p[1];
        switch (e) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            continue;
        case 'u': {
            int cp = hex4(p + 2);
            if (cp < 0) { return KPID_ERR_MALFORMED; }
            p += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (p[0] == '\\' && p[1] == 'u') {
                    int low = hex4(p + 2);
                    if (low < 0) { return KPID_ERR_MALFORMED; }
                    if (low >= 0xDC00 && low <= 0xDFFF) { p += 6; }
                    else { surrogate_problem = true; }
                } else {
                    surrogate_problem = true;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                surrogate_problem = true;
            }
            continue;
        }
        default:
            return KPID_ERR_MALFORMED;
        }
    }
    return surrogate_problem ? KPID_ERR_INVALID_UTF8 : KPID_ERR_MALFORMED;
}

int classify_number_error(std::string_view raw_token) {
    return is_json_number_syntax(raw_token) ? KPID_ERR_BAD_NUMBER : KPID_ERR_MALFORMED;
}

inline int map_iterate_error(error_code e) {
    switch (e) {
    case simdjson::UTF8_ERROR: return KPID_ERR_INVALID_UTF8;
    case simdjson::MEMALLOC: case simdjson::CAPACITY: return KPID_ERR_INTERNAL;
    default: return KPID_ERR_MALFORMED;
    }
}

inline bool at_document_end(ondemand::document &doc) {
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

// Validates a scalar that is not extracted (skipped field, or inside a nested value).
// Strings are not unescaped. Returns 0 when fine.
int check_scalar(ondemand::value &v, ondemand::json_type t, bool inside_nested, int32_t *detail) {
    switch (t) {
    case ondemand::json_type::number: {
        double x;
        error_code e = v.get_double().get(x);
        if (e) {
            int r = classify_number_error(v.raw_json_token());
            if (r == KPID_ERR_BAD_NUMBER && inside_nested) { return 0; }
            *detail = e;
            return r;
        }
        return 0;
    }
    case ondemand::json_type::boolean: {
        bool b;
        error_code e = v.get_bool().get(b);
        if (e) { *detail = e; return KPID_ERR_MALFORMED; }
        return 0;
    }
    case ondemand::json_type::null: {
        bool n;
        error_code e = v.is_null().get(n);
        if (e || !n) { *detail = e ? e : simdjson::INCORRECT_TYPE; return KPID_ERR_MALFORMED; }
        return 0;
    }
    default:
        return 0;
    }
}

int validate_value(ondemand::value v, int depth, int32_t *detail);

int validate_object(ondemand::object o, int depth, int32_t *detail) {
    for (auto fr : o) {
        ondemand::field f;
        error_code e = std::move(fr).get(f);
        if (e) { *detail = e; return KPID_ERR_MALFORMED; }
        int r = validate_value(f.value(), depth + 1, detail);
        if (r) { return r; }
    }
    return 0;
}

int validate_array(ondemand::array a, int depth, int32_t *detail) {
    for (auto er : a) {
        ondemand::value ev;
        error_code e = std::move(er).get(ev);
        if (e) { *detail = e; return KPID_ERR_MALFORMED; }
        int r = validate_value(ev, depth + 1, detail);
        if (r) { return r; }
    }
    return 0;
}

// Walks a value that is part of a rejected (nested / non-object) document to find out whether the
// document is at least well-formed. Returns 0 or MALFORMED.
int validate_value(ondemand::value v, int depth, int32_t *detail) {
    ondemand::json_type t;
    error_code e = v.type().get(t);
    if (e) { *detail = e; return KPID_ERR_MALFORMED; }
    switch (t) {
    case ondemand::json_type::object: {
        if (depth >= kMaxValidationDepth) { return 0; }
        ondemand::object o;
        e = v.get_object().get(o);
        if (e) { *detail = e; return KPID_ERR_MALFORMED; }
        return validate_object(o, depth, detail);
    }
    case ondemand::json_type::array: {
        if (depth >= kMaxValidationDepth) { return 0; }
        ondemand::array a;
        e = v.get_array().get(a);
        if (e) { *detail = e; return KPID_ERR_MALFORMED; }
        return validate_array(a, depth, detail);
    }
    case ondemand::json_type::string: {
        std::string_view s;
        e = v.get_string().get(s);
        if (e) {
            // An unpaired surrogate inside a nested value leaves the reason "nested".
            std::string_view raw = v.raw_json_token();
            if (classify_string_error(raw.data() + 1) == KPID_ERR_MALFORMED) {
                *detail = e;
                return KPID_ERR_MALFORMED;
            }
        }
        return 0;
    }
    default:
        return check_scalar(v, t, true, detail);
    }
}

} // namespace

struct kpid_decoder {
    ondemand::parser parser;
    size_t field_count = 0;
    // Per-event limits (kpid_decoder_set_limits).
    size_t max_fields = SIZE_MAX;
    size_t max_field_bytes = SIZE_MAX;

    // Field names, concatenated; slot i is names[name_offset[i] ..< name_offset[i] + name_length[i]].
    std::string names;
    std::vector<size_t> name_offset;
    std::vector<size_t> name_length;
    // Lookup entries bucketed by name length: entries[bucket_begin[len] ..< bucket_begin[len + 1]].
    // The first 16 bytes of a name are compared as two masked 64-bit words.
    struct entry {
        uint64_t word[2];
        uint64_t mask[2];
        const char *name;
        uint32_t slot;
    };
    size_t max_name_length = 0;
    std::vector<uint32_t> bucket_begin;
    std::vector<entry> entries;
    // (alias slot, primary slot) for names listed more than once.
    std::vector<std::pair<uint32_t, uint32_t>> aliases;

    // Duplicate detection: seen[slot] == generation when the slot was filled in this document.
    std::vector<uint32_t> seen;
    uint32_t generation = 0;

    // Loaded payload plus SIMDJSON_PADDING bytes.
    std::unique_ptr<uint8_t[]> buffer;
    size_t buffer_capacity = 0;
    size_t length = 0;
    size_t cursor = 0;
    bool before_first_document = true;
    // Where lines are read from: buffer.get(), or the caller's bytes after a borrowed load. In the
    // borrowed case, the fast path may read a line only when its line break lies at or before
    // `last_safe_break` (at least kBorrowedSlack bytes before the end, so its over-reads stay
    // inside the caller's bytes); `has_safe_break` is false when no line break lies there.
    const uint8_t *view = nullptr;
    bool borrowed = false;
    bool has_safe_break = false;
    size_t last_safe_break = 0;
    // Whether lines are tried on the flat fast path first (off only to test it against simdjson),
    // and how many lines it decoded (for tests).
    bool fast_path = true;
    size_t flat_lines = 0;

    // Slot of `key`, or -1. With `padded`, the 16 bytes at `key` may be read even when len < 16
    // (true for raw keys inside the padded payload buffer).
    int lookup(const char *key, size_t len, bool padded) const noexcept {
        if (len > max_name_length) { return -1; }
        uint32_t b = bucket_begin[len];
        const uint32_t e = bucket_begin[len + 1];
        if (b == e) { return -1; }
        uint64_t w[2] = {0, 0};
        std::memcpy(w, key, padded ? 16 : std::min<size_t>(len, 16));
        for (; b < e; ++b) {
            const entry &en = entries[b];
            if (((w[0] & en.mask[0]) ^ en.word[0]) | ((w[1] & en.mask[1]) ^ en.word[1])) { continue; }
            if (len <= 16 || std::memcmp(en.name + 16, key + 16, len - 16) == 0) { return static_cast<int>(en.slot); }
        }
        return -1;
    }

    void next_generation() noexcept {
        if (++generation == 0) {
            std::fill(seen.begin(), seen.end(), 0u);
            generation = 1;
        }
    }

    error_code ensure_parser_capacity(size_t len) noexcept {
        size_t cap = parser.capacity();
        if (len <= cap) { return simdjson::SUCCESS; }
        if (len > parser.max_capacity()) { return simdjson::CAPACITY; }
        size_t want = std::max({len, cap * 2, kInitialParserCapacity});
        want = std::min(want, parser.max_capacity());
        return parser.allocate(want);
    }

    int decode_document(const uint8_t *p, size_t len, size_t allocated, kpid_slot *slots, int32_t *detail);

    // Makes the buffer hold at least `needed` bytes (contents not kept). False when out of memory.
    bool reserve(size_t needed) noexcept {
        if (needed <= buffer_capacity) { return true; }
        size_t grown = std::max(needed, buffer_capacity + buffer_capacity / 2);
        std::unique_ptr<uint8_t[]> fresh(new (std::nothrow) uint8_t[grown]);
        if (!fresh) {
            fresh.reset(new (std::nothrow) uint8_t[needed]);
            if (!fresh) { return false; }
            grown = needed;
        }
        buffer = std::move(fresh);
        buffer_capacity = grown;
        return true;
    }

    // Empties the decoder and reserves a padded buffer for a `length`-byte payload. False when
    // out of memory (the decoder then stays empty).
    bool rewind(size_t length_to_load) noexcept {
        length = 0;
        cursor = 0;
        before_first_document = true;
        borrowed = false;
        view = buffer.get();
        if (length_to_load > SIZE_MAX - SIMDJSON_PADDING || !reserve(length_to_load + SIMDJSON_PADDING)) { return false; }
        view = buffer.get();
        return true;
    }

    // After a borrowed load: copies the rest of the payload (from `cursor`) to the same offsets of
    // the padded buffer and reads from there on (the buffer was reserved by the load).
    void materialize() noexcept {
        if (length > cursor) { std::memcpy(buffer.get() + cursor, view + cursor, length - cursor); }
        std::memset(buffer.get() + length, 0, SIMDJSON_PADDING);
        view = buffer.get();
        borrowed = false;
    }

    // The flat fast path (flat_line.h) for the line starting at `cursor`: when the line is one plain
    // flat object, decodes it into `slots` (aliases included), fills `info` and moves the cursor
    // past the line; otherwise changes nothing that matters (the slots are zeroed again by
    // whichever path decodes next) and returns false.
    bool decode_flat_line(kpid_slot *slots, kpid_doc_info *info) noexcept {
        const uint8_t *const base = view;
        const uint8_t *const payload_end = base + length;
        const uint8_t *p = base + cursor;
        while (p < payload_end && (*p == ' ' || *p == '\t' || *p == '\r')) { ++p; }
        if (p == payload_end || *p != '{') { return false; }
        if (field_count > 0) { std::memset(slots, 0, field_count * sizeof(kpid_slot)); }
        next_generation();
        const uint8_t *after = kpid_flat::decode_flat_object(
            p, slots, max_fields, max_field_bytes,
            [this](const char *key, size_t n) { return lookup(key, n, true); },
            [this](int slot) {
                uint32_t &mark = seen[static_cast<size_t>(slot)];
                if (mark == generation) { return false; }
                mark = generation;
                return true;
            });
        if (!after) { return false; }
        // Only spaces, tabs and CRs may follow, up to the line break or the end of the payload.
        const uint8_t *q = after;
        while (q < payload_end && (*q == ' ' || *q == '\t' || *q == '\r')) { ++q; }
        if (q < payload_end && *q != '\n') { return false; }
        if (static_cast<size_t>(after - p) > parser.max_capacity()) { return false; }
        for (const auto &alias : aliases) { slots[alias.first] = slots[alias.second]; }
        info->offset = static_cast<size_t>(p - base);
        info->length = static_cast<size_t>(after - p);
        info->line = p;
        cursor = q < payload_end ? static_cast<size_t>(q - base) + 1 : length;
        before_first_document = false;
        ++flat_lines;
        return true;
    }
    int classify_non_object(ondemand::document &doc, ondemand::json_type t, int32_t *detail);
};

int kpid_decoder::classify_non_object(ondemand::document &doc, ondemand::json_type t, int32_t *detail) {
    error_code e = simdjson::SUCCESS;
    switch (t) {
    case ondemand::json_type::array: {
        ondemand::array a;
        e = doc.get_array().get(a);
        if (e) { *detail = e; return KPID_ERR_MALFORMED; }
        int r = validate_array(a, 1, detail);
        if (r) { return r; }
        break;
    }
    case ondemand::json_type::string: {
        std::string_view s;
        e = doc.get_string().get(s);
        if (e) {
            std::string_view raw;
            if (doc.raw_json_token().get(raw) || raw.empty() ||
                classify_string_error(raw.data() + 1) == KPID_ERR_MALFORMED) {
                *detail = e;
                return KPID_ERR_MALFORMED;
            }
            return KPID_ERR_NOT_OBJECT;
        }
        break;
    }
    case ondemand::json_type::number: {
        double x;
        e = doc.get_double().get(x);
        if (e) {
            std::string_view raw;
            if (doc.raw_json_token().get(raw) || !is_json_number_syntax(raw)) {
                *detail = e;
                return KPID_ERR_MALFORMED;
            }
            return KPID_ERR_NOT_OBJECT;
        }
        break;
    }
    case ondemand::json_type::boolean: {
        bool b;
        e = doc.get_bool().get(b);
        if (e) { *detail = e; return KPID_ERR_MALFORMED; }
        break;
    }
    case ondemand::json_type::null: {
        bool n;
        e = doc.is_null().get(n);
        if (e || !n) { *detail = e ? e : simdjson::INCORRECT_TYPE; return KPID_ERR_MALFORMED; }
        break;
    }
    default:
        *detail = simdjson::INCORRECT_TYPE;
        return KPID_ERR_MALFORMED;
    }
    if (!at_document_end(doc)) {
        *detail = simdjson::TRAILING_CONTENT;
        return KPID_ERR_MALFORMED;
    }
    return KPID_ERR_NOT_OBJECT;
}

int kpid_decoder::decode_document(const uint8_t *p, size_t len, size_t allocated, kpid_slot *slots, int32_t *detail) {
    if (field_count > 0) { std::memset(slots, 0, field_count * sizeof(kpid_slot)); }

    error_code e = ensure_parser_capacity(len);
    if (e) { *detail = e; return KPID_ERR_INTERNAL; }

    ondemand::document doc;
    e = parser.iterate(p, len, allocated).get(doc);
    if (e) { *detail = e; return map_iterate_error(e); }

    ondemand::json_type t;
    e = doc.type().get(t);
    if (e) { *detail = e; return KPID_ERR_MALFORMED; }
    if (t != ondemand::json_type::object) { return classify_non_object(doc, t, detail); }

    ondemand::object obj;
    e = doc.get_object().get(obj);
    if (e) { *detail = e; return KPID_ERR_MALFORMED; }

    next_generation();
    int pending = 0; // nested/duplicate, reported only if the rest is well-formed
    size_t fields_seen = 0;

    for (auto fr : obj) {
        ondemand::field field;
        e = std::move(fr).get(field);
        if (e) { *detail = e; return KPID_ERR_MALFORMED; }
        if (++fields_seen > max_fields) { return KPID_ERR_TOO_MANY_FIELDS; }

        // Raw key: stage 1 proved the key string closed, so this scan stops inside the document.
        const char *key = field.key().raw();
        const char *q = key;
        while (*q != '"' && *q != '\\') { ++q; }
        int slot;
        if (*q == '"') {
            slot = lookup(key, static_cast<size_t>(q - key), true);
        } else {
            std::string_view unescaped;
            e = field.unescaped_key().get(unescaped);
            if (e) { *detail = e; return classify_string_error(key); }
            slot = lookup(unescaped.data(), unescaped.size(), false);
        }

        ondemand::value &v = field.value();
        ondemand::json_type vt;
        e = v.type().get(vt);
        if (e) { *detail = e; return KPID_ERR_MALFORMED; }

        if (vt == ondemand::json_type::object || vt == ondemand::json_type::array) {
            if (!pending) { pending = KPID_ERR_NESTED; }
            int r = validate_value(v, 1, detail);
            if (r) { return r; }
            continue;
        }

        if (slot < 0 || pending || seen[static_cast<size_t>(slot)] == generation) {
            if (slot >= 0 && !pending) { pending = KPID_ERR_DUPLICATE_KEY; }
            int r = check_scalar(v, vt, false, detail);
            if (r) { return r; }
            continue;
        }
        seen[static_cast<size_t>(slot)] = generation;

        kpid_slot &out = slots[slot];
        switch (vt) {
        case ondemand::json_type::number: {
            double x;
            e = v.get_double().get(x);
            if (e) { *detail = e; return classify_number_error(v.raw_json_token()); }
            out.kind = KPID_KIND_NUMBER;
            out.number = x;
            break;
        }
        case ondemand::json_type::string: {
            std::string_view s;
            e = v.get_string().get(s);
            if (e) { *detail = e; return classify_string_error(v.raw_json_token().data() + 1); }
            if (s.size() > max_field_bytes) { return KPID_ERR_FIELD_TOO_LONG; }
            out.kind = KPID_KIND_STRING;
            out.string = reinterpret_cast<const uint8_t *>(s.data());
            out.string_end = reinterpret_cast<const uint8_t *>(s.data()) + s.size();
            break;
        }
        case ondemand::json_type::boolean: {
            bool b;
            e = v.get_bool().get(b);
            if (e) { *detail = e; return KPID_ERR_MALFORMED; }
            out.kind = KPID_KIND_BOOL;
            out.number = b ? 1.0 : 0.0;
            break;
        }
        case ondemand::json_type::null: {
            bool n;
            e = v.is_null().get(n);
            if (e || !n) { *detail = e ? e : simdjson::INCORRECT_TYPE; return KPID_ERR_MALFORMED; }
            out.kind = KPID_KIND_NULL;
            break;
        }
        default:
            *detail = simdjson::INCORRECT_TYPE;
            return KPID_ERR_MALFORMED;
        }
    }

    if (!at_document_end(doc)) {
        *detail = simdjson::TRAILING_CONTENT;
        return KPID_ERR_MALFORMED;
    }
    if (pending) { return pending; }
    for (const auto &alias : aliases) { slots[alias.first] = slots[alias.second]; }
    return KPID_EVENT;
}

extern "C" {

kpid_decoder *kpid_decoder_new(const char *const *field_names, const size_t *name_lengths, size_t field_count) {
    try {
        std::unique_ptr<kpid_decoder> d(new kpid_decoder());
        d->field_count = field_count;
        d->name_offset.resize(field_count);
        d->name_length.resize(field_count);
        d->seen.assign(field_count, 0u);
        for (size_t i = 0; i < field_count; ++i) {
            size_t n = name_lengths[i];
            d->name_offset[i] = d->names.size();
            d->name_length[i] = n;
            if (n > 0) { d->names.append(field_names[i], n); }
            d->max_name_length = std::max(d->max_name_length, n);
        }
        // Bucket the first occurrence of every name by length; later occurrences become aliases.
        std::vector<uint32_t> counts(d->max_name_length + 2, 0u);
        std::vector<bool> is_alias(field_count, false);
        for (size_t i = 0; i < field_count; ++i) {
            std::string_view ni(d->names.data() + d->name_offset[i], d->name_length[i]);
            for (size_t j = 0; j < i; ++j) {
                if (is_alias[j]) { continue; }
                std::string_view nj(d->names.data() + d->name_offset[j], d->name_length[j]);
                if (ni == nj) {
                    is_alias[i] = true;
                    d->aliases.emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(j));
                    break;
                }
            }
            if (!is_alias[i]) { counts[d->name_length[i]] += 1; }
        }
        d->bucket_begin.assign(d->max_name_length + 2, 0u);
        for (size_t len = 0; len <= d->max_name_length; ++len) {
            d->bucket_begin[len + 1] = d->bucket_begin[len] + counts[len];
        }
        d->entries.resize(d->bucket_begin[d->max_name_length + 1]);
        std::vector<uint32_t> fill(d->bucket_begin.begin(), d->bucket_begin.end() - 1);
        for (size_t i = 0; i < field_count; ++i) {
            if (is_alias[i]) { continue; }
            size_t n = d->name_length[i];
            kpid_decoder::entry &en = d->entries[fill[n]++];
            const char *name = d->names.data() + d->name_offset[i];
            size_t head = std::min<size_t>(n, 16);
            unsigned char ones[16];
            std::memset(ones, 0, sizeof ones);
            std::memset(ones, 0xFF, head);
            std::memset(en.word, 0, sizeof en.word);
            std::memcpy(en.word, name, head);
            std::memcpy(en.mask, ones, sizeof en.mask);
            en.name = name;
            en.slot = static_cast<uint32_t>(i);
        }
        if (d->parser.allocate(kInitialParserCapacity) != simdjson::SUCCESS) { return nullptr; }
        return d.release();
    } catch (...) {
        return nullptr;
    }
}

void kpid_decoder_set_limits(kpid_decoder *decoder, size_t max_fields, size_t max_field_bytes) {
    if (!decoder) { return; }
    decoder->max_fields = max_fields;
    decoder->max_field_bytes = max_field_bytes;
}

void kpid_decoder_free(kpid_decoder *decoder) {
    delete decoder;
}

size_t kpid_decoder_field_count(const kpid_decoder *decoder) {
    return decoder ? decoder->field_count : 0;
}

int kpid_decoder_load(kpid_decoder *d, const void *bytes, size_t length) {
    if (!d || !d->rewind(length)) { return KPID_ERR_INTERNAL; }
    if (length > 0) { std::memcpy(d->buffer.get(), bytes, length); }
    std::memset(d->buffer.get() + length, 0, SIMDJSON_PADDING);
    d->view = d->buffer.get();
    d->length = length;
    if (length >= 3 && d->view[0] == 0xEF && d->view[1] == 0xBB && d->view[2] == 0xBF) { d->cursor = 3; }
    return KPID_OK;
}

int kpid_decoder_load_borrowed(kpid_decoder *d, const void *bytes, size_t length) {
    // The buffer is reserved now so that materialize() cannot fail later.
    if (!d || !d->rewind(length)) { return KPID_ERR_INTERNAL; }
    const uint8_t *b = static_cast<const uint8_t *>(bytes);
    d->view = b;
    d->borrowed = true;
    d->length = length;
    d->has_safe_break = false;
    if (length > kBorrowedSlack) {
        for (size_t i = length - kBorrowedSlack; i-- > 0;) {
            if (b[i] == '\n') {
                d->has_safe_break = true;
                d->last_safe_break = i;
                break;
            }
        }
    }
    if (length >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) { d->cursor = 3; }
    return KPID_OK;
}

const uint8_t *kpid_decoder_payload(const kpid_decoder *d) {
    return d ? d->view : nullptr;
}

const uint8_t *kpid_decoder_buffer(const kpid_decoder *d, size_t *capacity) {
    if (capacity) { *capacity = d ? d->buffer_capacity : 0; }
    return d ? d->buffer.get() : nullptr;
}

int kpid_decoder_next(kpid_decoder *d, kpid_slot *slots_out, kpid_doc_info *info) {
    kpid_doc_info scratch;
    if (!info) { info = &scratch; }
    info->detail = 0;
    info->line = nullptr;
    if (!d) {
        info->offset = 0;
        info->length = 0;
        return KPID_ERR_INTERNAL;
    }
    try {
        for (;;) {
            if (d->cursor >= d->length) {
                d->cursor = d->length;
                info->offset = d->length;
                info->length = 0;
                return KPID_END;
            }
            if (d->fast_path) {
                // In place only where the over-reads stay inside the caller's bytes; the last
                // lines of a borrowed payload are copied first (a few hundred bytes).
                if (d->borrowed && !(d->has_safe_break && d->cursor <= d->last_safe_break)) { d->materialize(); }
                if (d->decode_flat_line(slots_out, info)) { return KPID_EVENT; }
            }
            if (d->borrowed) { d->materialize(); }
            const uint8_t *base = d->view;
            size_t start = d->cursor;
            const void *nl = std::memchr(base + start, '\n', d->length - start);
            size_t end = nl ? static_cast<size_t>(static_cast<const uint8_t *>(nl) - base) : d->length;
            d->cursor = nl ? end + 1 : d->length;
            while (start < end && is_json_space(base[start])) { ++start; }
            while (end > start && is_json_space(base[end - 1])) { --end; }
            if (start == end) { continue; }

            info->offset = start;
            info->length = end - start;
            info->line = base + start;
            int32_t detail = 0;
            int rc = d->decode_document(base + start, end - start, d->buffer_capacity - start, slots_out, &detail);
            info->detail = detail;

            bool first = d->before_first_document;
            d->before_first_document = false;
            const uint8_t last = base[end - 1];
            if (rc == KPID_ERR_MALFORMED && first && d->cursor < d->length &&
                (last == '{' || last == '[' || last == ',' || last == ':')) {
                // Maybe one pretty-printed document spanning the rest of the payload. Tried only
                // when the first line ends where a continuation is expected, and only up to
                // kMaxPrettyDocument (or the parser's current capacity) so that a broken first
                // line of a huge NDJSON batch cannot balloon the parser's buffers.
                size_t rest_end = d->length;
                while (rest_end > start && is_json_space(base[rest_end - 1])) { --rest_end; }
                if (rest_end > end && rest_end - start <= std::max(kMaxPrettyDocument, d->parser.capacity())) {
                    int32_t whole_detail = 0;
                    int whole = d->decode_document(base + start, rest_end - start, d->buffer_capacity - start,
                                                   slots_out, &whole_detail);
                    // Accept only outcomes that imply the whole rest is one well-formed document.
                    if (whole == KPID_EVENT || whole == KPID_ERR_NOT_OBJECT || whole == KPID_ERR_NESTED ||
                        whole == KPID_ERR_DUPLICATE_KEY) {
                        d->cursor = d->length;
                        info->length = rest_end - start;
                        info->detail = whole_detail;
                        return whole;
                    }
                }
            }
            return rc;
        }
    } catch (...) {
        info->detail = 0;
        return KPID_ERR_INTERNAL;
    }
}

void kpid_decoder_set_fast_path(kpid_decoder *d, int enabled) {
    if (d) { d->fast_path = enabled != 0; }
}

size_t kpid_decoder_flat_line_count(const kpid_decoder *d) {
    return d ? d->flat_lines : 0;
}

const char *kpid_result_name(int code) {
    switch (code) {
    case KPID_EVENT: return "event";
    case KPID_END: return "end";
    case KPID_ERR_MALFORMED: return "malformed_json";
    case KPID_ERR_NOT_OBJECT: return "not_object";
    case KPID_ERR_NESTED: return "nested_value";
    case KPID_ERR_BAD_NUMBER: return "bad_number";
    case KPID_ERR_INVALID_UTF8: return "invalid_utf8";
    case KPID_ERR_DUPLICATE_KEY: return "duplicate_key";
    case KPID_ERR_INTERNAL: return "internal_error";
    case KPID_ERR_TOO_MANY_FIELDS: return "too_many_fields";
    case KPID_ERR_FIELD_TOO_LONG: return "field_too_long";
    default: return "unknown";
    }
}

} // extern "C"
