/// A parsed HTTP/1.x request head, with the header block exactly as received: AS2 keeps the
/// request byte for byte for non-repudiation, and a MIC can be recomputed from it later.
public struct HTTPRequestHead: Sendable {
    public var method: String
    public var target: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// Header fields in order, names as spelled, values with surrounding blanks removed.
    public var headers: [(name: String, value: String)]
    /// Request line and header lines as received, including the blank line that ends them.
    public var raw: [UInt8]
    /// The body length when `Content-Length` gave it; nil with chunked encoding.
    public var contentLength: Int64?
    public var chunked: Bool
    public var expectContinue: Bool
    public var keepAlive: Bool

    /// The first value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// The path part of the target, without query.
    public var path: String {
        if let q = target.firstIndex(of: "?") { return String(target[..<q]) }
        return target
    }
}

/// Why a request could not be read, as the HTTP status and reason to answer with.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var reason: String
    public init(_ status: Int, _ reason: String) { self.status = status; self.reason = reason }
    public var description: String { "\(status) \(reason)" }
}

/// Limits on what one request may hold.
public struct HTTPLimits: Sendable, Equatable {
    public var maxHeaderBytes: Int
    public var maxHeaderCount: Int
    public var maxBodyBytes: Int64
    public init(maxHeaderBytes: Int = 64 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int64 = 256 << 20) {
        self.maxHeaderBytes = maxHeaderBytes; self.maxHeaderCount = maxHeaderCount; self.maxBodyBytes = maxBodyBytes
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let lx = (x >= 65 && x <= 90) ? x + 32 : x
            let ly = (y >= 65 && y <= 90) ? y + 32 : y
            if lx != ly { return false }
        }
        return true
    }
}
