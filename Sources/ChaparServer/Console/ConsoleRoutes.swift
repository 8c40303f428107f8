import HTTPTypes
import Hummingbird
import NIOCore

/// The web console: static HTML, CSS and JavaScript compiled into the binary (no CDN, no build
/// step), served under `/console/`. The pages hold no data themselves: they call the `/v1` API
/// with the bearer token the operator enters (kept in the browser's session storage).
enum ConsoleRoutes {
    static func add(to router: Router<BasicRequestContext>) {
        router.get("/console/") { _, _ in asset("index.html") }
        router.get("/console/:file") { _, context in asset(context.parameters.get("file") ?? "") }
    }

    /// Only our own files run, nothing inline; no other site may frame the console (its replay
    /// button must not be clickjacked) and no address leaks in a Referer.
    static let securityHeaders: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!:
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    private static func asset(_ name: String) -> Response {
        guard let asset = ConsoleAssets.files[name] else {
            return Response(status: .notFound, body: ResponseBody(byteBuffer: ByteBuffer(string: "no such console file\n")))
        }
        var headers: HTTPFields = [.contentType: asset.contentType, .cacheControl: "no-cache"]
        headers.append(contentsOf: securityHeaders)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: asset.text)))
    }
}
