import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One line of fakesmsc's output: an MT that reached the fake SMSC.
///
/// fakesmsc prints `Got message N: <from to TYPE payload>` where TYPE is `text` (payload as is),
/// `ucs-2` (URL-encoded UTF-16BE, where `+` is the byte 0x20), `data` (URL-encoded 8-bit) or, for a
/// part of a concatenated SMS, `udh <URL-encoded UDH> data <URL-encoded payload>`, which no longer
/// says whether the payload was UCS-2 (see `reassembled(_:ucs2:)`). `from` may contain spaces
/// (Kannel does not encode it); `to` is a number.
struct FakeSMSCMessage: Sendable, Equatable {
    /// fakesmsc's counter (it restarts at 1 when fakesmsc restarts).
    let number: Int
    let from: String
    let to: String
    /// `text`, `ucs-2` or `data`.
    let coding: String
    /// The user data header of a concatenated part, empty otherwise.
    let udh: [UInt8]
    /// The payload bytes after URL-decoding (UTF-8 for `text`, UTF-16BE for `ucs-2`).
    let payload: [UInt8]
    /// The payload decoded for its coding (`data` as UTF-8, invalid bytes replaced).
    let text: String

    /// `(reference, total, sequence)` from a concatenation UDH (8- or 16-bit reference), or nil.
    var concatenation: (reference: Int, total: Int, sequence: Int)? {
        var i = 1
        while i + 1 < udh.count {
            let (iei, length) = (udh[i], Int(udh[i + 1]))
            let element = udh.dropFirst(i + 2).prefix(length).map(Int.init)
            if iei == 0x00, element.count == 3 { return (element[0], element[1], element[2]) }
            if iei == 0x08, element.count == 4 { return (element[0] << 8 | element[1], element[2], element[3]) }
            i += 2 + length
        }
        return nil
    }

    /// The text of a concatenated SMS from its parts (any order): payloads joined by UDH sequence,
    /// decoded as UTF-16BE when `ucs2`, else as UTF-8. Nil unless the parts are one whole message.
    static func reassembled(_ parts: [FakeSMSCMessage], ucs2: Bool) -> String? {
        let numbered = parts.compactMap { part in part.concatenation.map { ($0, part) } }
        guard numbered.count == parts.count, let first = numbered.first?.0,
            numbered.allSatisfy({ $0.0.reference == first.reference && $0.0.total == first.total }),
            Set(numbered.map(\.0.sequence)) == Set(1...max(first.total, 1))
        else { return nil }
        let bytes = numbered.sorted { $0.0.sequence < $1.0.sequence }.flatMap(\.1.payload)
        return ucs2 ? decodeUTF16BE(bytes) : String(decoding: bytes, as: UTF8.self)
    }

    /// Parses fakesmsc's output. A `text` MT with a newline reaches fakesmsc as two protocol lines
    /// (two "messages"); a line that is not `from to TYPE …` is taken as the previous text's
    /// continuation and joined back with "\n".
    static func parse(_ output: String) -> [FakeSMSCMessage] {
        var messages: [FakeSMSCMessage] = []
        for line in output.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let marker = line.range(of: "Got message "), let colon = line[marker.upperBound...].range(of: ": <"),
                let number = Int(line[marker.upperBound..<colon.lowerBound]), line.hasSuffix(">")
            else { continue }
            let content = String(line[colon.upperBound..<line.index(before: line.endIndex)])
            if let message = parseContent(content, number: number) {
                messages.append(message)
            } else if let last = messages.last, last.coding == "text" {
                let text = last.text + "\n" + content
                messages[messages.count - 1] = FakeSMSCMessage(
                    number: last.number, from: last.from, to: last.to, coding: "text", udh: [],
                    payload: Array(text.utf8), text: text)
            }
        }
        return messages
    }

    private static func parseContent(_ content: String, number: Int) -> FakeSMSCMessage? {
        // "from to TYPE payload": find the TYPE word; `to` is the word before it, `from` the rest.
        let words = content.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard let typeIndex = words.indices.first(where: { $0 >= 2 && ["text", "ucs-2", "data", "udh"].contains(words[$0]) })
        else { return nil }
        let from = words[0..<(typeIndex - 1)].joined(separator: " ")
        let to = words[typeIndex - 1]
        let rest = words[(typeIndex + 1)...].joined(separator: " ")
        switch words[typeIndex] {
        case "text":
            return FakeSMSCMessage(number: number, from: from, to: to, coding: "text", udh: [], payload: Array(rest.utf8), text: rest)
        case "ucs-2":
            let bytes = urlDecoded(rest)
            return FakeSMSCMessage(number: number, from: from, to: to, coding: "ucs-2", udh: [], payload: bytes, text: decodeUTF16BE(bytes))
        case "data":
            let bytes = urlDecoded(rest)
            return FakeSMSCMessage(
                number: number, from: from, to: to, coding: "data", udh: [], payload: bytes, text: String(decoding: bytes, as: UTF8.self))
        default:  // udh <udh> data <payload>
            let parts = rest.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3, parts[1] == "data" else { return nil }
            let bytes = urlDecoded(parts[2])
            return FakeSMSCMessage(
                number: number, from: from, to: to, coding: "data", udh: urlDecoded(parts[0]), payload: bytes,
                text: String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Kannel's URL encoding undone: `%XX` is a byte, `+` the byte 0x20, anything else itself.
    static func urlDecoded(_ encoded: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var utf8 = Array(encoded.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return bytes
    }

    static func decodeUTF16BE(_ bytes: [UInt8]) -> String {
        let units = stride(from: 0, to: bytes.count - 1, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        return String(decoding: units, as: UTF16.self)
    }
}

/// Kannel (bearerbox + smsbox + fakesmsc) on free loopback ports, via scripts/peers/kannel.sh, in a
/// temp directory of its own. Starts in about 1 s. sendsms user `chapar` / `chapar-test`.
final class KannelPeer: Sendable {
    /// The peer's working directory (kannel.conf, logs, fakesmsc.out, pid files).
    let directory: String
    /// `http://127.0.0.1:<port>/cgi-bin/sendsms`.
    let sendsmsURL: String
    let username: String
    let password: String
    /// `http://127.0.0.1:<port>` (bearerbox's admin HTTP; `/status.txt?password=…`).
    let adminURL: String
    let statusPassword: String
    private let stopped = PeerLock(false)

    private static var script: String { TestPaths.peerScripts + "/kannel.sh" }

    private init(directory: String, environment: [String: String]) throws {
        let file = directory + "/peer.env"
        self.directory = directory
        sendsmsURL = try environment.required("KANNEL_SENDSMS_URL", in: file)
        username = try environment.required("KANNEL_USERNAME", in: file)
        password = try environment.required("KANNEL_PASSWORD", in: file)
        adminURL = try environment.required("KANNEL_ADMIN_URL", in: file)
        statusPassword = try environment.required("KANNEL_STATUS_PASSWORD", in: file)
    }

    deinit {
        stop()
        TestPaths.removePeerDirectory(directory)
    }

    /// Starts Kannel and waits until the fake SMSC is online. Throws, telling to run
    /// scripts/install-deps.sh, when Kannel is not installed.
    static func start() throws -> KannelPeer {
        for binary in ["/usr/sbin/bearerbox", "/usr/sbin/smsbox", "/usr/lib/kannel/test/fakesmsc"]
        where !FileManager.default.isExecutableFile(atPath: binary) {
            throw PeerError("Kannel is not installed (\(binary) is missing): run scripts/install-deps.sh")
        }
        return try startPeer("kannel.sh", name: "kannel", timeout: .seconds(60)) { try KannelPeer(directory: $0, environment: $1) }
    }

    /// Every MT fakesmsc has printed so far, in order.
    func messages() -> [FakeSMSCMessage] {
        let output = (try? Data(contentsOf: URL(fileURLWithPath: directory + "/fakesmsc.out"))) ?? Data()
        return FakeSMSCMessage.parse(String(decoding: output, as: UTF8.self))
    }

    /// Polls until fakesmsc has printed at least `count` MTs and returns them all; throws with what
    /// did arrive when `timeout` passes first.
    @discardableResult
    func waitForMessages(count: Int, timeout: Duration = .seconds(10)) throws -> [FakeSMSCMessage] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let messages = messages()
            if messages.count >= count { return messages }
            if ContinuousClock.now > deadline {
                throw PeerError("fakesmsc printed \(messages.count) of \(count) MTs within \(timeout): \(messages.map(\.text))")
            }
            usleep(20_000)
        }
    }

    /// bearerbox's status page as text (SMSC state, queue sizes, DLR counters).
    func status() throws -> String {
        try TestCurl.request("\(adminURL)/status.txt?password=\(statusPassword)").body
    }

    /// Stops only fakesmsc: MTs sendsms accepts from now on queue in bearerbox. Returns once
    /// bearerbox shows the SMSC offline.
    func stopSMSC() throws { try Self.runScript("stop-smsc", directory, timeout: .seconds(30)) }

    /// Starts fakesmsc again and returns once the SMSC is online; queued MTs then reach it.
    func startSMSC() throws { try Self.runScript("start-smsc", directory, timeout: .seconds(30)) }

    /// Stops the three processes by PID and waits for them (bounded). Idempotent. The directory
    /// stays until the peer is released (and then too with CHAPAR_KEEP_PEERS=1).
    func stop() {
        let first = stopped.withLock { value -> Bool in
            defer { value = true }
            return !value
        }
        guard first else { return }
        _ = try? PeerCommand.run(Self.script, ["stop", directory], timeout: .seconds(60))
    }

    private static func runScript(_ command: String, _ directory: String, timeout: Duration) throws {
        let result = try PeerCommand.run(script, [command, directory], timeout: timeout)
        guard result.status == 0 else {
            throw PeerError("scripts/peers/kannel.sh \(command) \(directory) failed (exit \(result.status)):\n\(result.stderr)")
        }
    }
}
