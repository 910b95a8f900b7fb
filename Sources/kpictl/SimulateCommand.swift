import ArgumentParser
import Foundation
import KPICore

/// `kpictl simulate`: realistic synthetic traffic for the shipped `conf/kpid.toml`.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Publish realistic synthetic clicks, page views and API requests for the shipped config.",
        discussion: """
            Events are stamped with the current time. Clicks come from a few hundred visitors \
            across a handful of retailers; requests hit a few routes for three tenants with \
            about 2% 5xx answers. Use it to watch numbers appear: kpictl query outbound_clicks.
            """
    )

    @Option(help: "Endpoint to connect to (the shipped config's pull source).")
    var endpoint: String = "tcp://127.0.0.1:5556"

    @Option(help: "Socket kind: push or pub.")
    var socket: SenderSocketKind = .push

    @Option(help: "Events per second.")
    var rate: Double = 200

    @Option(help: "Seconds to run; 0 runs until interrupted.")
    var duration: Double = 10

    @Option(help: "Random seed, for repeatable traffic.")
    var seed: UInt64 = 1

    @OptionGroup var curve: CurveClientOptions
    @OptionGroup var sequence: SequenceOptions

    func run() throws {
        let sender = try EventSender(endpoint: endpoint, kind: socket, topic: nil, rate: rate,
                                     joinDelayMillis: socket == .pub ? 500 : 0,
                                     curve: try curve.keys(), source: sequence.source)
        defer { sender.close() }
        var rng = SplitMix64(seed: seed)
        let retailers = ["pcandparts", "ayoub", "mojitech", "441store", "starlite"]
        let routes = ["/api/search", "/api/listing/:id", "/api/build", "/api/retailers", "/health"]
        let tenants = ["t1", "t2", "t3"]
        let end = duration > 0 ? Date().addingTimeInterval(duration) : Date.distantFuture
        let batch = max(1, Int(rate / 20))
        while Date() < end {
            var lines: [Substring] = []
            for _ in 0..<batch {
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let r = rng.next() % 100
                if r < 35 {
                    let retailer = retailers[Int(rng.next() % UInt64(retailers.count))]
                    let visitor = "v\(rng.next() % 400)"
                    let listing = "\(retailer)-\(rng.next() % 50)"
                    lines.append(Substring(#"{"type":"click","ts":\#(now),"retailer":"\#(retailer)","visitor":"\#(visitor)","listing":"\#(listing)","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0"}"#))
                } else if r < 50 {
                    let visitor = "v\(rng.next() % 400)"
                    lines.append(Substring(#"{"type":"page.view","ts":\#(now),"visitor":"\#(visitor)","path":"/"}"#))
                } else {
                    let route = routes[Int(rng.next() % UInt64(routes.count))]
                    let tenant = tenants[Int(rng.next() % UInt64(tenants.count))]
                    let p = rng.next() % 1000
                    let status = p < 20 ? 503 : (p < 60 ? 404 : 200)
                    let duration = 20 + Double(rng.next() % 400) + (p < 20 ? 900 : 0)
                    lines.append(Substring(#"{"type":"http.request","ts":\#(now),"route":"\#(route)","status":\#(status),"tenant":"\#(tenant)","duration_ms":\#(duration)}"#))
                }
            }
            try sender.send(lines: lines)
        }
        FileHandle.standardError.write(Data("kpictl: simulated \(sender.eventsSent) events to \(endpoint)\n".utf8))
    }
}
