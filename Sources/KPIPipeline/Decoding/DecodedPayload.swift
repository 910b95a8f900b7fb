import KPICore

/// One payload decoded ahead of the fold: every document's outcome, its bytes and (for events)
/// its field slots, kept until the payload object decodes again. The daemon's receive loop uses
/// it to parse on a second thread while the ingest thread folds the previous message (see
/// `DecodeAhead` in KPIDaemon); ``IngestPipeline`` reads it through ``documents`` exactly as it
/// reads a live ``EventDecoder``, so the results are the same.
///
/// Lifetime: slot strings and lines point into the payload (which the caller keeps valid and
/// unchanged until the next ``decode(_:maxEvents:)``), into this object's decoder, or into its
/// arena (strings simdjson unescaped, copied because the parser reuses their memory per line).
///
/// Costs: no allocation in the steady state; buffers grow to the largest payload seen. One
/// object belongs to one thread at a time; handing it over needs a synchronising hand-off.
public final class DecodedPayload: @unchecked Sendable {
    /// One document: its outcome (`.event` or `.error`) and its bytes.
    struct Step {
        var step: DecodeStep
        var line: UnsafeRawBufferPointer
    }

    private let decoder: EventDecoder
    private let width: Int
    private var rows: UnsafeMutablePointer<FieldValue>
    private var rowCapacity: Int
    private var steps: UnsafeMutablePointer<Step>
    private var stepCapacity: Int
    private(set) var stepCount = 0
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity: Int
    private var arenaUsed = 0
    /// Slots whose strings were copied into the arena: (row * width + slot, arena offset). The
    /// pointers are set once decoding ends, as the arena may move while it grows.
    private var fixups: [(slot: Int, offset: Int)] = []

    /// A payload object extracting `fields` within `limits` (the pipeline's: see
    /// ``IngestPipeline/decodedPayload()``).
    public init(fields: [String], limits: EventDecoder.Limits) {
        decoder = EventDecoder(fields: fields, limits: limits)
        width = fields.count
        rowCapacity = 128
        rows = .allocate(capacity: max(1, rowCapacity * width))
        rows.initialize(repeating: .absent, count: max(1, rowCapacity * width))
        stepCapacity = 128
        steps = .allocate(capacity: stepCapacity)
        arenaCapacity = 4096
        arena = .allocate(capacity: arenaCapacity)
    }

    deinit {
        rows.deallocate()
        steps.deallocate()
        arena.deallocate()
    }

    /// Decodes every document of `payload` (NDJSON or one object), read in place, stopping after
    /// the event that passes `maxEvents` (the pipeline rejects that one and drops the rest, as it
    /// does when decoding live).
    public func decode(_ payload: UnsafeRawBufferPointer, maxEvents: Int) {
        decoder.load(borrowing: payload)
        // Reserved by the load: it does not move until the next one.
        let own = decoder.ownBuffer
        stepCount = 0
        arenaUsed = 0
        fixups.removeAll(keepingCapacity: true)
        var events = 0
        while true {
            if events == rowCapacity { grow(&rows, &rowCapacity, stride: width) }
            let flatBefore = decoder.flatLineCount
            let step = decoder.next(into: rows + events * width)
            if case .end = step { break }
            if stepCount == stepCapacity { grow(&steps, &stepCapacity, stride: 1) }
            steps[stepCount] = Step(step: step, line: decoder.currentLine)
            stepCount += 1
            guard case .event = step else { continue }
            // A line the flat fast path decoded points only into the payload or the decoder's
            // buffer; only lines simdjson decoded can hold strings in the parser's memory.
            if decoder.flatLineCount == flatBefore { keep(row: events, payload: payload, own: own) }
            events += 1
            if events > maxEvents { break }
        }
        for f in fixups {
            rows[f.slot].string = UnsafeRawBufferPointer(start: arena + f.offset, count: rows[f.slot].string.count)
        }
    }

    /// Keeps row `row` (decoded in place) of a line simdjson decoded: strings outside the payload and the decoder's own
    /// buffer are copied to the arena.
    @inline(__always)
    private func keep(row: Int, payload: UnsafeRawBufferPointer, own: UnsafeRawBufferPointer) {
        let out = rows + row * width
        for i in 0..<width {
            let v = out[i]
            guard v.kind == .string, v.string.count > 0, let p = v.string.baseAddress,
                  !Self.contains(payload, p, v.string.count), !Self.contains(own, p, v.string.count) else { continue }
            let n = v.string.count
            while arenaUsed + n > arenaCapacity { grow(&arena, &arenaCapacity, stride: 1) }
            UnsafeMutableRawPointer(arena + arenaUsed).copyMemory(from: p, byteCount: n)
            fixups.append((row * width + i, arenaUsed))
            arenaUsed += n
        }
    }

    @inline(__always)
    private static func contains(_ range: UnsafeRawBufferPointer, _ p: UnsafeRawPointer, _ n: Int) -> Bool {
        guard let base = range.baseAddress else { return false }
        return p >= base && p + n <= base + range.count
    }

    private func grow<T>(_ buffer: inout UnsafeMutablePointer<T>, _ capacity: inout Int, stride: Int) {
        let fresh = UnsafeMutablePointer<T>.allocate(capacity: max(1, capacity * 2 * stride))
        fresh.moveInitialize(from: buffer, count: capacity * stride)
        buffer.deallocate()
        buffer = fresh
        capacity *= 2
    }

    /// The decoded documents, in payload order; valid until the next ``decode(_:maxEvents:)``.
    public var documents: Documents { Documents(owner: self) }

    /// A cursor over the decoded documents (see ``PayloadDocuments``).
    public struct Documents: PayloadDocuments {
        private let steps: UnsafeMutablePointer<Step>
        private let count: Int
        private let rows: UnsafeMutablePointer<FieldValue>
        private let width: Int
        private var index = -1
        private var row = -1

        init(owner: DecodedPayload) {
            steps = owner.steps
            count = owner.stepCount
            rows = owner.rows
            width = owner.width
        }

        @inline(__always)
        public mutating func next() -> DecodeStep {
            index += 1
            guard index < count else { return .end }
            let s = steps[index].step
            if case .event = s { row += 1 }
            return s
        }

        @inline(__always)
        public var slots: UnsafeBufferPointer<FieldValue> {
            UnsafeBufferPointer(start: rows + max(row, 0) * width, count: width)
        }

        @inline(__always)
        public var currentLine: UnsafeRawBufferPointer {
            index >= 0 && index < count ? steps[index].line : UnsafeRawBufferPointer(start: nil, count: 0)
        }
    }
}
