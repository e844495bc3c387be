/// Finds the end of a header block and splits it into fields, from bytes.
///
/// Why by hand: the header block must be kept byte-exact for MIC computation, so the parser only
/// reports *where* things are (offsets into the caller's buffer) and builds field strings for
/// lookups; it never re-serialises anything.
///
/// Accepted: CRLF or bare-LF line ends (sloppy senders), folded fields (continuation lines start
/// with SP or HT), "Name : value" (obsolete space before the colon), non-ASCII bytes in names and
/// values (UTF-8, else Latin-1). Rejected with `mime-header`: a line without `:`, an empty field
/// name or one containing spaces or control characters, a continuation line before any field.
struct HeaderBlock {
    var fields: [MIMEHeader]
    /// Offset just past the line break ending the last field (start of the blank line).
    var headerEnd: Int
    /// Offset of the first body byte: past the blank line, or the end of the data when the
    /// entity has no blank line (headers only).
    var bodyStart: Int
}

enum HeaderBlockParser {
    /// Parses the header block at the start of `buf`.
    ///
    /// - Parameter lenientFieldBlock: for field blocks that are not MIME headers (the
    ///   message/disposition-notification body), blank lines are skipped instead of ending the
    ///   block, and lines without a colon are ignored instead of rejected.
    static func parse(_ buf: UnsafeRawBufferPointer, limits: MIMELimits, lenientFieldBlock: Bool = false) throws -> HeaderBlock {
        let n = buf.count
        var fields: [MIMEHeader] = []
        // The field being assembled: its name and the unfolded value bytes.
        var curName: String?
        var curValue: [UInt8] = []
        var pos = 0

        func flush() {
            guard let name = curName else { return }
            var lo = 0, hi = curValue.count
            while lo < hi, Byte.isTrim(curValue[lo]) { lo += 1 }
            while hi > lo, Byte.isTrim(curValue[hi - 1]) { hi -= 1 }
            let value = curValue[lo..<hi].withUnsafeBytes { headerText($0) }
            fields.append(MIMEHeader(name: name, value: value))
            curName = nil
            curValue.removeAll(keepingCapacity: true)
        }

        while pos < n {
            // A blank line ends the block (or, in a lenient field block, is skipped).
            let first = buf[pos]
            let blankLen = first == Byte.lf ? 1 : (first == Byte.cr && pos + 1 < n && buf[pos + 1] == Byte.lf ? 2 : 0)
            if blankLen > 0 {
                if lenientFieldBlock { flush(); pos += blankLen; continue }
                flush()
                return HeaderBlock(fields: fields, headerEnd: pos, bodyStart: pos + blankLen)
            }
            // Find this line's end without scanning past the header budget.
            let window = lenientFieldBlock ? n : min(n, limits.maxHeaderBytes)
            let lineEnd: Int   // index after the line break (or n)
            var contentEnd: Int
            if let lf = buf.firstIndex(of: Byte.lf, from: pos, to: window) {
                lineEnd = lf + 1
                contentEnd = lf
            } else if n <= window {
                lineEnd = n      // last line without a line break: a headers-only entity
                contentEnd = n
            } else {
                throw MIMEError.limit("header block larger than \(limits.maxHeaderBytes) bytes")
            }
            if contentEnd > pos, buf[contentEnd - 1] == Byte.cr { contentEnd -= 1 }

            if Byte.isWSP(first) {
                // Continuation line: unfold, the leading whitespace run becomes one space.
                guard curName != nil else {
                    if lenientFieldBlock { pos = lineEnd; continue }
                    throw MIMEError.header("continuation line before the first header field at offset \(pos)")
                }
                var s = pos
                while s < contentEnd, Byte.isWSP(buf[s]) { s += 1 }
                if s < contentEnd {
                    curValue.append(Byte.space)
                    curValue.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[s..<contentEnd]))
                }
            } else {
                flush()
                guard let colon = buf.firstIndex(of: Byte.colon, from: pos, to: contentEnd) else {
                    if lenientFieldBlock { pos = lineEnd; continue }
                    throw MIMEError.header("header line without ':' at offset \(pos)")
                }
                var nameEnd = colon
                while nameEnd > pos, Byte.isWSP(buf[nameEnd - 1]) { nameEnd -= 1 }
                guard nameEnd > pos else {
                    if lenientFieldBlock { pos = lineEnd; continue }
                    throw MIMEError.header("empty header field name at offset \(pos)")
                }
                for i in pos..<nameEnd where buf[i] <= 0x20 || buf[i] == 0x7F {
                    if lenientFieldBlock { break }
                    throw MIMEError.header("invalid character in header field name at offset \(i)")
                }
                if fields.count >= limits.maxHeaderCount {
                    throw MIMEError.limit("more than \(limits.maxHeaderCount) header fields")
                }
                curName = headerText(UnsafeRawBufferPointer(rebasing: buf[pos..<nameEnd]))
                if colon + 1 < contentEnd {
                    curValue.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[(colon + 1)..<contentEnd]))
                }
            }
            pos = lineEnd
        }
        flush()
        return HeaderBlock(fields: fields, headerEnd: n, bodyStart: n)
    }
}
