import Testing
import ChaparModels

/// `CalendarDate` text in and out: the fixed `YYYY-MM-DD` form both ways, and everything else refused.
@Suite struct CalendarDateTests {
    @Test("description pads every part and parses back", arguments: [(1, 1, 1, "0001-01-01"), (999, 9, 9, "0999-09-09"),
                                                                       (2026, 11, 24, "2026-11-24"), (9999, 12, 31, "9999-12-31"),
                                                                       (2024, 2, 29, "2024-02-29")])
    func roundTrip(_ y: Int, _ m: Int, _ d: Int, _ text: String) throws {
        let date = try CalendarDate(year: y, month: m, day: d)
        #expect(date.description == text)
        #expect(try CalendarDate(iso: text) == date)
        #expect(try CalendarDate(iso: Substring(text)) == date)
    }

    @Test("anything but YYYY-MM-DD is refused", arguments: ["", "2026-11-2", "2026-11-245", "2026-11-24 ", " 2026-11-24", "2026/11/24",
                                                          "2026-1a-24", "۲۰۲۶-۱۱-۲۴", "2026-00-10", "2026-11-31", "0000-01-01", "20261124xx"])
    func refused(_ text: String) {
        #expect(throws: InvalidValue.self) { try CalendarDate(iso: text) }
    }
}
