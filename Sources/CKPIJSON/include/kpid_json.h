/*
 * kpid_json.h - plain C API over simdjson's on-demand parser, built for kpid's event decoder.
 *
 * A decoder is configured once with the list of field names it extracts ("slots"). It then
 * decodes payloads that are either one JSON object or NDJSON (one object per line; "\r\n",
 * blank lines and surrounding whitespace are tolerated). Every line is parsed as its own
 * document, so a bad line is reported and the following lines still decode. Lines that are plain
 * flat objects are decoded by a single scan without simdjson (same results, fewer instructions);
 * every other line, and every error, is decided by simdjson.
 *
 * Memory: kpid_decoder_new allocates the decoder, the parser and its buffers. kpid_decoder_load
 * copies the payload into a reusable padded buffer that only grows when a payload is larger
 * than every previous one (kpid_decoder_load_borrowed reads the caller's bytes in place and
 * copies only what simdjson must see); the parser's buffers likewise grow (geometrically) only
 * when a document is larger than any before. kpid_decoder_next allocates nothing otherwise.
 *
 * Threading: a decoder is single-threaded state; use one per thread.
 *
 * The header is plain C (no C++ interop needed on the Swift side).
 */
#ifndef KPID_JSON_H
#define KPID_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque decoder. */
typedef struct kpid_decoder kpid_decoder;

/* Slot kinds. The values equal the raw values of Swift's FieldValue.Kind. */
#define KPID_KIND_ABSENT 0
#define KPID_KIND_NULL 1
#define KPID_KIND_BOOL 2
#define KPID_KIND_NUMBER 3
#define KPID_KIND_STRING 4

/* Return codes of kpid_decoder_next (and kpid_decoder_load, which returns KPID_OK or KPID_ERR_INTERNAL). */
#define KPID_OK 0
#define KPID_END 0                /* no more documents in the loaded payload */
#define KPID_EVENT 1              /* slots_out and info describe one decoded event */
#define KPID_ERR_MALFORMED (-1)   /* invalid JSON: syntax, truncation, NaN/Infinity literals, trailing content */
#define KPID_ERR_NOT_OBJECT (-2)  /* valid JSON whose root is not an object */
#define KPID_ERR_NESTED (-3)      /* a field value (extracted or skipped) is an object or array */
#define KPID_ERR_BAD_NUMBER (-4)  /* a syntactically valid number outside the double range (1e400) */
#define KPID_ERR_INVALID_UTF8 (-5)/* invalid UTF-8 bytes, or an unpaired surrogate escape in an extracted string/key */
#define KPID_ERR_DUPLICATE_KEY (-6) /* an extracted key occurs twice in one object */
#define KPID_ERR_INTERNAL (-7)    /* out of memory, document too large (>4 GiB), or an unexpected exception */
#define KPID_ERR_TOO_MANY_FIELDS (-8) /* the object has more fields than the decoder's max_fields */
#define KPID_ERR_FIELD_TOO_LONG (-9)  /* an extracted string is longer (unescaped) than max_field_bytes */

/* One extracted field. `string`/`string_end` are set only for KPID_KIND_STRING (the bytes are
 * string[0 ..< string_end - string]); `number` is the value for KPID_KIND_NUMBER and 1/0 for
 * KPID_KIND_BOOL. An absent field is all zeros. The layout (kind, number, start, end) is the one
 * of Swift's FieldValue, so that the Swift side can read the slots in place when it verifies at
 * run time that the layouts agree. */
typedef struct kpid_slot {
    uint8_t kind;              /* KPID_KIND_* */
    double number;
    const uint8_t *string;     /* unescaped UTF-8, NOT NUL-terminated; valid until the next load/next/free */
    const uint8_t *string_end;
} kpid_slot;

/* Where the current document sits in the loaded payload (bytes are available through
 * kpid_decoder_payload). Filled for events and errors; for KPID_END offset = payload length,
 * length = 0. */
typedef struct kpid_doc_info {
    size_t offset;        /* byte offset of the document (leading/trailing whitespace trimmed) */
    size_t length;        /* byte length of the document */
    const uint8_t *line;  /* the document's first byte (NULL for KPID_END); valid like slot strings */
    int32_t detail;       /* simdjson error code behind an error (0 when none), for diagnostics */
} kpid_doc_info;

/* Creates a decoder that extracts `field_count` fields; slot i receives the value of the key
 * equal (after unescaping) to the UTF-8 bytes field_names[i][0..<name_lengths[i]]. Names need not
 * be NUL-terminated and are copied. If a name is listed twice, both slots receive the value.
 * Returns NULL when out of memory. */
kpid_decoder *kpid_decoder_new(const char *const *field_names, const size_t *name_lengths, size_t field_count);

/* Sets the per-event limits (both default to SIZE_MAX, i.e. unlimited): an object with more than
 * `max_fields` fields (extracted or not, counted as they are walked; the walk stops at the first
 * field over the limit) is KPID_ERR_TOO_MANY_FIELDS; an extracted string longer than
 * `max_field_bytes` after unescaping is KPID_ERR_FIELD_TOO_LONG. Skipped strings are not measured
 * (they are never copied). Costs one compare per field / per extracted string. */
void kpid_decoder_set_limits(kpid_decoder *decoder, size_t max_fields, size_t max_field_bytes);

/* Frees the decoder (NULL is fine). */
void kpid_decoder_free(kpid_decoder *decoder);

/* Number of slots (the field_count given at creation). */
size_t kpid_decoder_field_count(const kpid_decoder *decoder);

/* Copies `length` bytes into the decoder's padded buffer and rewinds to the first document.
 * Invalidates strings and the payload pointer from earlier calls. A leading UTF-8 byte order mark
 * is skipped. Returns KPID_OK, or KPID_ERR_INTERNAL when the buffer cannot grow (the decoder is
 * then empty: next returns KPID_END). */
int kpid_decoder_load(kpid_decoder *decoder, const void *bytes, size_t length);

/* Like kpid_decoder_load, but without copying: the decoder reads `bytes` in place, so they must
 * stay valid and unchanged until the next load or free, and slot strings and info->line may point
 * into them. Lines are decoded in place on the fast path; the first line that needs simdjson
 * (which reads past the end of a document) makes the decoder copy the rest of the payload into its
 * padded buffer, as kpid_decoder_load does for all of it. Same results as kpid_decoder_load. */
int kpid_decoder_load_borrowed(kpid_decoder *decoder, const void *bytes, size_t length);

/* Start of the bytes lines are currently read from (the caller's bytes after a borrowed load until
 * the decoder copies, else its own copy); NULL before any load. Offsets in kpid_doc_info are
 * relative to either. */
const uint8_t *kpid_decoder_payload(const kpid_decoder *decoder);

/* The decoder's own padded buffer and its capacity in bytes (NULL and 0 before any load). A string
 * slot that points into the caller's bytes of a borrowed load, or into this buffer, stays valid
 * until the next load or free (not only until the next call to next): flat lines are decoded in
 * place there. Strings that simdjson unescaped live in the parser and change with every next. */
const uint8_t *kpid_decoder_buffer(const kpid_decoder *decoder, size_t *capacity);

/* Decodes the next non-blank line. Returns KPID_EVENT (slots_out[0..<field_count] filled; string
 * pointers valid until the next call to load/next/free), KPID_END, or a KPID_ERR_* code (slots_out
 * contents unspecified). `info` (may be NULL) receives the document's byte range in all cases.
 * After an error the next call continues with the following line.
 *
 * Special case (pretty-printed single objects): when the FIRST non-blank line of a payload is
 * malformed on its own and ends with '{', '[', ',' or ':', and the whole rest of the payload (at
 * most 1 MiB, or the parser's current capacity if larger) is one well-formed JSON document, that
 * document is decoded instead (event, or not_object/nested/duplicate) and consumes the payload.
 * Otherwise the line's own error stands and decoding continues line by line. */
int kpid_decoder_next(kpid_decoder *decoder, kpid_slot *slots_out, kpid_doc_info *info);

/* Turns the flat-line fast path on (the default) or off. Results are identical either way; off,
 * every line goes through simdjson. Meant for tests that compare the two paths. */
void kpid_decoder_set_fast_path(kpid_decoder *decoder, int enabled);

/* Lines decoded by the fast path since the decoder was created (for tests). */
size_t kpid_decoder_flat_line_count(const kpid_decoder *decoder);

/* A static, human-readable name for a return code ("event", "malformed_json", ...). */
const char *kpid_result_name(int code);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KPID_JSON_H */
