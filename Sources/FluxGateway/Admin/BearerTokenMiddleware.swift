import Hummingbird
import Logging

/// Requires `Authorization: Bearer <token>`, compared in constant time; logs every refusal.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        let given = header.hasPrefix(prefix) ? Array(header.dropFirst(prefix.count).utf8) : []
        guard Self.constantTimeEqual(given, token) else {
            logger.warning("admin API request refused: missing or wrong bearer token",
                           metadata: ["path": "\(request.uri.path)", "method": "\(request.method)"])
            return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                            body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"unauthorized\",\"message\":\"a valid bearer token is required\"}\n")))
        }
        return try await next(request, context)
    }

    /// Time depends on the lengths only, never on where the first difference is.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<b.count { diff |= (i < a.count ? a[i] : 0) ^ b[i] }
        return diff == 0
    }
}
