import ChaparModels
import Foundation
import Testing
import Notifier

/// Renders per second on one core, through the public API only.
///
/// Runs 2,000 renders as a smoke check in every test run; set `CHAPAR_RENDER_BENCH=200000` and
/// use a release build for the real number:
/// `CHAPAR_RENDER_BENCH=200000 swift test -c release --scratch-path .build-release --filter RenderingBenchmark`
@Suite(.serialized) struct RenderingBenchmark {
    static let count = Int(ProcessInfo.processInfo.environment["CHAPAR_RENDER_BENCH"] ?? "") ?? 2_000

    static func measure(_ label: String, _ event: Event, _ customer: CustomerProfile, _ channel: Channel) throws -> Double {
        let renderer = RenderingFixtures.renderer
        var bytes = 0
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = Self.threadCPUSeconds()
        for _ in 0..<count {
            switch try renderer.render(event, for: customer, channel: channel) {
            case .sms(let text, _, _)?: bytes &+= text.utf8.count
            case .email(_, let text, let html)?: bytes &+= text.utf8.count + html.utf8.count
            case .fax(_, let lines)?: bytes &+= lines.count
            case .im(let text, _)?: bytes &+= text.utf8.count
            case nil: Issue.record("no template for \(label)")
            }
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let cpu = Self.threadCPUSeconds() - cpuStart
        let rate = Double(count) / seconds
        // CPU time of this thread too: on a shared machine wall time includes waiting for a core.
        print("render benchmark: \(label): \(count) renders in \(String(format: "%.3f", seconds)) s wall = \(Int(rate)) renders/s; "
              + "\(String(format: "%.3f", cpu)) s CPU = \(Int(Double(count) / cpu)) renders per CPU-second (\(bytes) bytes)")
        #expect(bytes > 0)
        return rate
    }

    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    @Test func faDebitSMS() throws {
        _ = try Self.measure("fa debit sms", RenderingFixtures.debit, RenderingFixtures.maryam, .sms)
    }

    @Test func enDebitEmail() throws {
        _ = try Self.measure("en debit email", RenderingFixtures.debit, RenderingFixtures.sara, .email)
    }

    @Test func faOTPIM() throws {
        _ = try Self.measure("fa otp im", RenderingFixtures.otp, RenderingFixtures.maryam, .im)
    }
}
