import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The operator CLI: round trips, documented exit codes, clear errors.
@Suite struct CLITests {
    @Test func produceConsumeRoundTripKeepsPersianTextAndOrder() throws {
        let dir = CLI.temporaryDirectory("roundtrip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try CLI.run(["log", "create", "transactions", "--partitions", "4", "--data-dir", dir]).status == 0)
        let input = (0..<50).map { i in "IR\(i % 5)|برداشت \(i) ریال" }.joined(separator: "\r\n") + "\r\n"
        let produced = try CLI.run(["log", "produce", "transactions", "--key-separator", "|", "--print-acks", "--data-dir", dir], input: input)
        #expect(produced.status == 0, "\(produced.stderr)")
        #expect(produced.stdout.split(separator: "\n").count == 50)
        let consumed = try CLI.run(["log", "consume", "transactions", "--from-beginning", "--exit-at-end", "--format", "%k\\t%s\\n", "--data-dir", dir])
        #expect(consumed.status == 0, "\(consumed.stderr)")
        let lines = consumed.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 50)
        for key in 0..<5 {
            let mine = lines.filter { $0.hasPrefix("IR\(key)\t") }
            #expect(mine == (0..<50).filter { $0 % 5 == key }.map { "IR\(key)\tبرداشت \($0) ریال" }, "per-key order or content changed")
        }
    }

    @Test func groupConsumptionCommitsAndResumes() throws {
        let dir = CLI.temporaryDirectory("group")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try CLI.run(["log", "create", "t", "--partitions", "2", "--data-dir", dir]).status == 0)
        #expect(try CLI.run(["log", "produce", "t", "--data-dir", dir], input: "a\nb\nc\n").status == 0)
        let first = try CLI.run(["log", "consume", "t", "--group", "g", "--from-beginning", "--exit-at-end", "--data-dir", dir])
        #expect(first.stdout.split(separator: "\n").sorted() == ["a", "b", "c"])
        #expect(try CLI.run(["log", "produce", "t", "--data-dir", dir], input: "d\n").status == 0)
        let second = try CLI.run(["log", "consume", "t", "--group", "g", "--exit-at-end", "--data-dir", dir])
        #expect(second.stdout == "d\n", "the group should resume after its committed offsets")
        let groups = try CLI.run(["log", "groups", "--json", "--data-dir", dir])
        let parsed = try JSONSerialization.jsonObject(with: Data(groups.stdout.utf8)) as? [[String: Any]]
        let lags = (parsed?.first?["partitions"] as? [[String: Any]])?.compactMap { $0["lag"] as? Int }
        #expect(lags == [0, 0])
        let replay = try CLI.run(["log", "reset-offsets", "g", "t", "--to-earliest", "--data-dir", dir])
        #expect(replay.status == 0, "\(replay.stderr)")
        let again = try CLI.run(["log", "consume", "t", "--group", "g", "--exit-at-end", "--data-dir", dir])
        #expect(again.stdout.split(separator: "\n").count == 4, "reset to earliest replays everything")
    }

    @Test(arguments: [
        (["log", "consume", "nosuch", "--exit-at-end"], Int32(66), "does not exist"),
        (["log", "describe", "Bad Name"], Int32(65), "invalid topic name"),
        (["log", "consume", "t", "--partition", "9", "--exit-at-end"], Int32(66), "no partition 9"),
        (["log", "consume", "t", "--partition", "0", "--offset=-1"], Int32(64), "must not be negative"),
        (["log", "consume", "t", "--partition", "0", "--offset", "99", "--exit-at-end"], Int32(65), "outside"),
        (["log", "create", "t"], Int32(73), "already exists"),
        (["log", "create", "u", "--fsync", "sometimes"], Int32(65), "invalid fsync policy"),
        (["log", "consume", "t", "--format", "%q", "--exit-at-end"], Int32(64), "unknown placeholder"),
    ])
    func badInputGivesClearErrorAndExitCode(args: [String], status: Int32, message: String) throws {
        let dir = CLI.temporaryDirectory("errors")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try CLI.run(["log", "create", "t", "--partitions", "2", "--data-dir", dir]).status == 0)
        let result = try CLI.run(args + ["--data-dir", dir])
        #expect(result.status == status, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
    }

    @Test func secondProcessOnALockedDirectoryIsRefusedClearly() throws {
        let dir = CLI.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try CLI.run(["log", "create", "t", "--data-dir", dir]).status == 0)
        // A consumer waiting at the end holds the directory.
        let holder = try CLI.startDirectoryHolder(dir)
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        let r = try CLI.run(["log", "topics", "--data-dir", dir])
        #expect(r.status == 75)
        // Named by what really holds it, not a guess.
        #expect(r.stderr.contains("in use by process \(holder.processIdentifier) (chapar log consume t --data-dir "), "\(r.stderr)")
        // After the holder dies (even by SIGKILL) the kernel drops the lock.
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        #expect(try CLI.run(["log", "topics", "--data-dir", dir]).status == 0)
    }
}
