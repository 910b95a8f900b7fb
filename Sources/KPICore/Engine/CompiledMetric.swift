import Foundation

/// A ``MetricDefinition`` bound to decoder slots and time zones, ready for the hot path.
struct CompiledMetric {
    let definition: MetricDefinition
    let index: Int
    let filter: CompiledFilter?
    /// Slot of the aggregate's field, or -1 for `count`.
    let valueSlot: Int
    let needsNumber: Bool
    let isDistinct: Bool
    let periods: [CalendarPeriod]
    /// One windowing per period (shared per zone would be cheaper to build, but each keeps its
    /// own cache, so one per metric keeps the hit rate high).
    let windowing: CalendarWindowing
    var groups: GroupTable

    init(_ def: MetricDefinition, index: Int, defaultZone: TimeZone, catalog: inout FieldCatalog) {
        definition = def
        self.index = index
        filter = def.filter.map { CompiledFilter($0, catalog: &catalog) }
        valueSlot = def.aggregate.field.map { catalog.slot(for: $0) } ?? -1
        needsNumber = def.aggregate.needsNumber
        if case .distinct = def.aggregate { isDistinct = true } else { isDistinct = false }
        periods = def.windows
        let zone = def.timeZone.flatMap { TimeZone(identifier: $0) } ?? defaultZone
        windowing = CalendarWindowing(timeZone: zone)
        groups = GroupTable(slots: def.groupBy.map { catalog.slot(for: $0) }, names: def.groupBy)
    }
}

/// Why one metric refused an event that other metrics may still count.
public enum MetricRejectReason: String, Sendable, CaseIterable {
    /// The aggregate's field, or a field the filter compares, has the wrong JSON type.
    case wrongFieldType = "wrong_field_type"
    /// A numeric aggregate's field is absent or null.
    case missingField = "missing_field"
}
