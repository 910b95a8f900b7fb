import CKPIJSON
import KPICore

/// Why a document of a payload was rejected.
public enum DecodeError: String, Sendable, CaseIterable {
    /// Not valid JSON: bad syntax, truncated, `NaN`/`Infinity` literals, trailing content after the
    /// object, an invalid escape such as `"\x"` in an extracted string. Also used for the rare
    /// internal failures of the decoder (out of memory, a single document over 4 GiB).
    case malformedJSON = "malformed_json"
    /// Valid JSON whose root is not an object, e.g. `[1,2]` or `"str"`.
    case notObject = "not_object"
    /// A field value (extracted or not) is an object or an array; events are flat.
    case nestedValue = "nested_value"
    /// A syntactically valid number outside the range of `Double`, e.g. `1e400`.
    case badNumber = "bad_number"
    /// The document contains bytes that are not valid UTF-8 (checked for the whole line), or an
    /// extracted string or key contains an unpaired surrogate escape such as `"\ud800"`.
    case invalidUTF8 = "invalid_utf8"
    /// An extracted key occurs more than once in the same object.
    case duplicateKey = "duplicate_key"
    /// The object has more fields than ``EventDecoder/Limits/maxFields`` (extracted or not).
    case tooManyFields = "too_many_fields"
    /// An extracted string is longer than ``EventDecoder/Limits/maxFieldBytes`` once unescaped.
    case fieldTooLong = "field_too_long"
}

/// The outcome of one ``EventDecoder/next()`` call.
public enum DecodeStep: Sendable, Equatable {
    /// An event was decoded; read it through ``EventDecoder/slots`` or ``EventDecoder/slot(_:)``.
    case event
    /// The loaded payload holds no further documents.
    case end
    /// The current document was rejected; ``EventDecoder/currentLine`` holds its bytes. The next
    /// call continues with the following line.
    case error(DecodeError)
}

/// Decodes JSON events (one object, or NDJSON) into preallocated ``FieldValue`` slots, extracting
/// only the fields it was created for. Backed by simdjson's on-demand parser (`CKPIJSON`).
///
/// Usage:
/// ```swift
/// let decoder = EventDecoder(fields: ["ts", "service", "latency_ms"])
/// payload.withUnsafeBytes { decoder.load($0) }
/// while true {
///     switch decoder.next() {
///     case .event: use(decoder.slot(0), decoder.slot(1), decoder.slot(2))
///     case .error(let reason): reject(reason, sample: decoder.currentLine)
///     case .end: return
///     }
/// }
/// ```
///
/// Format: the payload is either one JSON object or NDJSON: objects separated by `"\n"`; `"\r\n"`,
/// blank lines, surrounding whitespace and a leading UTF-8 byte order mark are tolerated. Each line
/// is parsed as its own document, so a bad line is reported once and the lines after it still
/// decode. A line that is a plain flat object (ASCII, no nested values, no escapes in extracted
/// strings or keys, short numbers) is decoded by a single scan in the C++ bridge; every other
/// line, and every error, is decided by simdjson, with the same results either way. A single object pretty-printed over several lines (up to 1 MiB) is recognised too: when
/// the first line alone is malformed and ends with `{`, `[`, `,` or `:`, the rest of the payload is
/// tried as one document.
///
/// Values: strings are unescaped UTF-8; numbers are `Double` (integers are exact up to 2^53, larger
/// integers are rounded); booleans have `number` 1/0. Keys that are not extracted are neither
/// unescaped nor matched beyond a length check, but every value's type is checked (objects/arrays
/// reject the event) and skipped numbers and literals are validated; escapes inside skipped strings
/// are not checked.
///
/// Costs: `init` allocates the decoder, its slot buffers and about 0.5 MiB of parser buffers.
/// ``load(_:)`` copies the payload (one memcpy), ``load(borrowing:)`` reads it in place; both
/// allocate only when the payload is larger than any before. ``next()`` allocates nothing unless
/// a document is larger than every previous one (and larger than 64 KiB), in which case the
/// parser buffers grow geometrically.
///
/// Not thread-safe: use one decoder per task/thread. The class is deliberately not `Sendable`.
public final class EventDecoder: PayloadDocuments {
    /// The extracted field names; slot `i` holds `fields[i]`.
    public let fields: [String]

    private let handle: OpaquePointer
    /// Where the C decoder writes the slots. When ``slotsShareLayout``, this is the memory of
    /// `fieldSlots` itself (read in place, no conversion); otherwise a separate buffer converted
    /// after every event.
    private let cSlots: UnsafeMutablePointer<kpid_slot>
    private let fieldSlots: UnsafeMutablePointer<FieldValue>
    private let sharedSlots: Bool
    private let count: Int
    // A pointer rather than a stored struct: passing a class property inout would cost a dynamic
    // exclusivity check on every call.
    private let info: UnsafeMutablePointer<kpid_doc_info>

    /// Per-event bounds checked while decoding, each costing one integer compare (per field, per
    /// extracted string). The defaults are unlimited; the daemon passes `[limits]`.
    public struct Limits: Sendable, Equatable {
        /// Most fields one object may have, extracted or not (``DecodeError/tooManyFields``).
        public var maxFields: Int
        /// Longest extracted string value in bytes after unescaping (``DecodeError/fieldTooLong``).
        /// Values of fields the decoder does not extract are never copied and not measured.
        public var maxFieldBytes: Int
        public init(maxFields: Int = .max, maxFieldBytes: Int = .max) {
            self.maxFields = maxFields
            self.maxFieldBytes = maxFieldBytes
        }
    }

    /// The limits this decoder enforces.
    public let limits: Limits

    /// Creates a decoder extracting `fields` (slot `i` = `fields[i]`, matched against the unescaped
    /// key bytes) within `limits`. A name listed twice fills both slots. Allocates once, here.
    public convenience init(fields: [String], limits: Limits = Limits()) {
        self.init(fields: fields, limits: limits, flatFastPath: true)
    }

    /// As ``init(fields:limits:)``; with `flatFastPath` false every line goes through simdjson
    /// (the results are the same: tests use it to check the fast path against simdjson).
    init(fields: [String], limits: Limits = Limits(), flatFastPath: Bool) {
        self.limits = limits
        self.fields = fields
        count = fields.count
        var blob: [UInt8] = []
        var lengths: [Int] = []
        var offsets: [Int] = []
        for name in fields {
            offsets.append(blob.count)
            blob.append(contentsOf: name.utf8)
            lengths.append(name.utf8.count)
        }
        blob.append(0) // never empty, so baseAddress is non-nil
        let created: OpaquePointer? = blob.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
            let pointers: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            return pointers.withUnsafeBufferPointer { names in
                lengths.withUnsafeBufferPointer { lens in
                    kpid_decoder_new(names.baseAddress, lens.baseAddress, fields.count)
                }
            }
        }
        guard let created else { fatalError("EventDecoder: out of memory creating the decoder") }
        handle = created
        kpid_decoder_set_limits(created, max(0, limits.maxFields), max(0, limits.maxFieldBytes))
        kpid_decoder_set_fast_path(created, flatFastPath ? 1 : 0)
        fieldSlots = .allocate(capacity: max(count, 1))
        fieldSlots.initialize(repeating: .absent, count: max(count, 1))
        sharedSlots = Self.slotsShareLayout
        if sharedSlots {
            // Only the C side writes through this pointer; Swift reads the memory as FieldValue.
            cSlots = UnsafeMutableRawPointer(fieldSlots).assumingMemoryBound(to: kpid_slot.self)
        } else {
            cSlots = .allocate(capacity: max(count, 1))
            cSlots.initialize(repeating: kpid_slot(), count: max(count, 1))
        }
        info = .allocate(capacity: 1)
        info.initialize(to: kpid_doc_info())
    }

    deinit {
        kpid_decoder_free(handle)
        if !sharedSlots { cSlots.deallocate() }
        fieldSlots.deallocate()
        info.deallocate()
    }

    /// Copies `payload` into the decoder and rewinds to its first document. Invalidates all views
    /// (slots, strings, ``currentLine``) handed out before. Cost: one memcpy; allocates only when
    /// the payload is larger than any loaded before. The caller's buffer is not retained.
    /// Traps if memory for the copy cannot be allocated (like any Swift allocation).
    public func load(_ payload: UnsafeRawBufferPointer) {
        let rc = kpid_decoder_load(handle, payload.baseAddress, payload.count)
        precondition(rc == KPID_OK, "EventDecoder: out of memory loading a \(payload.count)-byte payload")
        rewound()
    }

    /// Like ``load(_:)`` but without the copy: the decoder reads `payload` in place, so the caller
    /// must keep those bytes valid and unchanged until the next load or the decoder's deinit;
    /// slot strings and ``currentLine`` may point into them. Plain flat lines are decoded in
    /// place; from the first line that needs simdjson on (and for the last lines of the payload),
    /// the rest is copied into the decoder's padded buffer. Same results as ``load(_:)``.
    /// Allocates only when the payload is larger than any loaded before.
    public func load(borrowing payload: UnsafeRawBufferPointer) {
        let rc = kpid_decoder_load_borrowed(handle, payload.baseAddress, payload.count)
        precondition(rc == KPID_OK, "EventDecoder: out of memory reserving for a \(payload.count)-byte payload")
        rewound()
    }

    private func rewound() {
        info.pointee = kpid_doc_info()
        for i in 0..<count { fieldSlots[i] = .absent }
    }

    /// Decodes the next document. After `.event`, ``slots`` hold its fields; after `.error`,
    /// slot contents are unspecified but ``currentLine`` holds the rejected bytes.
    ///
    /// Cost: one scan (plain flat lines) or one simdjson parse of the line; the C side writes the
    /// slots in place (see ``slotsShareLayout``); no allocation (see the
    /// type's documentation for the buffer-growth exception). Invalidates the views of the
    /// previous call.
    public func next() -> DecodeStep {
        let rc = kpid_decoder_next(handle, cSlots, info)
        if rc == KPID_EVENT {
            if !sharedSlots {
                for i in 0..<count {
                    let c = cSlots[i]
                    let n = c.string.map { c.string_end - $0 } ?? 0
                    fieldSlots[i] = FieldValue(
                        kind: FieldValue.Kind(rawValue: c.kind) ?? .absent,
                        number: c.number,
                        string: UnsafeRawBufferPointer(start: c.string, count: n)
                    )
                }
            }
            return .event
        }
        for i in 0..<count { fieldSlots[i] = .absent }
        return step(rc)
    }

    /// The step of a return code other than `KPID_EVENT`.
    private func step(_ rc: Int32) -> DecodeStep {
        switch rc {
        case KPID_END: return .end
        case KPID_ERR_NOT_OBJECT: return .error(.notObject)
        case KPID_ERR_NESTED: return .error(.nestedValue)
        case KPID_ERR_BAD_NUMBER: return .error(.badNumber)
        case KPID_ERR_INVALID_UTF8: return .error(.invalidUTF8)
        case KPID_ERR_DUPLICATE_KEY: return .error(.duplicateKey)
        case KPID_ERR_TOO_MANY_FIELDS: return .error(.tooManyFields)
        case KPID_ERR_FIELD_TOO_LONG: return .error(.fieldTooLong)
        default: return .error(.malformedJSON) // KPID_ERR_MALFORMED, KPID_ERR_INTERNAL
        }
    }

    /// Like ``next()``, but an event's fields are written to `row` (``fields``.count values)
    /// instead of ``slots``, so that a caller keeping many events decodes each in place. After
    /// `.end` or `.error` the row's contents are unspecified. ``slots`` is not updated.
    @inline(__always)
    func next(into row: UnsafeMutablePointer<FieldValue>) -> DecodeStep {
        guard sharedSlots else {
            let step = next()
            if case .event = step { row.update(from: fieldSlots, count: count) }
            return step
        }
        let rc = kpid_decoder_next(handle, UnsafeMutableRawPointer(row).assumingMemoryBound(to: kpid_slot.self), info)
        return rc == KPID_EVENT ? .event : step(rc)
    }

    /// The fields of the current event, one per name in ``fields`` (all `.absent` after `.end` or
    /// `.error`). A view into decoder-owned memory: the buffer and the string bytes it points to
    /// are valid until the next ``next()`` or ``load(_:)`` call or the decoder's deinit. Free to read.
    public var slots: UnsafeBufferPointer<FieldValue> {
        UnsafeBufferPointer(start: fieldSlots, count: count)
    }

    /// The value of field `i` of the current event (`fields[i]`), with the same lifetime as
    /// ``slots``. O(1), no allocation.
    @inline(__always)
    public func slot(_ i: Int) -> FieldValue {
        precondition(i >= 0 && i < count, "EventDecoder.slot: index \(i) out of range 0..<\(count)")
        return fieldSlots[i]
    }

    /// The raw bytes of the current document as they appear in the payload (surrounding whitespace
    /// and the line break trimmed), after `.event` or `.error`; empty after `.end` or before the
    /// first call. Use it to keep a sample of a rejected line (copy it: it is valid until the next
    /// ``load(_:)`` or the decoder's deinit). Free to read.
    public var currentLine: UnsafeRawBufferPointer {
        let info = self.info.pointee
        guard let line = info.line, info.length > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: line, count: info.length)
    }

    /// The decoder's own padded buffer (see ``load(borrowing:)``). A string slot pointing into it or
    /// into the borrowed payload stays valid until the next load; any other string slot (one that
    /// simdjson unescaped) only until the next ``next()``. ``DecodedPayload`` relies on this.
    var ownBuffer: UnsafeRawBufferPointer {
        var capacity = 0
        let base = kpid_decoder_buffer(handle, &capacity)
        return UnsafeRawBufferPointer(start: base, count: base == nil ? 0 : capacity)
    }

    /// Byte offset of ``currentLine`` in the loaded payload.
    public var currentOffset: Int { info.pointee.offset }

    /// Lines decoded by the flat fast path so far (the rest went through simdjson).
    var flatLineCount: Int { kpid_decoder_flat_line_count(handle) }

    /// Whether the C decoder can write ``FieldValue``s directly: `kpid_slot` is declared as
    /// (kind, number, start, end), which is how Swift lays out `FieldValue` (kind, number,
    /// `UnsafeRawBufferPointer`) today; checked once at run time, with a conversion per event as
    /// the fallback should a compiler ever lay them out differently.
    static let slotsShareLayout: Bool = {
        typealias F = MemoryLayout<FieldValue>
        typealias C = MemoryLayout<kpid_slot>
        guard F.size == C.size, F.stride == C.stride, F.alignment == C.alignment,
              F.offset(of: \.kind) == C.offset(of: \.kind), F.offset(of: \.number) == C.offset(of: \.number),
              F.offset(of: \.string) == C.offset(of: \.string),
              MemoryLayout<FieldValue.Kind>.size == 1
        else { return false }
        let kinds: [(FieldValue.Kind, Int32)] = [
            (.absent, KPID_KIND_ABSENT), (.null, KPID_KIND_NULL), (.bool, KPID_KIND_BOOL),
            (.number, KPID_KIND_NUMBER), (.string, KPID_KIND_STRING),
        ]
        for (k, c) in kinds where unsafeBitCast(k, to: UInt8.self) != UInt8(c) { return false }
        // A string slot read as a FieldValue must give the same start, count and number.
        let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 5)
        defer { bytes.deallocate() }
        var probe = kpid_slot(kind: UInt8(KPID_KIND_STRING), number: 2.5, string: bytes, string_end: bytes + 5)
        let f = withUnsafeBytes(of: &probe) { $0.load(as: FieldValue.self) }
        var absent = kpid_slot()
        let a = withUnsafeBytes(of: &absent) { $0.load(as: FieldValue.self) }
        return f.kind == .string && f.number == 2.5 && f.string.baseAddress == UnsafeRawPointer(bytes)
            && f.string.count == 5 && a.kind == .absent && a.string.count == 0 && a.string.baseAddress == nil
    }()
}
