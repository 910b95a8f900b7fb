import Foundation
import KPICore
import KPIPipeline
import KPIStore
import Logging

/// Replays the event journal at start: every message received after the last checkpoint's
/// position is fed to the pipeline exactly as when it was received (same source, same
/// publisher, the clock held at its receive time), so that the first flush writes what the
/// crash lost. Replayed messages are not journaled again.
enum JournalReplay {
    struct Outcome {
        /// Messages fed to the pipeline.
        var messages = 0
        /// Rows skipped, by source name: the source is no longer configured, the source is
        /// authenticated and the row's publisher is no longer known, or the row is damaged.
        var skipped: [String: Int64] = [:]
        /// The largest `seq` read (the position the next checkpoint covers).
        var lastSeq: Int64 = 0
        /// Rows whose frames could not be read back (``JournalRecord/isDamaged``), also in `skipped`.
        var damaged = 0

        /// `journal_replay_skipped{source}` for the first flush.
        var counterDeltas: [CounterDelta] {
            skipped.sorted { $0.key < $1.key }.map {
                CounterDelta(name: "journal_replay_skipped", labels: CanonicalLabels.json(["source": $0.key]), delta: $0.value)
            }
        }
    }

    /// Feeds the journal rows after `position` to `pipeline`. `authenticated[i]` tells whether
    /// source `i` is a CURVE source (its messages must carry a known publisher).
    static func replay(into pipeline: IngestPipeline, clock: ReplayClock, from store: KPIStore, after position: Int64,
                       authenticated: [Bool], logger: Logger) throws -> Outcome {
        var outcome = Outcome()
        var sourceIndex: [String: Int] = [:]
        for (i, name) in pipeline.sources.enumerated() { sourceIndex[name] = i }
        let started = ContinuousClock.now
        defer { clock.release() }
        try store.readJournal(after: position) { r in
            outcome.lastSeq = r.seq
            if r.isDamaged {
                outcome.damaged += 1
                outcome.skipped[r.source, default: 0] += 1
                return
            }
            guard let source = sourceIndex[r.source] else {
                outcome.skipped[r.source, default: 0] += 1
                return
            }
            var publisher = -1
            if source < authenticated.count, authenticated[source] {
                guard let name = r.publisher, let p = pipeline.permissions.index(of: name) else {
                    outcome.skipped[r.source, default: 0] += 1
                    return
                }
                publisher = p
            }
            clock.hold(at: r.receivedAt)
            pipeline.process(frameCount: r.frameCount, first: r.first, second: r.second, source: source, publisher: publisher)
            outcome.messages += 1
        }
        let elapsed = (ContinuousClock.now - started).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        if outcome.damaged > 0 {
            logger.warning("journal rows could not be read back and were skipped", metadata: ["damaged": "\(outcome.damaged)"])
        }
        if outcome.messages > 0 || !outcome.skipped.isEmpty {
            logger.info("journal replayed", metadata: [
                "messages": "\(outcome.messages)", "after_seq": "\(position)", "to_seq": "\(outcome.lastSeq)",
                "skipped": "\(outcome.skipped.values.reduce(0, +))", "damaged": "\(outcome.damaged)", "seconds": "\(String(format: "%.3f", seconds))",
            ])
        }
        return outcome
    }
}
