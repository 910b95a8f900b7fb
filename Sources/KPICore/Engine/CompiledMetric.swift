import Foundation

/// A ``MetricDefinition`` bound to decoder slots and time zones, ready for the hot path.
struct CompiledMetric {
    let definition: MetricDefinition
    let index: Int
    /// The filter, boxed so that the hot path can reach it through an unmanaged reference.
    let filterBox: FilterBox?
    var filter: CompiledFilter? { filterBox?.filter }
    /// Slot of the aggregate's field, or -1 for `count`.
    let valueSlot: Int
    let needsNumber: Bool
    let isDistinct: Bool
    /// The quantiles of a `quantile` / `median` metric (one row each), empty otherwise.
    let quantiles: [Double]
    let periods: [CalendarPeriod]
    /// One windowing per period (shared per zone would be cheaper to build, but each keeps its
    /// own cache, so one per metric keeps the hit rate high).
    let windowing: CalendarWindowing
    /// Shared by the metrics with the same group-by list (see `init`).
    let groups: GroupTable
    /// The label sets this metric admitted, against its `max_label_sets`.
    let budget: LabelBudget

    /// `groupTables` holds the label tables built so far by group-by list: metrics grouping by the
    /// same fields in the same order share one, so an event's label set is looked up once for
    /// all of them (see ``GroupTable/group(for:event:)``).
    init(_ def: MetricDefinition, index: Int, defaultZone: TimeZone, catalog: inout FieldCatalog,
         groupTables: inout [[String]: GroupTable], maxLabelSets: Int = 10_000) {
        definition = def
        budget = LabelBudget(cap: def.maxLabelSets ?? maxLabelSets)
        self.index = index
        filterBox = def.filter.map { FilterBox(CompiledFilter($0, catalog: &catalog)) }
        valueSlot = def.aggregate.field.map { catalog.slot(for: $0) } ?? -1
        needsNumber = def.aggregate.needsNumber
        if case .distinct = def.aggregate { isDistinct = true } else { isDistinct = false }
        if case .quantile(_, let qs) = def.aggregate { quantiles = qs } else { quantiles = [] }
        periods = def.windows
        let zone = def.timeZone.flatMap { TimeZone(identifier: $0) } ?? defaultZone
        windowing = CalendarWindowing(timeZone: zone)
        if let shared = groupTables[def.groupBy] {
            groups = shared
        } else {
            groups = GroupTable(slots: def.groupBy.map { catalog.slot(for: $0) }, names: def.groupBy)
            groupTables[def.groupBy] = groups
        }
    }
}

/// What ``WindowEngine/ingest(typeID:timestamp:slots:)`` reads per metric, as plain values: no
/// arrays, and the metric's label table and windowing as unmanaged references. The
/// ``CompiledMetric`` in the engine's `metrics` owns those objects for the engine's lifetime,
/// which is what makes the unmanaged use safe; the hot path then does no reference counting.
struct MetricPlan {
    let valueSlot: Int
    let needsNumber: Bool
    let isDistinct: Bool
    /// A `quantile` metric: values go into a sketch and must be ≥ 0.
    let isQuantile: Bool
    /// For `distinct`: exact up to this many values per cell.
    let distinctExactMax: Int
    let filter: Unmanaged<FilterBox>?
    /// The metric's window lanes are the engine's `lanes[firstLane ..< endLane]`.
    let firstLane: Int
    let endLane: Int
    let groups: Unmanaged<GroupTable>
    let budget: Unmanaged<LabelBudget>
    let windowing: Unmanaged<CalendarWindowing>

    init(_ m: CompiledMetric, lanes: Range<Int>) {
        valueSlot = m.valueSlot
        needsNumber = m.needsNumber
        isDistinct = m.isDistinct
        isQuantile = !m.quantiles.isEmpty
        distinctExactMax = m.definition.distinctExactMax
        filter = m.filterBox.map { .passUnretained($0) }
        firstLane = lanes.lowerBound
        endLane = lanes.upperBound
        groups = .passUnretained(m.groups)
        budget = .passUnretained(m.budget)
        windowing = .passUnretained(m.windowing)
    }
}

/// One kind of window a metric's events are folded into: a calendar period, or the panes of
/// its rolling window. Plain values, read per event.
struct WindowLane {
    /// The cells' `period` key: the calendar period's index, or ``WindowLane/paneCode``.
    let code: Int32
    let period: CalendarPeriod
    /// Pane length of a rolling window's lane, 0 for a calendar period.
    let paneMillis: Int64

    /// The `period` key of rolling panes (after the calendar periods' indices).
    static let paneCode: Int32 = 8

    init(_ period: CalendarPeriod) {
        code = Int32(period.index)
        self.period = period
        paneMillis = 0
    }

    init(panes rolling: RollingWindow) {
        code = Self.paneCode
        period = .minute
        paneMillis = rolling.stepMillis
    }

    /// The lanes of a metric: its calendar periods, then its rolling panes.
    static func lanes(of m: CompiledMetric) -> [WindowLane] {
        m.periods.map { WindowLane($0) } + (m.definition.rolling.map { [WindowLane(panes: $0)] } ?? [])
    }
}

/// A compiled filter in a class, so that ``MetricPlan`` can refer to it without reference counting.
final class FilterBox {
    let filter: CompiledFilter
    init(_ filter: CompiledFilter) { self.filter = filter }
}

/// Why one metric refused an event that other metrics may still count.
public enum MetricRejectReason: String, Sendable, CaseIterable {
    /// The aggregate's field, or a field the filter compares, has the wrong JSON type.
    case wrongFieldType = "wrong_field_type"
    /// A numeric aggregate's field is absent or null.
    case missingField = "missing_field"
    /// A numeric aggregate's field is NaN or an infinity.
    case notFinite = "not_finite"
    /// A quantile's field is negative (a sketch holds values ≥ 0, such as latencies).
    case negativeValue = "negative_value"
}
