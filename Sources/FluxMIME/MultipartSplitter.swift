import Foundation

/// Locates body parts by boundary delimiter lines, on raw bytes.
enum MultipartSplitter {
    /// Longest boundary accepted. RFC 2046 allows 70 characters; a little slack for
    /// non-conforming senders, while bounding the per-line comparison cost.
    static let maxBoundaryLength = 200

    /// Byte ranges (into `body`, which must be zero-based) of the parts.
    static func split(_ body: Data, boundary: String, maxParts: Int) throws -> [Range<Int>] {
        let bnd = Array(boundary.utf8)
        guard !bnd.isEmpty, bnd.count <= maxBoundaryLength,
              !bnd.contains(Byte.cr), !bnd.contains(Byte.lf) else {
            throw MIMEError.boundary("unusable boundary parameter (empty, longer than \(maxBoundaryLength) bytes, or containing a line break)")
        }
        return try body.withUnsafeBytes { buf -> [Range<Int>] in
            try bnd.withUnsafeBytes { b -> [Range<Int>] in
                try split(buf, boundary: b, maxParts: maxParts)
            }
        }
    }

    private struct Delimiter {
        var start: Int      // index of the first "-" of "--boundary"
        var lineEnd: Int    // index after the delimiter line's line break (or the data's end)
        var isClose: Bool
    }

    private static func split(_ buf: UnsafeRawBufferPointer, boundary: UnsafeRawBufferPointer, maxParts: Int) throws -> [Range<Int>] {
        guard var delim = nextDelimiter(buf, boundary, from: 0) else {
            throw MIMEError.boundary("no boundary delimiter line found")
        }
        var ranges: [Range<Int>] = []
        while !delim.isClose {
            let partStart = delim.lineEnd
            guard let next = nextDelimiter(buf, boundary, from: partStart) else {
                throw MIMEError.boundary("missing close delimiter (truncated multipart?)")
            }
            // The line break before the next delimiter belongs to that delimiter.
            var partEnd = next.start
            if partEnd > partStart {
                partEnd -= 1                                        // LF
                if partEnd > partStart, buf[partEnd - 1] == Byte.cr { partEnd -= 1 }
            }
            ranges.append(partStart..<partEnd)
            if ranges.count > maxParts {
                throw MIMEError.limit("more than \(maxParts) body parts")
            }
            delim = next
        }
        return ranges
    }

    /// The next delimiter line starting at a line start at or after `from` (`from` must itself
    /// be a line start: 0 or just after a LF).
    private static func nextDelimiter(_ buf: UnsafeRawBufferPointer, _ bnd: UnsafeRawBufferPointer, from: Int) -> Delimiter? {
        let n = buf.count
        let blen = bnd.count
        var lineStart = from
        while lineStart + 2 + blen <= n {
            if let d = delimiter(at: lineStart, buf, bnd) { return d }
            guard let lf = buf.firstIndex(of: Byte.lf, from: lineStart, to: n) else { return nil }
            lineStart = lf + 1
        }
        return nil
    }

    /// A delimiter at `i`: "--" boundary, then "--" (close; anything may follow), or transport
    /// padding and CRLF / LF / end of data. "--boundaryX" is not a delimiter.
    @inline(__always)
    private static func delimiter(at i: Int, _ buf: UnsafeRawBufferPointer, _ bnd: UnsafeRawBufferPointer) -> Delimiter? {
        let n = buf.count
        guard buf[i] == Byte.dash, buf[i + 1] == Byte.dash else { return nil }
        var j = i + 2
        for k in 0..<bnd.count {
            if buf[j] != bnd[k] { return nil }
            j += 1
        }
        if j + 1 < n, buf[j] == Byte.dash, buf[j + 1] == Byte.dash {
            let lineEnd = buf.firstIndex(of: Byte.lf, from: j, to: n).map { $0 + 1 } ?? n
            return Delimiter(start: i, lineEnd: lineEnd, isClose: true)
        }
        while j < n, Byte.isWSP(buf[j]) { j += 1 }
        if j == n { return Delimiter(start: i, lineEnd: n, isClose: false) }
        if buf[j] == Byte.lf { return Delimiter(start: i, lineEnd: j + 1, isClose: false) }
        if buf[j] == Byte.cr {
            if j + 1 == n { return Delimiter(start: i, lineEnd: n, isClose: false) }
            if buf[j + 1] == Byte.lf { return Delimiter(start: i, lineEnd: j + 2, isClose: false) }
        }
        return nil
    }
}
