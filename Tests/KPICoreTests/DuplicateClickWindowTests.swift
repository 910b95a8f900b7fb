import XCTest
@testable import KPICore

/// The duplicate-click filter of the qualification pipeline (issue 3, "Duplicate clicks").
final class DuplicateClickWindowTests: XCTestCase {
    private let t0: EpochMillis = 1_763_856_000_000 // 2025-11-23T00:00:00Z
    private let visitorA: UInt64 = 0x1234_5678_9ABC_DEF0
    private let visitorB: UInt64 = 0x0FED_CBA9_8765_4321

    private func verdicts(_ w: DuplicateClickWindow, _ key: UInt64, at offsets: [Int64]) -> [DuplicateClickWindow.Verdict] {
        offsets.map { w.check(key, at: t0 + $0) }
    }

    // MARK: - The rule

    func testFirstClickOfAKeyIsCounted() {
        let w = DuplicateClickWindow()
        XCTAssertEqual(w.check(visitorA, at: t0), .counted)
        XCTAssertEqual(w.liveKeys, 1)
    }

    func testClickAt4m59s999AfterACountedClickIsADuplicate() {
        let w = DuplicateClickWindow(window: 5 * minute)
        XCTAssertEqual(verdicts(w, visitorA, at: [0, 5 * minute - 1]), [.counted, .duplicate])
    }

    func testClickAtExactlyFiveMinutesIsCountedAgain() {
        let w = DuplicateClickWindow(window: 5 * minute)
        XCTAssertEqual(verdicts(w, visitorA, at: [0, 5 * minute]), [.counted, .counted])
    }

    func testDefaultWindowIsFiveMinutes() {
        let w = DuplicateClickWindow()
        XCTAssertEqual(w.window, 5 * minute)
        XCTAssertEqual(verdicts(w, visitorA, at: [0, 5 * minute - 1, 5 * minute]), [.counted, .duplicate, .counted])
    }

    func testClickEveryFourMinutesIsCountedAt0_8_16Minutes() {
        let w = DuplicateClickWindow(window: 5 * minute)
        let got = verdicts(w, visitorA, at: (0...6).map { Int64($0) * 4 * minute })
        XCTAssertEqual(got, [.counted, .duplicate, .counted, .duplicate, .counted, .duplicate, .counted],
                       "0, 8, 16, 24 minutes counted; 4, 12, 20 minutes duplicates")
    }

    func testDuplicatesDoNotExtendTheWindow() {
        let w = DuplicateClickWindow(window: 5 * minute)
        // Clicks every second for 10 minutes: counted at 0, 5:00, 10:00 only.
        var counted: [Int64] = []
        for s in stride(from: Int64(0), through: 10 * 60, by: 1) where w.check(visitorA, at: t0 + s * second) == .counted {
            counted.append(s)
        }
        XCTAssertEqual(counted, [0, 300, 600])
    }

    func testDifferentKeysAreIndependent() {
        let w = DuplicateClickWindow(window: 5 * minute)
        XCTAssertEqual(w.check(visitorA, at: t0), .counted)
        XCTAssertEqual(w.check(visitorB, at: t0 + second), .counted)
        XCTAssertEqual(w.check(visitorA, at: t0 + 2 * second), .duplicate)
        XCTAssertEqual(w.check(visitorB, at: t0 + 5 * minute), .duplicate, "B was counted at 0:01")
        XCTAssertEqual(w.check(visitorA, at: t0 + 5 * minute), .counted)
        XCTAssertEqual(w.liveKeys, 2)
    }

    func testZeroWindowNeverMarksADuplicate() {
        let w = DuplicateClickWindow(window: 0)
        XCTAssertEqual(verdicts(w, visitorA, at: [0, 0, 1]), [.counted, .counted, .counted])
    }

    func testKeysZeroAndOneAreOrdinaryKeys() {
        let w = DuplicateClickWindow(window: 5 * minute)
        XCTAssertEqual(w.check(0, at: t0), .counted)
        XCTAssertEqual(w.check(1, at: t0), .counted)
        XCTAssertEqual(w.check(0, at: t0 + 1), .duplicate)
        XCTAssertEqual(w.check(1, at: t0 + 1), .duplicate)
        XCTAssertEqual(w.liveKeys, 2)
    }

    func testTimesFarApartDoNotOverflow() {
        let w = DuplicateClickWindow(window: 5 * minute)
        XCTAssertEqual(w.check(visitorA, at: .max), .counted)
        XCTAssertEqual(w.check(visitorA, at: .min), .counted)
        XCTAssertEqual(w.check(visitorA, at: .max - 5 * minute + 1), .duplicate)
    }

    // MARK: - Out of order

    func testEarlierClickWithinTheWindowArrivingLateIsADuplicate() {
        let w = DuplicateClickWindow(window: 5 * minute)
        XCTAssertEqual(w.check(visitorA, at: t0 + 10 * minute), .counted)
        XCTAssertEqual(w.check(visitorA, at: t0 + 5 * minute + 1), .duplicate, "4:59.999 before the counted click")
    }

    func testEarlierClickOutsideTheWindowArrivingLateIsCountedAndTheLaterTimeStays() {
        let w = DuplicateClickWindow(window: 5 * minute)
        XCTAssertEqual(w.check(visitorA, at: t0 + 10 * minute), .counted)
        XCTAssertEqual(w.check(visitorA, at: t0 + 5 * minute), .counted, "exactly 5:00 before")
        // The stored time is still 10:00: 14:59.999 is a duplicate of it, 15:00 is not.
        XCTAssertEqual(w.check(visitorA, at: t0 + 15 * minute - 1), .duplicate)
        XCTAssertEqual(w.check(visitorA, at: t0 + 15 * minute), .counted)
        // And 0:00.001 (4:59.999 after the late 5:00 click, which was counted but not stored) is counted.
        XCTAssertEqual(w.check(visitorA, at: t0 + 1), .counted)
    }

    func testClickDecidedOnArrivalIsNotRevisedByAnEarlierOneArrivingLater() {
        let w = DuplicateClickWindow(window: 5 * minute)
        XCTAssertEqual(w.check(visitorA, at: t0 + 3 * minute), .counted)
        XCTAssertEqual(w.check(visitorA, at: t0), .duplicate, "3 minutes before a counted click")
        XCTAssertEqual(w.check(visitorA, at: t0 + 7 * minute), .duplicate, "4 minutes after the counted 3:00")
        XCTAssertEqual(w.check(visitorA, at: t0 + 8 * minute), .counted)
    }

    // MARK: - Expiry

    func testExpiryDropsKeysWhoseWindowEndedAtOrBeforeTheWatermark() {
        let w = DuplicateClickWindow(window: 5 * minute)
        _ = w.check(visitorA, at: t0)
        _ = w.check(visitorB, at: t0 + 1)
        XCTAssertEqual(w.expire(before: t0 + 5 * minute - 1), 0)
        XCTAssertEqual(w.liveKeys, 2)
        XCTAssertEqual(w.expire(before: t0 + 5 * minute), 1, "A's window [0, 5:00) has ended")
        XCTAssertEqual(w.liveKeys, 1)
        XCTAssertEqual(w.expired, 1)
        XCTAssertEqual(w.expire(before: t0 + 5 * minute + 1), 1)
        XCTAssertEqual(w.liveKeys, 0)
        XCTAssertEqual(w.expired, 2)
    }

    func testExpiredKeyNoLongerMarksADuplicate() {
        let w = DuplicateClickWindow(window: 5 * minute)
        _ = w.check(visitorA, at: t0 + 10 * minute)
        w.expire(before: t0 + 15 * minute)
        // Before the watermark the caller rejects clicks as late; if one gets here, nothing dedupes it.
        XCTAssertEqual(w.check(visitorA, at: t0 + 14 * minute), .counted)
    }

    func testExpiryKeepsAKeyCountedAgainAfterItsFirstWindow() {
        let w = DuplicateClickWindow(window: 5 * minute)
        _ = w.check(visitorA, at: t0)
        _ = w.check(visitorB, at: t0 + minute)
        _ = w.check(visitorA, at: t0 + 6 * minute) // counted again: its old queue entry is stale
        XCTAssertEqual(w.expire(before: t0 + 6 * minute), 1, "only B (1:00 + 5:00)")
        XCTAssertEqual(w.check(visitorA, at: t0 + 10 * minute), .duplicate, "A lives on from 6:00")
        XCTAssertEqual(w.expire(before: t0 + 11 * minute), 1)
        XCTAssertEqual(w.liveKeys, 0)
    }

    func testStaleQueueEntriesDoNotBlockExpiry() {
        let w = DuplicateClickWindow(window: 5 * minute)
        _ = w.check(visitorA, at: t0) // queued first
        for i in 0..<100 { _ = w.check(UInt64(1000 + i), at: t0 + minute) }
        _ = w.check(visitorA, at: t0 + 5 * minute) // A counted again, far from expiring
        XCTAssertEqual(w.expire(before: t0 + 6 * minute), 100, "the 100 keys behind A's old entry expire")
        XCTAssertEqual(w.liveKeys, 1)
    }

    func testMemoryIsReusedAfterExpiryAndGivenBackAfterMassExpiry() {
        let w = DuplicateClickWindow(window: 5 * minute)
        let perRound = 20_000
        var peak = 0
        for round in 0..<6 {
            let base = t0 + Int64(round) * 10 * minute
            for i in 0..<perRound { _ = w.check(UInt64(round * perRound + i) &* 0x9E37_79B9_7F4A_7C15, at: base) }
            XCTAssertEqual(w.liveKeys, perRound)
            if round == 1 { peak = w.residentBytes }
            if round > 1 { XCTAssertLessThanOrEqual(w.residentBytes, peak, "round \(round) reuses the memory") }
            w.expire(before: base + 5 * minute)
            XCTAssertEqual(w.liveKeys, 0)
        }
        XCTAssertEqual(w.expired, 6 * perRound)
        XCTAssertLessThan(w.residentBytes, peak / 10, "tables shrink once most keys are gone")
    }

    func testResidentBytesPerKeyStayUnder48() {
        let w = DuplicateClickWindow(window: 5 * minute)
        var worst = 0.0
        for i in 1...200_000 {
            _ = w.check(UInt64(i) &* 0xD6E8_FEB8_6659_FD93, at: t0)
            if i >= 1000 { worst = max(worst, Double(w.residentBytes) / Double(i)) }
        }
        XCTAssertLessThanOrEqual(worst, 48, "worst bytes per live key while growing from 1,000 to 200,000 keys")
    }

    // MARK: - Cap

    func testCapEvictsTheOldestKeysFirstAndCountsThem() {
        let w = DuplicateClickWindow(window: 5 * minute, maxLiveKeys: 3)
        for k in UInt64(1)...3 { _ = w.check(k * 1_000_003, at: t0 + Int64(k)) }
        XCTAssertEqual(w.evictions, 0)
        _ = w.check(4 * 1_000_003, at: t0 + 4)
        _ = w.check(5 * 1_000_003, at: t0 + 5)
        XCTAssertEqual(w.liveKeys, 3)
        XCTAssertEqual(w.evictions, 2)
        var live: [UInt64] = []
        w.forEach { k, _ in live.append(k / 1_000_003) }
        XCTAssertEqual(live, [3, 4, 5])
        XCTAssertEqual(w.check(1 * 1_000_003, at: t0 + 6), .counted, "the evicted key 1 is forgotten")
        XCTAssertEqual(w.check(5 * 1_000_003, at: t0 + 7), .duplicate)
    }

    func testMemoryStaysFlatWhileEvictingAtTheCap() {
        let w = DuplicateClickWindow(window: 5 * minute, maxLiveKeys: 10_000)
        for i in 0..<10_000 { _ = w.check(UInt64(i + 1) &* 0xD6E8_FEB8_6659_FD93, at: t0) }
        let full = w.residentBytes
        for i in 10_000..<200_000 { _ = w.check(UInt64(i + 1) &* 0xD6E8_FEB8_6659_FD93, at: t0 + 1) }
        XCTAssertEqual(w.evictions, 190_000)
        XCTAssertEqual(w.liveKeys, 10_000)
        XCTAssertEqual(w.residentBytes, full)
    }

    func testKeyCountedAgainIsNotTheOldest() {
        let w = DuplicateClickWindow(window: 5 * minute, maxLiveKeys: 2)
        _ = w.check(visitorA, at: t0)
        _ = w.check(visitorB, at: t0 + minute)
        _ = w.check(visitorA, at: t0 + 6 * minute) // A counted again after B
        _ = w.check(7, at: t0 + 7 * minute) // evicts B, not A
        XCTAssertEqual(w.evictions, 1)
        XCTAssertEqual(w.check(visitorA, at: t0 + 8 * minute), .duplicate)
        XCTAssertEqual(w.check(visitorB, at: t0 + 8 * minute), .counted)
    }

    func testDuplicatesNeverEvict() {
        let w = DuplicateClickWindow(window: 5 * minute, maxLiveKeys: 1)
        _ = w.check(visitorA, at: t0)
        for s in 1..<100 { XCTAssertEqual(w.check(visitorA, at: t0 + Int64(s) * second), .duplicate) }
        XCTAssertEqual(w.evictions, 0)
        XCTAssertEqual(w.liveKeys, 1)
    }

    // MARK: - Probing

    func testKeysSharingAHomeSlotStayFindableAfterDeletionsInTheirCluster() {
        let w = DuplicateClickWindow(window: 5 * minute)
        // h · capacity / 2⁶⁴ is capacity/2 for every one of these: one long probe cluster.
        let keys = (0..<40).map { 0x8000_0000_0000_0000 | UInt64($0) }
        for (i, k) in keys.enumerated() { _ = w.check(k, at: t0 + Int64(i)) }
        // Expire the first 20 (times 0…19), which sit at the start of the cluster.
        XCTAssertEqual(w.expire(before: t0 + 5 * minute + 19), 20)
        for (i, k) in keys.enumerated() {
            let expected: DuplicateClickWindow.Verdict = i < 20 ? .counted : .duplicate
            XCTAssertEqual(w.check(k, at: t0 + 5 * minute + 19), expected, "key \(i)")
        }
        XCTAssertEqual(w.liveKeys, 40)
    }

    // MARK: - Against a reference model

    /// The rule, written again with a Dictionary: last counted time per key, and for the cap the
    /// order in which keys were last stored.
    private struct ReferenceModel {
        let window: Int64
        let cap: Int
        var last: [UInt64: Int64] = [:]
        var stamp: [UInt64: Int] = [:]
        var clock = 0
        var evictions = 0

        mutating func check(_ key: UInt64, _ t: Int64) -> DuplicateClickWindow.Verdict {
            if let l = last[key] {
                if abs(t - l) < window { return .duplicate }
                if t <= l { return .counted }
            }
            last[key] = t
            clock += 1
            stamp[key] = clock
            if last.count > cap, let oldest = stamp.min(by: { $0.value < $1.value })?.key {
                last[oldest] = nil
                stamp[oldest] = nil
                evictions += 1
            }
            return .counted
        }

        mutating func expire(_ watermark: Int64) {
            for (k, l) in last where l + window <= watermark {
                last[k] = nil
                stamp[k] = nil
            }
        }
    }

    private func snapshot(_ w: DuplicateClickWindow) -> [UInt64: Int64] {
        var s: [UInt64: Int64] = [:]
        w.forEach { k, t in
            XCTAssertNil(s[k], "key \(k) listed twice")
            s[k] = t
        }
        return s
    }

    /// Checks one click on both; false (after a failure) when the verdicts differ.
    private func agree(_ w: DuplicateClickWindow, _ model: inout ReferenceModel, _ key: UInt64, _ t: EpochMillis,
                       _ step: Int) -> Bool {
        let got = w.check(key, at: t), want = model.check(key, t)
        if got != want { XCTFail("step \(step): key \(key) at \(t - t0): \(got), model \(want)") }
        return got == want
    }

    func testRandomClicksAndExpiriesAgreeWithAReferenceModel() {
        var rng = SeededRandom(seed: 20_251_123)
        // A lateness longer than the window, so that late clicks are also counted before stored ones.
        let window = 5 * minute, lateness = 12 * minute
        let w = DuplicateClickWindow(window: window, maxLiveKeys: 1 << 30)
        var model = ReferenceModel(window: window, cap: .max)
        // A clustered key space (one home slot) and a scattered one, never 0…3 (0 and 1 are stored as 2 and 3).
        let clustered = (0..<300).map { 0x8000_0000_0000_0000 | UInt64($0) }
        let scattered = (0..<5000).map { UInt64($0 + 4) &* 0x9E37_79B9_7F4A_7C15 }
        var maxSeen = t0
        var shrinks = 0
        for step in 0..<150_000 {
            // Bursty traffic: phases of many new keys, then few, so the table grows and shrinks.
            let phase = (step / 25_000) % 2
            let key = rng.next() % 4 == 0 ? clustered[Int(rng.next() % 300)]
                : scattered[Int(rng.next() % UInt64(phase == 0 ? 5000 : 200))]
            maxSeen += Int64(rng.next() % 200)
            let watermark = maxSeen - lateness
            let t = watermark + Int64(rng.next() % UInt64(lateness + 1)) // out of order within the lateness
            guard agree(w, &model, key, t, step) else { return }
            if step % 397 == 0 {
                let before = w.residentBytes
                w.expire(before: watermark)
                model.expire(watermark)
                if w.residentBytes < before { shrinks += 1 }
                let state = snapshot(w)
                XCTAssertEqual(state.count, w.liveKeys)
                for (k, l) in model.last where state[k] != l {
                    XCTFail("step \(step): key \(k) has \(String(describing: state[k])), model \(l)")
                    return
                }
                for (k, l) in state where model.last[k] == nil && l + window > watermark {
                    XCTFail("step \(step): key \(k) kept though the model dropped it and it is inside its window")
                    return
                }
            }
        }
        XCTAssertGreaterThan(shrinks, 0, "the run should have shrunk the table at least once")
        w.expire(before: maxSeen + window)
        XCTAssertEqual(w.liveKeys, 0)
    }

    func testRandomClicksAtTheCapAgreeWithAReferenceModel() {
        var rng = SeededRandom(seed: 7)
        let window = 5 * minute
        let cap = 150
        let w = DuplicateClickWindow(window: window, maxLiveKeys: cap)
        var model = ReferenceModel(window: window, cap: cap)
        let keys: [UInt64] = (0..<600).map { (i: Int) -> UInt64 in
            let n = UInt64(i)
            return i % 3 == 0 ? 0x8000_0000_0000_0000 | n : (n + 4) &* 0xD6E8_FEB8_6659_FD93
        }
        var now = t0
        for step in 0..<60_000 {
            now += Int64(rng.next() % 1000)
            let t = now - Int64(rng.next() % UInt64(12 * minute)) // out of order, by more than the window
            let key = keys[Int(rng.next() % 600)]
            guard agree(w, &model, key, t, step) else { return }
            if step % 101 == 0 {
                XCTAssertEqual(snapshot(w), model.last, "step \(step)")
            }
        }
        XCTAssertEqual(w.evictions, model.evictions)
        XCTAssertGreaterThan(w.evictions, 1000)
        XCTAssertEqual(w.liveKeys, cap)
    }

    // MARK: - Checkpoints

    func testForEachAndRestoreRebuildTheSameState() {
        let w = DuplicateClickWindow(window: 5 * minute, maxLiveKeys: 1000)
        var rng = SeededRandom(seed: 99)
        for i in 0..<5000 { _ = w.check(rng.next() % 2000, at: t0 + Int64(i) * 100) }
        var pairs: [(UInt64, EpochMillis)] = []
        w.forEach { pairs.append(($0, $1)) }
        XCTAssertEqual(pairs.count, w.liveKeys)
        let copy = DuplicateClickWindow(window: 5 * minute, maxLiveKeys: 1000)
        for (k, t) in pairs { copy.restore(k, lastCounted: t) }
        var again: [(UInt64, EpochMillis)] = []
        copy.forEach { again.append(($0, $1)) }
        XCTAssertEqual(again.map(\.0), pairs.map(\.0), "same keys in the same (eviction) order")
        XCTAssertEqual(again.map(\.1), pairs.map(\.1))
        for i in 0..<3000 {
            let k = rng.next() % 2000, t = t0 + 500_000 + Int64(i) * 100
            XCTAssertEqual(copy.check(k, at: t), w.check(k, at: t), "click \(i)")
        }
    }

    func testRestoreKeepsTheLaterTime() {
        let w = DuplicateClickWindow(window: 5 * minute)
        w.restore(visitorA, lastCounted: t0 + 10 * minute)
        w.restore(visitorA, lastCounted: t0)
        XCTAssertEqual(w.check(visitorA, at: t0 + 15 * minute - 1), .duplicate)
        XCTAssertEqual(w.liveKeys, 1)
    }

    // MARK: - Keys of fields

    func testKeyOfFieldsDependsOnEveryPartAndItsOrder() {
        var catalog = FieldCatalog()
        let visitor = catalog.slot(for: "visitor"), listing = catalog.slot(for: "listing")
        func key(_ fields: [String: JSON]) -> UInt64 {
            let e = EventFields(catalog: catalog, fields)
            return withExtendedLifetime(e) { DuplicateClickWindow.key(of: e.slots, slots: [visitor, listing]) }
        }
        let base = key(["visitor": "v1", "listing": "l1"])
        XCTAssertEqual(key(["visitor": "v1", "listing": "l1"]), base)
        XCTAssertNotEqual(key(["visitor": "v2", "listing": "l1"]), base)
        XCTAssertNotEqual(key(["visitor": "v1", "listing": "l2"]), base)
        XCTAssertNotEqual(key(["visitor": "l1", "listing": "v1"]), base, "order matters")
        XCTAssertNotEqual(key(["visitor": "v1", "listing": 1]), key(["visitor": "v1", "listing": "1"]), "kinds differ")
    }

    func testKeyOfSlotsEqualsKeyOfTheValuesInOrder() {
        var catalog = FieldCatalog()
        let visitor = catalog.slot(for: "visitor"), listing = catalog.slot(for: "listing")
        let e = EventFields(catalog: catalog, ["visitor": "v-42", "listing": 1234])
        withExtendedLifetime(e) {
            let values = [e.slots[visitor], e.slots[listing]]
            let direct = values.withUnsafeBufferPointer { DuplicateClickWindow.key(of: $0) }
            XCTAssertEqual(DuplicateClickWindow.key(of: e.slots, slots: [visitor, listing]), direct)
        }
    }
}

/// SplitMix64: a seeded generator, so that a failing random test can be replayed.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
