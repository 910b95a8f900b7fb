import Foundation
import KPIConfig
import KPICore

/// The replayed workload of the in-process benchmarks and of the profiling driver: ~300-byte
/// events in the shape the shipped config documents (clicks and API requests, half each),
/// seeded for repeatability, packed into NDJSON payloads.
public enum Workload {
    /// Events per replay of ``payloads(events:perMessage:)``'s default.
    public static let eventsPerRun = 100_000
    /// NDJSON lines per payload (message).
    public static let eventsPerMessage = 100

    /// NDJSON payloads of `perMessage` lines each (the last may be shorter): `line(i)` for each
    /// `i` in `0..<events`, in order.
    public static func ndjson(events: Int, perMessage: Int = eventsPerMessage, line: (Int) -> String) -> [[UInt8]] {
        var payloads: [[UInt8]] = []
        var lines: [String] = []
        for i in 0..<events {
            lines.append(line(i))
            if lines.count == perMessage {
                payloads.append(Array(lines.joined(separator: "\n").utf8))
                lines.removeAll()
            }
        }
        if !lines.isEmpty { payloads.append(Array(lines.joined(separator: "\n").utf8)) }
        return payloads
    }

    /// `events` seeded events as NDJSON payloads of `perMessage` lines each.
    public static func payloads(events: Int = eventsPerRun, perMessage: Int = eventsPerMessage) -> [[UInt8]] {
        var rng = SplitMix64(seed: 42)
        func next() -> UInt64 { rng.next() }
        let retailers = ["pcandparts", "ayoub", "mojitech", "441store", "starlite", "technoworld"]
        let routes = ["/api/search", "/api/listing/:id", "/api/build", "/api/retailers", "/health"]
        let base: Int64 = 1_763_856_000_000 // 2025-11-23T00:00:00Z
        return ndjson(events: events, perMessage: perMessage) { i in
            let ts = base + Int64(i) * 20 // 100k events over ~33 minutes
            if next() % 2 == 0 {
                let r = retailers[Int(next() % UInt64(retailers.count))]
                return #"{"type":"click","ts":\#(ts),"retailer":"\#(r)","visitor":"v\#(next() % 50_000)","listing":"\#(r)-\#(next() % 5000)","referrer":"https://961tech.example/search?q=rtx+4070","url":"https://\#(r).example/p/\#(next() % 5000)","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"}"#
            } else {
                let route = routes[Int(next() % UInt64(routes.count))]
                let status = next() % 100 < 2 ? 503 : 200
                return #"{"type":"http.request","ts":\#(ts),"route":"\#(route)","status":\#(status),"tenant":"t\#(next() % 20)","duration_ms":\#(Double(next() % 90_000) / 100),"method":"GET","host":"api-\#(next() % 8).internal","bytes_out":\#(next() % 100_000),"trace_id":"\#(String(next(), radix: 16))"}"#
            }
        }
    }

    /// `events` seeded events in the mix `conf/examples/961tech.toml` reads (outbound clicks,
    /// PC-builder slots, scraped listings, scraper jobs), ~250–300 bytes each, as NDJSON payloads.
    public static func payloads961tech(events: Int = eventsPerRun, perMessage: Int = eventsPerMessage) -> [[UInt8]] {
        var rng = SplitMix64(seed: 961)
        func next() -> UInt64 { rng.next() }
        let retailers = ["pcandparts", "ayoub", "mojitech", "441store", "starlite", "technoworld"]
        let categories = ["gpu", "cpu", "ram", "ssd", "psu", "case"]
        let states = ["listed", "listed", "call_for_price", "out"]
        let base: Int64 = 1_763_856_000_000
        return ndjson(events: events, perMessage: perMessage) { i in
            let ts = base + Int64(i) * 20
            let r = retailers[Int(next() % UInt64(retailers.count))]
            switch next() % 10 {
            case 0..<3:
                return #"{"type":"click","ts":\#(ts),"retailer":"\#(r)","visitor":"v\#(next() % 50_000)","listing":"\#(r)-\#(next() % 5000)","referrer":"https://961tech.example/search?q=rtx+4070","url":"https://\#(r).example/p/\#(next() % 5000)","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"}"#
            case 3:
                return #"{"type":"build.slot_selected","ts":\#(ts),"session":"s\#(next() % 20_000)","slot":"\#(categories[Int(next() % 6)])","visitor":"v\#(next() % 50_000)","page":"/builder"}"#
            case 4..<8:
                let matched = next() % 10 < 8 ? #""p\#(next() % 90_000)""# : "null"
                return #"{"type":"listing.scraped","ts":\#(ts),"retailer":"\#(r)","listing":"\#(r)-\#(next() % 5000)","category":"\#(categories[Int(next() % 6)])","product_id":\#(matched),"match_confidence":0.\#(next() % 1000),"stock_state":"\#(states[Int(next() % 4)])","price_usd":\#(next() % 3000)}"#
            default:
                return #"{"type":"scrape.job","ts":\#(ts),"retailer":"\#(r)","status":"\#(next() % 20 == 0 ? "failed" : "ok")","duration_ms":\#(Double(next() % 900_000) / 100),"pages":\#(next() % 40),"worker":"w\#(next() % 8)"}"#
            }
        }
    }

    /// The shipped `conf/kpid.toml`, loaded from the repository this file belongs to.
    public static func shippedConfig() -> KpidConfig { config("conf/kpid.toml") }

    /// A config of the repository (a path relative to its root), for example `conf/examples/961tech.toml`.
    public static func config(_ relativePath: String) -> KpidConfig {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { dir.deleteLastPathComponent() }
        let path = dir.appendingPathComponent(relativePath).path
        do { return try ConfigLoader.load(contentsOf: path) } catch { fatalError("cannot load \(path): \(error)") }
    }

    /// A clock just after the workload's events, so that none is "in the future".
    public static let clockMillis: EpochMillis = 1_763_900_000_000
}
