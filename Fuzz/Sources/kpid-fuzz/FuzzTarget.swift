import KPIConfig
import KPICore
import KPIPipeline

/// Builds the shared pipeline before the first input: TOMLKit (the config parser, not on the hot
/// path) leaks a few hundred bytes per parse, which would otherwise be reported as a leak of the
/// first input.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    _ = FuzzHarness.shared
    return 0
}

/// libFuzzer entry point over kpid's hot path: bytes → decode (simdjson bridge) → qualify
/// (self_referrer, duplicate) → aggregate (every aggregate kind, filters, group_by), then a flush.
///
/// Each input is fed twice: as one payload frame, and split on its first 0 byte into a topic
/// frame and a payload frame (no 0 byte: an empty topic). One pipeline is reused across inputs,
/// like the daemon's, so state (windows, dedupe keys, watermark) accumulates; every 64 inputs it
/// is flushed. Any trap, sanitizer report or leak is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let harness = FuzzHarness.shared
    harness.pipeline.process(frameCount: 1, first: bytes, second: UnsafeRawBufferPointer(start: nil, count: 0), source: 0)
    if let zero = bytes.firstIndex(of: 0) {
        let topic = UnsafeRawBufferPointer(rebasing: bytes[..<zero])
        let payload = UnsafeRawBufferPointer(rebasing: bytes[(zero + 1)...])
        harness.pipeline.process(frameCount: 2, first: topic, second: payload, source: 1)
        harness.pipeline.process(frameCount: 3, first: topic, second: payload, source: 1)
    } else {
        harness.pipeline.process(frameCount: 2, first: UnsafeRawBufferPointer(start: nil, count: 0), second: bytes, source: 1)
    }
    harness.inputs &+= 1
    if harness.inputs % 64 == 0 { _ = harness.pipeline.flush() }
    return 0
}

/// The pipeline shared by all fuzz inputs (libFuzzer calls the target from one thread).
final class FuzzHarness: @unchecked Sendable {
    static let shared = FuzzHarness()

    let pipeline: IngestPipeline
    var inputs = 0

    private init() {
        // Tuesday 2026-11-24 10:00:00Z: the clock is fixed so runs are reproducible.
        let clock = ManualClock(1_795_514_400_000)
        do {
            let config = try ConfigLoader.parse(Self.configText, file: "fuzz.toml")
            pipeline = try IngestPipeline(config: config, clock: clock)
        } catch {
            fatalError("kpid-fuzz: bad built-in config: \(error)")
        }
        pipeline.samplesPerReasonPerFlush = 4
    }

    static let configText = """
        [kpid]
        time_zone = "UTC"
        allowed_lateness = "10m"
        max_future = "10m"
        [limits]
        max_events_per_frame = 64
        max_fields_per_event = 32
        max_field_bytes = 4096
        [[sources]]
        name = "one"
        kind = "pull"
        bind = ["tcp://127.0.0.1:1"]
        [[sources]]
        name = "two"
        kind = "sub"
        bind = ["tcp://127.0.0.1:2"]
        [[pipelines]]
        name = "qc"
        events = ["click"]
        filters = ["self_referrer", "duplicate"]
        referrer = "referrer"
        url = "url"
        visitor = "visitor"
        dedupe_key = ["visitor", "listing"]
        dedupe_window = "5m"
        max_dedupe_keys = 1000
        log_fields = ["visitor", "listing"]
        [[metrics]]
        name = "wqoc"
        pipeline = "qc"
        aggregate = "distinct(visitor)"
        windows = ["week"]
        time_zone = "Asia/Beirut"
        [[metrics]]
        name = "clicks"
        events = ["click"]
        aggregate = "count"
        group_by = ["retailer", "ok"]
        windows = ["minute", "day"]
        [[metrics]]
        name = "latency_sum"
        events = ["http.request"]
        filter = 'status >= 500 and route != "/health"'
        aggregate = "sum(duration_ms)"
        group_by = ["route"]
        windows = ["hour"]
        [[metrics]]
        name = "latency_min"
        events = ["http.request"]
        aggregate = "min(duration_ms)"
        windows = ["minute"]
        [[metrics]]
        name = "latency_max"
        events = ["http.request", "click"]
        aggregate = "max(duration_ms)"
        group_by = ["tenant"]
        windows = ["month"]
        time_zone = "America/New_York"
        [[metrics]]
        name = "latency_avg"
        events = ["http.request"]
        filter = 'tenant == "t1" or exists(beta)'
        aggregate = "avg(duration_ms)"
        windows = ["day"]
        [[metrics]]
        name = "visitors"
        events = ["page.view"]
        aggregate = "distinct(visitor)"
        group_by = ["path"]
        windows = ["day"]
        """
}
