import KPICore
import XCTest

final class AlertTemplateTests: XCTestCase {
    func ctx(_ value: Double?, _ labels: [String: String] = ["retailer": "acme"]) -> AlertTemplate.Context {
        .init(value: value, threshold: 0.95, labels: labels, alertname: "scraper_success", severity: "high",
              metric: "scrape_ok", period: "hour", samples: 12)
    }

    func testLabelsAndPercentRender() throws {
        let t = try AlertTemplate("{{ labels.retailer }} success {{ value | percent }}")
        XCTAssertEqual(t.render(ctx(0.9312)), "acme success 93.12%")
        XCTAssertEqual(t.render(ctx(0.008)), "acme success 0.8%")
    }

    func testFiltersChain() throws {
        XCTAssertEqual(try AlertTemplate("{{value|round(1)}}").render(ctx(2.345)), "2.3")
        XCTAssertEqual(try AlertTemplate("{{ value | humanize }}").render(ctx(1234567)), "1.23M")
        XCTAssertEqual(try AlertTemplate("{{ labels.retailer | upper }}").render(ctx(1)), "ACME")
        XCTAssertEqual(try AlertTemplate("{{ labels.zone | default(\"none\") }}").render(ctx(1)), "none")
        XCTAssertEqual(try AlertTemplate("{{ threshold | percent(0) }} {{ alertname }} {{ severity }} {{ samples }}").render(ctx(1)),
                       "95% scraper_success high 12")
    }

    func testMissingLabelAndMissingValueRenderEmpty() throws {
        XCTAssertEqual(try AlertTemplate("[{{ labels.nope }}][{{ value }}]").render(ctx(nil)), "[][]")
    }

    func testErrorsNameTheColumn() {
        func error(_ s: String) -> AlertTemplate.CompileError? {
            do { _ = try AlertTemplate(s); return nil } catch { return error }
        }
        XCTAssertEqual(error("ok {{ valeu }}")?.column, 6)
        XCTAssertTrue(error("ok {{ valeu }}")?.message.contains("unknown variable 'valeu'") ?? false)
        XCTAssertTrue(error("{{ value | percnt }}")?.message.contains("unknown filter 'percnt'") ?? false)
        XCTAssertEqual(error("abc {{ value")?.column, 5)
        XCTAssertNotNil(error("{{ value | round(x) }}"))
        XCTAssertNotNil(error("a }} b"))
        XCTAssertNotNil(error("{{ }}"))
    }

    func testNumberFormatting() {
        XCTAssertEqual(NumberText.fixed(0.125, decimals: 2), "0.13")
        XCTAssertEqual(NumberText.fixed(-1.5, decimals: 0), "-2")
        XCTAssertEqual(NumberText.shortest(42), "42")
        XCTAssertEqual(NumberText.shortest(0.25), "0.25")
    }
}
