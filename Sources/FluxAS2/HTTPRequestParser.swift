import Foundation

/// An HTTP/1.1 request reader as a pure state machine: bytes in, events out, no sockets. The AS2
/// listener feeds it what the connection reads; tests feed it byte strings split anywhere.
///
/// It is deliberately small: requests only (no responses), `Content-Length` or `chunked`
/// bodies, `Expect: 100-continue`, keep-alive, and limits on header size, header count and body
/// size. Ambiguous framing (both `Content-Length` and `Transfer-Encoding`, several different
/// lengths, an unknown transfer coding) is refused, since a gateway that guesses lengths can
/// be fed two messages as one.
public struct HTTPRequestParser: Sendable {
    public enum Event: Equatable, Sendable {
        case head(HTTPRequestHeadBox)
        case body([UInt8])
        case end
    }

    enum State: Sendable {
        case head
        case fixedBody(remaining: Int64)
        case chunkSize
        case chunkData(remaining: Int64)
        case chunkDataEnd
        case trailers
        /// One request is complete; bytes wait in `buffer` until `nextRequest()`.
        case complete
        case failed
    }

    public let limits: HTTPLimits
    var state: State = .head
    var buffer: [UInt8] = []
    var bodyBytes: Int64 = 0
    var trailerBytes = 0

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
        buffer.reserveCapacity(4096)
    }

    /// True between the end of one request and `nextRequest()`.
    public var isComplete: Bool { if case .complete = state { return true } else { return false } }

    /// Feeds bytes; returns the events they complete. After `.end`, further bytes are kept (a
    /// pipelined request) and parsed after `nextRequest()`. A thrown error is final.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws -> [Event] {
        if case .failed = state { throw HTTPParseError(400, "the connection is in error") }
        buffer.append(contentsOf: bytes)
        return try run()
    }

    public mutating func feed(_ bytes: [UInt8]) throws -> [Event] {
        try bytes.withUnsafeBytes { try feed($0) }
    }

    /// Starts on the next request of a keep-alive connection; returns events for bytes already
    /// buffered.
    public mutating func nextRequest() throws -> [Event] {
        guard case .complete = state else { return [] }
        state = .head
        bodyBytes = 0
        trailerBytes = 0
        return try run()
    }

    mutating func run() throws -> [Event] {
        var events: [Event] = []
        do {
            var progress = true
            while progress {
                progress = false
                switch state {
                case .head:
                    if let head = try parseHead() {
                        events.append(.head(HTTPRequestHeadBox(head)))
                        if head.chunked {
                            state = .chunkSize
                        } else if let n = head.contentLength, n > 0 {
                            state = .fixedBody(remaining: n)
                        } else {
                            state = .complete
                            events.append(.end)
                        }
                        progress = true
                    }
                case .fixedBody(let remaining):
                    guard !buffer.isEmpty else { break }
                    let n = Int(min(Int64(buffer.count), remaining))
                    events.append(.body(Array(buffer[0..<n])))
                    buffer.removeFirst(n)
                    if remaining - Int64(n) == 0 {
                        state = .complete
                        events.append(.end)
                    } else {
                        state = .fixedBody(remaining: remaining - Int64(n))
                    }
                    progress = true
                case .chunkSize:
                    guard let line = try takeLine(max: 1024, what: "chunk size line") else { break }
                    let sizeText = line.prefix { $0 != UInt8(ascii: ";") }.filter { $0 != 0x20 && $0 != 0x09 }
                    guard !sizeText.isEmpty, sizeText.count <= 16, let size = Int64(String(decoding: sizeText, as: UTF8.self), radix: 16),
                          size >= 0 else {
                        throw HTTPParseError(400, "malformed chunk size")
                    }
                    if size == 0 {
                        state = .trailers
                    } else {
                        bodyBytes += size
                        if bodyBytes > limits.maxBodyBytes { throw HTTPParseError(413, "the body is over \(limits.maxBodyBytes) bytes") }
                        state = .chunkData(remaining: size)
                    }
                    progress = true
                case .chunkData(let remaining):
                    guard !buffer.isEmpty else { break }
                    let n = Int(min(Int64(buffer.count), remaining))
                    events.append(.body(Array(buffer[0..<n])))
                    buffer.removeFirst(n)
                    state = remaining - Int64(n) == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - Int64(n))
                    progress = true
                case .chunkDataEnd:
                    guard let line = try takeLine(max: 2, what: "chunk end") else { break }
                    guard line.isEmpty else { throw HTTPParseError(400, "chunk data longer than its size") }
                    state = .chunkSize
                    progress = true
                case .trailers:
                    guard let line = try takeLine(max: 8192, what: "trailer") else { break }
                    trailerBytes += line.count + 2
                    if trailerBytes > limits.maxHeaderBytes { throw HTTPParseError(431, "trailers are over \(limits.maxHeaderBytes) bytes") }
                    if line.isEmpty {
                        state = .complete
                        events.append(.end)
                    }
                    progress = true
                case .complete, .failed:
                    break
                }
            }
        } catch {
            state = .failed
            throw error
        }
        return events
    }

    /// A CRLF-terminated line (bare LF tolerated) without its terminator, or nil if incomplete.
    mutating func takeLine(max: Int, what: String) throws -> ArraySlice<UInt8>? {
        guard let lf = buffer.firstIndex(of: 0x0A) else {
            if buffer.count > max + 1 { throw HTTPParseError(400, "\(what) too long") }
            return nil
        }
        if lf > max + 1 { throw HTTPParseError(400, "\(what) too long") }
        let end = lf > 0 && buffer[lf - 1] == 0x0D ? lf - 1 : lf
        let line = Array(buffer[0..<end])[...]
        buffer.removeFirst(lf + 1)
        return line
    }

    mutating func parseHead() throws -> HTTPRequestHead? {
        // Tolerate blank lines before a request (RFC 9112 §2.2).
        while buffer.first == 0x0D || buffer.first == 0x0A {
            if buffer.first == 0x0D && buffer.count < 2 { return nil }
            buffer.removeFirst(buffer.first == 0x0D && buffer[1] == 0x0A ? 2 : 1)
        }
        guard let end = Self.headEnd(buffer) else {
            if buffer.count > limits.maxHeaderBytes { throw HTTPParseError(431, "the request head is over \(limits.maxHeaderBytes) bytes") }
            return nil
        }
        if end > limits.maxHeaderBytes { throw HTTPParseError(431, "the request head is over \(limits.maxHeaderBytes) bytes") }
        let raw = Array(buffer[0..<end])
        buffer.removeFirst(end)
        return try Self.parseHead(raw, limits: limits)
    }

    /// Index just past the blank line ending the head (CRLFCRLF or LFLF), or nil.
    public static func headEnd(_ b: [UInt8]) -> Int? {
        var i = 0
        let n = b.count
        while i < n {
            guard let lf = b[i...].firstIndex(of: 0x0A) else { return nil }
            // the line after this LF is empty?
            if lf + 1 < n, b[lf + 1] == 0x0A { return lf + 2 }
            if lf + 2 < n, b[lf + 1] == 0x0D, b[lf + 2] == 0x0A { return lf + 3 }
            if lf + 1 >= n || (lf + 2 >= n && b[lf + 1] == 0x0D) { return nil }
            i = lf + 1
        }
        return nil
    }

    static func parseHead(_ raw: [UInt8], limits: HTTPLimits) throws -> HTTPRequestHead {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for (i, c) in raw.enumerated() where c == 0x0A {
            var e = i
            if e > start, raw[e - 1] == 0x0D { e -= 1 }
            lines.append(raw[start..<e])
            start = i + 1
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let requestLine = lines.first else { throw HTTPParseError(400, "empty request") }
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { throw HTTPParseError(400, "malformed request line") }
        let method = String(decoding: parts[0], as: UTF8.self)
        guard method.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else { throw HTTPParseError(400, "malformed method") }
        let target = String(decoding: parts[1], as: UTF8.self)
        guard target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw HTTPParseError(400, "malformed request target") }
        let version = String(decoding: parts[2], as: UTF8.self)
        let minor: Int
        switch version {
        case "HTTP/1.1": minor = 1
        case "HTTP/1.0": minor = 0
        default: throw HTTPParseError(505, "only HTTP/1.0 and HTTP/1.1 are supported")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            if let f = line.first, f == 0x20 || f == 0x09 {
                // obsolete line folding (RFC 9112 §5.2): join with one space
                guard !headers.isEmpty else { throw HTTPParseError(400, "a header continuation line comes first") }
                let more = String(decoding: line, as: UTF8.self).trimmingBlanks()
                headers[headers.count - 1].value += " " + more
                continue
            }
            guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex else { throw HTTPParseError(400, "malformed header line") }
            let nameBytes = line[line.startIndex..<colon]
            guard nameBytes.allSatisfy(Self.isTokenChar) else { throw HTTPParseError(400, "malformed header name") }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingBlanks()
            headers.append((name, value))
            if headers.count > limits.maxHeaderCount { throw HTTPParseError(431, "more than \(limits.maxHeaderCount) header fields") }
        }
        var head = HTTPRequestHead(method: method, target: target, minorVersion: minor, headers: headers, raw: raw,
                                   contentLength: nil, chunked: false, expectContinue: false, keepAlive: minor == 1)
        var lengths: Set<String> = []
        var codings: [String] = []
        for h in headers {
            if h.name.caseInsensitiveEquals("content-length") {
                for v in h.value.split(separator: ",") { lengths.insert(v.trimmingCharacters(in: .whitespaces)) }
            } else if h.name.caseInsensitiveEquals("transfer-encoding") {
                codings += h.value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
            } else if h.name.caseInsensitiveEquals("connection") {
                let tokens = h.value.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                if tokens.contains("close") { head.keepAlive = false }
                if tokens.contains("keep-alive") && minor == 0 { head.keepAlive = true }
            } else if h.name.caseInsensitiveEquals("expect") {
                guard h.value.lowercased() == "100-continue" else { throw HTTPParseError(417, "unsupported expectation '\(h.value)'") }
                head.expectContinue = minor == 1
            }
        }
        if !codings.isEmpty {
            guard lengths.isEmpty else { throw HTTPParseError(400, "both Content-Length and Transfer-Encoding") }
            guard codings == ["chunked"] else { throw HTTPParseError(501, "unsupported transfer coding '\(codings.joined(separator: ", "))'") }
            head.chunked = true
        } else if !lengths.isEmpty {
            guard lengths.count == 1, let v = lengths.first, !v.isEmpty, v.count <= 18, v.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let n = Int64(v) else {
                throw HTTPParseError(400, "invalid Content-Length")
            }
            if n > limits.maxBodyBytes { throw HTTPParseError(413, "the body is over \(limits.maxBodyBytes) bytes") }
            head.contentLength = n
        } else {
            head.contentLength = 0
        }
        return head
    }

    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): return true
        default: return false
        }
    }
}

/// Boxes the head so `Event` stays cheap to move and Equatable (heads compare by raw bytes).
public struct HTTPRequestHeadBox: Sendable, Equatable {
    public let head: HTTPRequestHead
    public init(_ head: HTTPRequestHead) { self.head = head }
    public static func == (a: HTTPRequestHeadBox, b: HTTPRequestHeadBox) -> Bool { a.head.raw == b.head.raw }
}

extension String {
    func trimmingBlanks() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
