import XCTest
@testable import KPICore

/// Integral numbers render as their exact integer digits at every magnitude, the way Python's
/// `str(int(x))` renders them (the e2e replica relies on this).
final class LabelNumberFormatTests: XCTestCase {
    func testIntegralNumbersAtAndBeyondTwoToThe53RenderWithoutFractionOrExponent() {
        // Expected digits computed by Python: str(int(v)).
        XCTAssertEqual(LabelValue.format(9_007_199_254_740_992), "9007199254740992")
        XCTAssertEqual(LabelValue.format(1e16), "10000000000000000")
        XCTAssertEqual(LabelValue.format(1_152_921_504_606_846_976), "1152921504606846976")
        XCTAssertEqual(LabelValue.format(9_223_372_036_854_775_808), "9223372036854775808")
        XCTAssertEqual(LabelValue.format(-18_446_744_073_709_551_616), "-18446744073709551616")
        XCTAssertEqual(LabelValue.format(123456789012345678901234567890.0), "123456789012345677877719597056")
    }

    func testFractionsAndSmallIntegersKeepTheirShortForms() {
        XCTAssertEqual(LabelValue.format(200), "200")
        XCTAssertEqual(LabelValue.format(-3), "-3")
        XCTAssertEqual(LabelValue.format(0.25), "0.25")
        XCTAssertEqual(LabelValue.format(1e-7), "1e-07")
    }
}
