import KPICore
import KPIPipeline
import KPIStore
import Logging

/// Loads the checkpointed state from the store into a new pipeline and turns its checkpoints on:
/// at start (after a crash, a restart or a deploy) and on reload. Metrics whose definition
/// changed or that are gone lose their state (see ``KPIStore/loadState(fingerprints:pipelines:)``);
/// the others resume exactly where the last committed flush left off.
enum StateRestore {
    /// Restores `pipeline` (new, nothing processed) from `store`; returns the cells restored.
    @discardableResult
    static func restore(_ pipeline: IngestPipeline, from store: KPIStore, logger: Logger) throws -> Int {
        let started = ContinuousClock.now
        let state = try store.loadState(fingerprints: pipeline.engine.fingerprints,
                                        pipelines: Set(pipeline.stages.map(\.config.name)))
        let summary = pipeline.restore(state)
        pipeline.checkpointing = true
        let elapsed = ContinuousClock.now - started
        let dedupeKeys = state.dedupe.values.reduce(0) { $0 + $1.keys.count }
        logger.info("state restored", metadata: [
            "cells": "\(summary.cells)", "distinct_elements": "\(summary.distinctElements)",
            "label_sets": "\(summary.labelSets)", "dedupe_keys": "\(dedupeKeys)", "publishers": "\(state.sequences.count)",
            "skipped": "\(summary.skipped)",
            "watermark": "\(state.engine.maxEventTime == .min ? "none" : Timestamp.formatRFC3339(pipeline.engine.watermark))",
            "seconds": "\(Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))",
        ])
        return summary.cells
    }
}
