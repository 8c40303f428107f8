import Foundation

/// An HTTP response as `/usr/bin/curl` saw it.
struct CurlResponse: Sendable {
    /// The final status code (after any `100 Continue`).
    let status: Int
    /// Response headers, names lower-cased (a repeated header keeps its last value).
    let headers: [String: String]
    /// The body, decoded as UTF-8.
    let body: String

    /// The header `name` (any case), or nil.
    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// The curl command-line client, for tests that talk to a peer without the code under test in the
/// way (Kannel's sendsms, Synapse's client API, the fault gateway's behaviours). Never uses a proxy.
enum TestCurl {
    /// Sends one request and returns the response. Throws when curl fails (connection refused,
    /// reset, `maxTime` exceeded) with curl's exit code and message.
    static func request(
        _ url: String, method: String = "GET", headers: [String: String] = [:], body: String? = nil,
        maxTime: Duration = .seconds(10)
    ) throws -> CurlResponse {
        let curl = "/usr/bin/curl"
        guard FileManager.default.isExecutableFile(atPath: curl) else {
            throw PeerError("\(curl) is missing: run scripts/install-deps.sh")
        }
        let scratch = TestPaths.temporaryDirectory("curl")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let seconds = Double(maxTime.components.seconds) + Double(maxTime.components.attoseconds) / 1e18
        var arguments = [
            "-sS", "--noproxy", "*", "-X", method, "--max-time", String(seconds),
            "-D", scratch + "/headers", "-o", scratch + "/body", "-w", "%{http_code}",
        ]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { arguments += ["-H", "\(name): \(value)"] }
        if let body {
            try Data(body.utf8).write(to: URL(fileURLWithPath: scratch + "/request"))
            arguments += ["--data-binary", "@" + scratch + "/request"]
        }
        arguments.append(url)
        let result = try PeerCommand.run(curl, arguments, timeout: maxTime + .seconds(5))
        guard result.status == 0 else {
            throw PeerError("curl \(method) \(url) failed (curl exit \(result.status)): \(result.stderr)")
        }
        let rawHeaders = (try? String(contentsOfFile: scratch + "/headers", encoding: .utf8)) ?? ""
        // Several header blocks when the server sent `100 Continue` first: the last one counts.
        let lastBlock = rawHeaders.components(separatedBy: "\r\n\r\n").last(where: { !$0.isEmpty }) ?? ""
        var parsed: [String: String] = [:]
        for line in lastBlock.components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            parsed[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = (try? Data(contentsOf: URL(fileURLWithPath: scratch + "/body"))).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return CurlResponse(status: Int(result.stdout) ?? 0, headers: parsed, body: body)
    }

    /// `value` percent-encoded for a query string or form body (only unreserved ASCII kept).
    static func percentEncoded(_ value: String) -> String {
        var unreserved = CharacterSet()
        unreserved.insert(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    /// `name=value&…`, each part percent-encoded, in the order given.
    static func query(_ items: KeyValuePairs<String, String>) -> String {
        items.map { "\(percentEncoded($0.key))=\(percentEncoded($0.value))" }.joined(separator: "&")
    }
}
