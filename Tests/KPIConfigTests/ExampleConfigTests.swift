import Foundation
import KPIConfig
import KPICore
import XCTest

/// Every file under `conf/examples/` must load: the examples are documentation users copy.
final class ExampleConfigTests: XCTestCase {
    private var examples: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("conf/examples")
    }

    private func exampleFiles() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: examples, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "toml" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func testEveryExampleConfigLoads() throws {
        let files = try exampleFiles()
        XCTAssertTrue(files.contains { $0.lastPathComponent == "salon.toml" }, "\(files)")
        for f in files {
            let result = ConfigLoader.diagnose(contentsOf: f.path)
            XCTAssertEqual(result.errors, [], "\(f.lastPathComponent):\n\(result.errors.configDescription)")
            XCTAssertFalse(result.config?.metrics.isEmpty ?? true, f.lastPathComponent)
        }
    }

    func testSalonKPIsArePerTenantPerDayWeekAndMonth() throws {
        let config = try ConfigLoader.load(contentsOf: examples.appendingPathComponent("salon.toml").path)
        let kpis = ["booking_success_rate", "admin_intervention_rate", "reminder_delivery_rate", "cancellation_rate",
                    "no_show_rate", "average_ticket", "feedback_average"]
        for name in kpis {
            let shape: (windows: [CalendarPeriod], groupBy: [String])?
            if let m = config.metrics.first(where: { $0.name == name }) {
                shape = (m.windows, m.groupBy)
            } else if let d = config.derivedMetrics.first(where: { $0.name == name }) {
                shape = (d.windows, d.groupBy)
            } else {
                shape = nil
            }
            XCTAssertEqual(shape.map { Set($0.windows) }, [.day, .week, .month], name)
            XCTAssertEqual(shape?.groupBy, ["tenant"], name)
        }
        XCTAssertEqual(config.timeZone, "America/New_York")
    }
}
