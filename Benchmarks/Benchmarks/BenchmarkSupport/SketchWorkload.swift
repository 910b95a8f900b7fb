import Foundation
import KPICore

/// Pre-decoded events for the sketch benchmarks and the memory report: `http.request` events
/// with a route, a tenant, a lognormal `duration_ms` and a user id, laid out as the engine's
/// field slots (no decoding, so that what is measured is the aggregate).
public final class SketchEvents {
    /// The engine the events are folded into; ``reset()`` replaces it with an empty one.
    public private(set) var engine: WindowEngine
    private let config: KpidConfig
    public let count: Int
    public let typeID: Int
    public let timestamp: EpochMillis = 1_763_856_000_000
    private let width: Int
    private let slots: UnsafeMutableBufferPointer<FieldValue>
    private let bytes: UnsafeMutableRawBufferPointer
    private let routeBytes: UnsafeMutableRawBufferPointer

    /// `count` events for an engine on `config` (whose metrics read `http.request`): user
    /// `i % users`, tenant `i % tenants`, route among 5, duration lognormal around 30 ms (seeded).
    public init(config: KpidConfig, count: Int, users: Int, tenants: Int = 20) {
        self.config = config
        let engine = WindowEngine(config: config)
        self.engine = engine
        self.count = count
        typeID = engine.typeID("http.request")!
        let catalog = engine.catalog
        width = catalog.count
        slots = .allocate(capacity: count * width)
        slots.initialize(repeating: .absent)
        // Strings: "u<i>", "t<i>", routes; one buffer, 16 bytes per event.
        bytes = .allocateAlignedBuffer(count: count * 32)
        var rng = SplitMix64(seed: 7)
        let routes = ["/api/search", "/api/listing", "/api/build", "/api/retailers", "/health"]
        routeBytes = .allocateAlignedBuffer(count: 64)
        var routeValues: [FieldValue] = []
        var at = 0
        for r in routes {
            let u = Array(r.utf8)
            for (k, b) in u.enumerated() { routeBytes[at + k] = b }
            routeValues.append(FieldValue(kind: .string, string: UnsafeRawBufferPointer(rebasing: routeBytes[at..<(at + u.count)])))
            at += u.count
        }
        func put(_ s: String, _ offset: Int) -> FieldValue {
            let u = Array(s.utf8)
            for (k, b) in u.enumerated() { bytes[offset + k] = b }
            return FieldValue(kind: .string, string: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + u.count)]))
        }
        let route = catalog.existingSlot(for: "route"), duration = catalog.existingSlot(for: "duration_ms")
        let user = catalog.existingSlot(for: "user"), tenant = catalog.existingSlot(for: "tenant")
        for i in 0..<count {
            let base = i * width
            slots[base + FieldCatalog.typeSlot] = routeValues[0] // not read by ingest
            slots[base + FieldCatalog.timestampSlot] = FieldValue(kind: .number, number: Double(timestamp))
            if let route { slots[base + route] = routeValues[Int(rng.next() % 5)] }
            if let duration {
                // Box–Muller: ln(ms) ~ N(3.4, 1).
                let u1 = Double(rng.next() >> 11 | 1) / Double(1 << 53), u2 = Double(rng.next() >> 11) / Double(1 << 53)
                let z = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
                slots[base + duration] = FieldValue(kind: .number, number: (exp(3.4 + z) * 1000).rounded() / 1000)
            }
            if let user { slots[base + user] = put("u\(i % users)", i * 32) }
            if let tenant { slots[base + tenant] = put("t\(i % tenants)", i * 32 + 16) }
        }
    }

    deinit {
        slots.deallocate()
        bytes.deallocate()
        routeBytes.deallocate()
    }

    /// Replaces the engine by an empty one on the same config (the same field slots).
    public func reset() { engine = WindowEngine(config: config) }

    /// Folds every event into the engine.
    public func ingestAll() {
        for i in 0..<count {
            let s = UnsafeBufferPointer(rebasing: slots[(i * width)..<((i + 1) * width)])
            _ = engine.ingest(typeID: typeID, timestamp: timestamp, slots: s)
        }
    }

    /// A config with one metric over `http.request`, hour windows.
    public static func config(_ aggregate: AggregateSpec, groupBy: [String] = [], exactMax: Int = 100_000) -> KpidConfig {
        var config = KpidConfig()
        config.trackSequences = false
        var m = MetricDefinition(name: "m", events: ["http.request"], aggregate: aggregate, groupBy: groupBy, windows: [.hour])
        m.distinctExactMax = exactMax
        config.metrics = [m]
        return config
    }
}

extension UnsafeMutableRawBufferPointer {
    static func allocateAlignedBuffer(count: Int) -> UnsafeMutableRawBufferPointer {
        .allocate(byteCount: count, alignment: 16)
    }
}
