import Benchmark
import Foundation
import KPIConfig
import KPICore

// Bot user-agent verdicts (issue 3, "Speed"): cached and uncached, against regex-only baselines
// measured in the same run. User agents are the labelled fixtures (Tests/Fixtures/bots: ~31k
// distinct, ~18 % bots), as raw UTF-8 bytes. Each iteration performs `opsPerIteration`
// verdicts, so wall-clock per iteration in µs is ns per verdict divided by 1000.

let opsPerIteration = 1_000

func repositoryRoot() -> URL {
    var dir = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { dir.deleteLastPathComponent() }
    return dir
}

func fixtureAgents() -> [[UInt8]] {
    let dir = repositoryRoot().appendingPathComponent("Tests/Fixtures/bots")
    var out: [[UInt8]] = []
    let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    for f in files.sorted() where f.hasSuffix(".txt") {
        guard let text = try? String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8) else { continue }
        for line in text.split(separator: "\n") where !line.isEmpty { out.append(Array(line.utf8)) }
    }
    // A fixed shuffle so that bots and browsers interleave.
    var rng = UInt64(7)
    for i in stride(from: out.count - 1, to: 0, by: -1) {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        out.swapAt(i, Int(rng >> 33) % (i + 1))
    }
    return out
}

let benchmarks: @Sendable () -> Void = {
    let agents = fixtureAgents()
    precondition(agents.count > 10_000, "fixtures not found")
    let matcher: BotUserAgentMatcher
    do {
        matcher = try BotPatternFiles.matcher(directory: repositoryRoot().appendingPathComponent("conf/bots").path)
    } catch { fatalError("\(error)") }
    let strings = agents.map { String(decoding: $0, as: UTF8.self) }
    let hot = Array(agents.prefix(opsPerIteration))

    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions],
        scalingFactor: .one,
        maxDuration: .seconds(4),
        maxIterations: 2_000
    )

    Benchmark("hash only, 1000 agents (baseline)") { benchmark in
        var acc: UInt64 = 0
        for _ in benchmark.scaledIterations {
            for a in hot { a.withUnsafeBytes { acc ^= ValueHash.hash(bytes: $0) } }
        }
        blackHole(acc)
    }

    Benchmark("cached verdict, 1000 hot agents") { benchmark in
        let cache = BotVerdictCache(matcher: matcher)
        for a in hot { _ = a.withUnsafeBytes { cache.isBot($0) } } // warm
        var bots = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for a in hot where a.withUnsafeBytes({ cache.isBot($0) }) { bots &+= 1 }
        }
        benchmark.stopMeasurement()
        precondition(cache.misses == Int64(hot.count), "the hot set must stay cached")
        blackHole(bots)
    }

    Benchmark("uncached verdict, prefilter, 1000 distinct agents") { benchmark in
        var offset = 0
        var bots = 0
        for _ in benchmark.scaledIterations {
            for k in 0..<opsPerIteration where agents[(offset + k) % agents.count].withUnsafeBytes({ matcher.isBot($0) }) {
                bots &+= 1
            }
            offset = (offset + opsPerIteration) % agents.count
        }
        blackHole(bots)
    }

    // Regex-only baselines, slow: few iterations.
    func naive(_ name: String, iterations: Int, _ verdict: @escaping (String) -> Bool) {
        Benchmark(name, configuration: .init(maxDuration: .seconds(10), maxIterations: iterations)) { benchmark in
            var offset = 0
            var bots = 0
            for _ in benchmark.scaledIterations {
                for k in 0..<opsPerIteration where verdict(strings[(offset + k) % strings.count]) { bots &+= 1 }
                offset = (offset + opsPerIteration) % strings.count
            }
            blackHole(bots)
        }
    }
    naive("naive: all regexes as alternations of 32, 1000 distinct agents (baseline)", iterations: 5) { matcher.referenceIsBot($0) }
    naive("naive: every regex one by one, 1000 distinct agents (baseline)", iterations: 3) { matcher.explain($0).isBot }
}
