import Foundation
import KPIConfig
import KPICore
import KPIPipeline
import XCTest

/// Decode-ahead: a payload decoded into a ``DecodedPayload`` (as the daemon's decoder thread
/// does) must fold into exactly the rows, counters and reject samples of decoding it inline.
final class DecodedPayloadTests: XCTestCase {
    private var shippedConfig: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("conf/kpid.toml").path
    }

    /// 2026-11-23 08:00Z.
    private let t0: EpochMillis = 1_795_420_800_000

    /// Payloads that cover every decoding path: flat lines read in place, lines simdjson decodes
    /// (escapes, unicode), strings unescaped into the arena across later lines, every error kind,
    /// blank lines, a pretty-printed object, topic frames, and frames over the event limit.
    private func corpus() -> [(frames: Int, first: [UInt8], second: [UInt8])] {
        var rng = SplitMix64(seed: 23)
        var out: [(Int, [UInt8], [UInt8])] = []
        let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
        for m in 0..<60 {
            var lines: [String] = []
            for i in 0..<Int.random(in: 1...120, using: &rng) {
                let ts = t0 + Int64(m * 1000 + i * 7)
                switch Int.random(in: 0..<14, using: &rng) {
                case 0: lines.append(#"{"type":"click","ts":\#(ts),"retailer":"r\#(i % 5)","visitor":"v\u00e9\#(i % 9)","listing":"l\"\#(i % 3)","user_agent":"\#(ua)"}"#)
                case 1: lines.append(#"{"type":"http.request","ts":\#(ts),"route":"/api/\\x\#(i % 4)","status":503,"tenant":"t\#(i % 2)","duration_ms":12.5}"#)
                case 2: lines.append(#"{"type":"click","ts":"2026-11-23T08:00:0\#(i % 10)Z","retailer":"r1","visitor":"v\#(i)","listing":"l1","user_agent":"Googlebot/2.1"}"#)
                case 3: lines.append(#"{"type":"click","ts":\#(ts),"retailer":"r1","visitor":"v1","#) // truncated
                case 4: lines.append("[1,2,3]")
                case 5: lines.append(#"{"type":"http.request","ts":\#(ts),"route":{"nested":1}}"#)
                case 6: lines.append(#"{"type":"http.request","ts":\#(ts),"route":"/a","route":"/b"}"#)
                case 7: lines.append(#"{"ts":\#(ts),"route":"/no-type"}"#)
                case 8: lines.append(#"{"type":"http.request","ts":\#(ts),"route":"/r","status":"500","tenant":"t1","duration_ms":"slow"}"#)
                case 9: lines.append("")
                case 10: lines.append(#"{"type":"http.request","ts":1e400,"route":"/big"}"#)
                default:
                    lines.append(#"{"type":"http.request","ts":\#(ts),"route":"/api/r\#(i % 7)","status":\#(i % 50 == 0 ? 503 : 200),"tenant":"t\#(i % 13)","duration_ms":\#(i % 900).5,"method":"GET"}"#)
                }
            }
            let payload = Array(lines.joined(separator: m % 3 == 0 ? "\r\n" : "\n").utf8)
            if m % 4 == 0 {
                out.append((2, Array("http.request".utf8), payload))
            } else {
                out.append((1, payload, []))
            }
        }
        // A pretty-printed single object, an empty payload, three frames.
        out.append((1, Array("{\n  \"type\": \"http.request\",\n  \"ts\": \(t0),\n  \"route\": \"/pretty\"\n}".utf8), []))
        out.append((2, Array("click".utf8), []))
        out.append((3, Array("a".utf8), Array("b".utf8)))
        return out
    }

    private func pipeline(maxEventsPerFrame: Int? = nil) throws -> IngestPipeline {
        var config = try ConfigLoader.load(contentsOf: shippedConfig)
        config.allowedLatenessMillis = 30 * 86_400_000
        if let maxEventsPerFrame { config.limits.maxEventsPerFrame = maxEventsPerFrame }
        // A clock that stands still: reject samples' receive times match between the two pipelines.
        let p = try IngestPipeline(config: config, clock: ManualClock(t0 + 60_000))
        p.samplesPerReasonPerFlush = 1_000
        return p
    }

    private func assertSameFlush(_ a: IngestPipeline.Flush, _ b: IngestPipeline.Flush, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(a.batch.rows.isEmpty, file: file, line: line)
        XCTAssertEqual(a.batch.rows, b.batch.rows, file: file, line: line)
        XCTAssertEqual(Set(a.counters), Set(b.counters), file: file, line: line)
        XCTAssertEqual(a.rejects, b.rejects, file: file, line: line)
    }

    func testDecodedAheadFoldsLikeInline() throws {
        for limit in [nil, 17] {
            let inline = try pipeline(maxEventsPerFrame: limit)
            let ahead = try pipeline(maxEventsPerFrame: limit)
            let decoded = ahead.decodedPayload()
            for (frames, first, second) in corpus() {
                first.withUnsafeBytes { f in
                    second.withUnsafeBytes { s in
                        inline.process(frameCount: frames, first: f, second: s, source: 0)
                        if let payload = IngestPipeline.payloadFrame(frameCount: frames, first: f, second: s) {
                            decoded.decode(payload, maxEvents: ahead.config.limits.maxEventsPerFrame)
                            ahead.process(frameCount: frames, first: f, second: s, source: 0, decoded: decoded)
                        } else {
                            ahead.process(frameCount: frames, first: f, second: s, source: 0)
                        }
                    }
                }
            }
            let a = inline.flush(), b = ahead.flush()
            assertSameFlush(a, b)
            // The corpus reaches every reject it was written for.
            let reasons = Set(a.rejects.map(\.reason))
            for r in [RejectReason.malformedJSON, .notObject, .nestedValue, .duplicateKey, .missingType, .badNumber,
                      .emptyFrame, .tooManyFrames, .wrongFieldType] {
                XCTAssertTrue(reasons.contains(r), "no \(r) reject in the corpus")
            }
            if limit != nil { XCTAssertTrue(reasons.contains(.tooManyEvents)) }
        }
    }

    /// Strings that simdjson unescapes live in parser memory that the next line reuses: the
    /// decoded payload keeps its own copy, so every event keeps its values after later lines.
    func testUnescapedStringsSurviveLaterLines() throws {
        let decoded = DecodedPayload(fields: ["type", "visitor"], limits: EventDecoder.Limits())
        let values = (0..<50).map { "v\\\"\($0)-\(String(repeating: "x", count: $0))" }
        let payload = Array(values.map { #"{"type":"click","visitor":"\#($0)"}"# }.joined(separator: "\n").utf8)
        payload.withUnsafeBytes { decoded.decode($0, maxEvents: .max) }
        var documents = decoded.documents
        var seen: [String] = []
        while case .event = documents.next() { seen.append(documents.slots[1].stringValue ?? "?") }
        XCTAssertEqual(seen, (0..<50).map { "v\"\($0)-\(String(repeating: "x", count: $0))" })
    }
}
