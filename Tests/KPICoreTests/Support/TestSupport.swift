import Foundation
import XCTest
@testable import KPICore

// MARK: - Instants

/// Milliseconds in common spans.
let second: Int64 = 1_000
let minute: Int64 = 60_000
let hour: Int64 = 3_600_000
let day: Int64 = 86_400_000

/// Epoch milliseconds of an RFC 3339 instant such as `2026-11-29T23:59:59.999+02:00`.
///
/// Parsed by hand with the proleptic Gregorian day count (H. Hinnant's `days_from_civil`), so the
/// expectations of the tests never go through Foundation's calendar code, which the windowing uses.
func ms(_ text: String) -> EpochMillis {
    let u = Array(text.utf8)
    func digits(_ from: Int, _ count: Int) -> Int {
        var v = 0
        for i in from..<(from + count) {
            let c = u[i]
            precondition(c >= 0x30 && c <= 0x39, "not a digit in \(text)")
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }
    precondition(u.count >= 20 && u[4] == 0x2D && u[7] == 0x2D && u[10] == 0x54 && u[13] == 0x3A && u[16] == 0x3A,
                 "not RFC 3339: \(text)")
    let year = digits(0, 4), month = digits(5, 2), dayOfMonth = digits(8, 2)
    let hh = digits(11, 2), mm = digits(14, 2), ss = digits(17, 2)
    var i = 19
    var millis = 0
    if u[i] == 0x2E { // '.'
        i += 1
        var scale = 100
        while i < u.count, u[i] >= 0x30, u[i] <= 0x39 {
            millis += Int(u[i] - 0x30) * scale
            scale /= 10
            i += 1
        }
    }
    var offsetSeconds = 0
    if u[i] == 0x5A { // 'Z'
        precondition(i + 1 == u.count, "trailing text in \(text)")
    } else {
        precondition(u[i] == 0x2B || u[i] == 0x2D, "bad offset in \(text)")
        precondition(i + 6 == u.count && u[i + 3] == 0x3A, "bad offset in \(text)")
        let sign = u[i] == 0x2D ? -1 : 1
        offsetSeconds = sign * (digits(i + 1, 2) * 3600 + digits(i + 4, 2) * 60)
    }
    let days = daysFromCivil(year, month, dayOfMonth)
    let local = Int64(days) * 86_400 + Int64(hh * 3600 + mm * 60 + ss)
    return (local - Int64(offsetSeconds)) * 1000 + Int64(millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
    let y = m <= 2 ? y0 - 1 : y0
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (m + 9) % 12
    let doy = (153 * mp + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

func millis(_ date: Date) -> EpochMillis { EpochMillis((date.timeIntervalSince1970 * 1000).rounded()) }
func date(_ millis: EpochMillis) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

/// A readable rendering of a window for failure messages.
func describe(_ w: WindowBounds) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return "[\(f.string(from: date(w.start))), \(f.string(from: date(w.end))))"
}

func assertWindow(_ w: WindowBounds, _ start: String, _ end: String, _ message: String = "",
                  file: StaticString = #filePath, line: UInt = #line) {
    let expected = WindowBounds(start: ms(start), end: ms(end))
    XCTAssertEqual(w, expected, "got \(describe(w)), expected \(describe(expected)) \(message)", file: file, line: line)
}

// MARK: - Event fields

/// A JSON value of a test event.
enum JSON: Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    /// An empty string whose buffer has no base address (as a decoder may hand out for `""`).
    case emptyStringWithoutStorage

    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .number(Double(value)) }
    init(floatLiteral value: Double) { self = .number(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
}

/// The decoded fields of one test event, laid out in the slots of a ``FieldCatalog``, over byte
/// buffers this object owns (the `FieldValue`s point into them until it is released).
///
/// Fields the catalog does not know are dropped, like the real decoder does.
final class EventFields {
    let buffer: UnsafeMutableBufferPointer<FieldValue>
    private var storage: [UnsafeMutableRawBufferPointer] = []

    init(catalog: FieldCatalog, type: String = "event", ts: EpochMillis = 0, _ fields: [String: JSON] = [:]) {
        buffer = .allocate(capacity: catalog.count)
        buffer.initialize(repeating: .absent)
        buffer[FieldCatalog.typeSlot] = value(.string(type))
        buffer[FieldCatalog.timestampSlot] = value(.number(Double(ts)))
        for (name, v) in fields {
            if let slot = catalog.existingSlot(for: name) { buffer[slot] = value(v) }
        }
    }

    deinit {
        for s in storage { s.deallocate() }
        buffer.deallocate()
    }

    var slots: UnsafeBufferPointer<FieldValue> { UnsafeBufferPointer(buffer) }

    /// A string value over fresh storage (never a nil base address, even when empty).
    func stringValue(_ s: String) -> FieldValue {
        let bytes = Array(s.utf8)
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        storage.append(raw)
        raw.copyMemory(from: UnsafeRawBufferPointer(start: bytes, count: bytes.count))
        return FieldValue(kind: .string, string: UnsafeRawBufferPointer(start: raw.baseAddress, count: bytes.count))
    }

    private func value(_ v: JSON) -> FieldValue {
        switch v {
        case .string(let s): return stringValue(s)
        case .number(let d): return FieldValue(kind: .number, number: d)
        case .bool(let b): return FieldValue(kind: .bool, number: b ? 1 : 0)
        case .null: return FieldValue(kind: .null)
        case .emptyStringWithoutStorage:
            return FieldValue(kind: .string, string: UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }
}

// MARK: - Engine

func makeEngine(_ metrics: [MetricDefinition], lateness: Int64 = 60_000, timeZone: String = "UTC",
                trackSequences: Bool = false) -> WindowEngine {
    var config = KpidConfig()
    config.trackSequences = trackSequences
    config.timeZone = timeZone
    config.allowedLatenessMillis = lateness
    config.metrics = metrics
    return WindowEngine(config: config)
}

/// Folds one event of `type` at `ts` with `fields` into `engine`.
@discardableResult
func ingest(_ engine: WindowEngine, _ type: String, at ts: EpochMillis, _ fields: [String: JSON] = [:],
            file: StaticString = #filePath, line: UInt = #line) -> WindowEngine.IngestOutcome {
    guard let id = engine.typeID(type) else {
        XCTFail("no metric reads type \(type)", file: file, line: line)
        return WindowEngine.IngestOutcome()
    }
    let event = EventFields(catalog: engine.catalog, type: type, ts: ts, fields)
    return withExtendedLifetime(event) { engine.ingest(typeID: id, timestamp: ts, slots: event.slots) }
}

/// Flush rows in a stable order (the engine does not promise one).
func sortedRows(_ batch: FlushBatch) -> [AggregateRow] {
    batch.rows.sorted {
        ($0.metric, $0.period, $0.windowStart, $0.labels, $0.isFinal ? 1 : 0)
            < ($1.metric, $1.period, $1.windowStart, $1.labels, $1.isFinal ? 1 : 0)
    }
}

/// An expected flush row.
func row(_ metric: String, _ period: CalendarPeriod, _ start: String, _ end: String, labels: String = "{}",
         value: Double?, samples: Int64, final: Bool = false) -> AggregateRow {
    AggregateRow(metric: metric, period: period.rawValue, windowStart: ms(start), windowEnd: ms(end),
                 labels: labels, value: value, samples: samples, isFinal: final)
}

/// The outcome of a compiled filter on one event.
func evaluate(_ expr: FilterExpr, _ fields: [String: JSON]) -> (outcome: FilterOutcome, catalog: FieldCatalog) {
    var catalog = FieldCatalog()
    let filter = CompiledFilter(expr, catalog: &catalog)
    let event = EventFields(catalog: catalog, fields)
    let outcome = withExtendedLifetime(event) { filter.evaluate(event.slots) }
    return (outcome, catalog)
}
