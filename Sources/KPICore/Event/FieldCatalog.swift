/// The fields a loaded config reads, each given a slot number.
///
/// The decoder extracts exactly these fields and nothing else. Slot 0 is always `type` and
/// slot 1 is always `ts`; the rest follow in order of first use by the metrics.
public struct FieldCatalog: Sendable, Equatable {
    /// Slot of the event's `type` field.
    public static let typeSlot = 0
    /// Slot of the event's `ts` field.
    public static let timestampSlot = 1

    /// Field names by slot.
    public private(set) var names: [String] = ["type", "ts"]
    private var index: [String: Int] = ["type": 0, "ts": 1]

    public init() {}

    /// The slot of `name`, adding it when it is new.
    @discardableResult
    public mutating func slot(for name: String) -> Int {
        if let i = index[name] { return i }
        names.append(name)
        index[name] = names.count - 1
        return names.count - 1
    }

    /// The slot of `name`, or nil when no metric reads it.
    public func existingSlot(for name: String) -> Int? { index[name] }

    /// Number of slots.
    public var count: Int { names.count }
}
