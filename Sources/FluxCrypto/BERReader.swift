/// A small, bounded reader for the few BER/DER headers FluxCrypto must look at itself, because
/// OpenSSL 3.0 has no accessor for them (a CMS content-encryption or compression algorithm).
///
/// It only walks structure that OpenSSL has already parsed successfully, yet it trusts nothing:
/// every length is checked against the bytes that remain, indefinite lengths (BER, as
/// BouncyCastle and other streaming senders write) are followed to their end-of-contents marker
/// with a nesting limit, and only low tag numbers (< 31) are accepted, which is all CMS uses.
/// It never allocates in proportion to the input.
struct BERReader {
    /// Identifier octets used here.
    enum Tag {
        static let integer: UInt8 = 0x02
        static let octetString: UInt8 = 0x04
        static let null: UInt8 = 0x05
        static let objectIdentifier: UInt8 = 0x06
        static let sequence: UInt8 = 0x30
        static let set: UInt8 = 0x31
        /// `[0]` constructed (EXPLICIT, or IMPLICIT over a constructed type).
        static let context0Constructed: UInt8 = 0xA0
        /// `[0]` primitive (IMPLICIT OCTET STRING, e.g. EnvelopedData's encryptedContent).
        static let context0Primitive: UInt8 = 0x80
    }

    /// Why the bytes could not be read; callers turn it into their own `CryptoError` code.
    struct Malformed: Error {
        var reason: String
    }

    /// Deeper nesting than this is refused (CMS headers are a handful of levels deep).
    static let maxDepth = 32

    private let bytes: UnsafeRawBufferPointer
    private var offset: Int
    /// Exclusive end of this reader's region (for an indefinite length: of the enclosing region).
    private let end: Int
    /// The region ends with an end-of-contents marker (00 00) rather than at `end`.
    private let indefinite: Bool
    private let depth: Int

    /// A reader over the whole of `bytes`, which must outlive it.
    init(_ bytes: UnsafeRawBufferPointer) {
        self.init(bytes: bytes, offset: 0, end: bytes.count, indefinite: false, depth: 0)
    }

    private init(bytes: UnsafeRawBufferPointer, offset: Int, end: Int, indefinite: Bool, depth: Int) {
        self.bytes = bytes
        self.offset = offset
        self.end = end
        self.indefinite = indefinite
        self.depth = depth
    }

    private struct Header {
        var tag: UInt8
        /// Nil for an indefinite length.
        var length: Int?
        var contentStart: Int
    }

    /// Whether the region has no further element (its end, or its end-of-contents marker).
    var atEnd: Bool {
        if indefinite {
            return offset + 2 <= end && bytes[offset] == 0 && bytes[offset + 1] == 0
        }
        return offset >= end
    }

    /// The identifier octet of the next element, nil at the end of the region.
    var nextTag: UInt8? {
        atEnd || offset >= end ? nil : bytes[offset]
    }

    /// Offset of the next element from the start of the input.
    var position: Int { offset }

    /// `descend`, for an element with a definite length only (its callers re-encode lengths).
    mutating func descendDefinite(_ tag: UInt8) throws {
        guard try peekLength(at: offset) != nil else {
            throw Malformed(reason: "element \(hex(tag)) at offset \(offset) has an indefinite length")
        }
        try descend(tag)
    }

    /// Reads the next element, which must be the primitive `tag`, and returns its contents.
    mutating func readPrimitive(_ tag: UInt8) throws -> UnsafeRawBufferPointer {
        let header = try readHeader(expecting: tag)
        guard tag & 0x20 == 0, let length = header.length else {
            throw Malformed(reason: "element \(hex(tag)) must be primitive with a definite length")
        }
        offset = header.contentStart + length
        return UnsafeRawBufferPointer(rebasing: bytes[header.contentStart..<offset])
    }

    /// Reads the next element, an OBJECT IDENTIFIER, in dotted form ("1.2.840.113549.1.7.3").
    mutating func readObjectIdentifier() throws -> String {
        try BERReader.dotted(readPrimitive(Tag.objectIdentifier))
    }

    /// Reads the next element, which must be the constructed `tag`, and returns a reader over its
    /// contents; `self` moves past the element.
    mutating func enter(_ tag: UInt8) throws -> BERReader {
        let start = offset
        let child = try descendReader(tag)
        if let length = try peekLength(at: start) {
            offset = child.offset + length
        } else {
            offset = start
            try skip()
        }
        return child
    }

    /// Reads the next element, which must be the constructed `tag`, and turns this reader into
    /// one over its contents (cheaper than `enter` when nothing after the element is needed: an
    /// indefinite length need not be followed to its end).
    mutating func descend(_ tag: UInt8) throws {
        self = try descendReader(tag)
    }

    /// Skips the next element, which must have identifier `tag` when one is given.
    mutating func skip(_ tag: UInt8? = nil) throws {
        let header = try readHeader(expecting: tag)
        if let length = header.length {
            offset = header.contentStart + length
            return
        }
        var inner = BERReader(bytes: bytes, offset: header.contentStart, end: end, indefinite: true, depth: depth + 1)
        guard inner.depth <= BERReader.maxDepth else { throw Malformed(reason: "nesting deeper than \(BERReader.maxDepth)") }
        while !inner.atEnd {
            guard inner.offset < end else { throw Malformed(reason: "missing end-of-contents marker") }
            try inner.skip()
        }
        offset = inner.offset + 2
    }

    private mutating func descendReader(_ tag: UInt8) throws -> BERReader {
        precondition(tag & 0x20 != 0, "descend/enter need a constructed tag")
        let header = try readHeader(expecting: tag)
        guard depth + 1 <= BERReader.maxDepth else { throw Malformed(reason: "nesting deeper than \(BERReader.maxDepth)") }
        if let length = header.length {
            return BERReader(bytes: bytes, offset: header.contentStart, end: header.contentStart + length,
                             indefinite: false, depth: depth + 1)
        }
        return BERReader(bytes: bytes, offset: header.contentStart, end: end, indefinite: true, depth: depth + 1)
    }

    private func peekLength(at start: Int) throws -> Int? {
        var copy = self
        copy.offset = start
        return try copy.readHeader(expecting: nil).length
    }

    /// Reads an identifier and a length at `offset`, checks them against the region, and leaves
    /// `offset` on the first content byte.
    private mutating func readHeader(expecting expected: UInt8?) throws -> Header {
        guard !atEnd, offset < end else {
            throw Malformed(reason: expected.map { "missing element \(hex($0))" } ?? "unexpected end of data")
        }
        let tag = bytes[offset]
        if let expected, tag != expected {
            throw Malformed(reason: "expected element \(hex(expected)), found \(hex(tag)) at offset \(offset)")
        }
        guard tag & 0x1F != 0x1F else { throw Malformed(reason: "high tag numbers are not used in CMS (offset \(offset))") }
        var position = offset + 1
        guard position < end else { throw Malformed(reason: "truncated length at offset \(position)") }
        let first = bytes[position]
        position += 1
        var length: Int?
        if first < 0x80 {
            length = Int(first)
        } else if first == 0x80 {
            // Indefinite length: BER only, and only for constructed encodings.
            guard tag & 0x20 != 0 else { throw Malformed(reason: "indefinite length on a primitive element at offset \(offset)") }
            length = nil
        } else {
            let count = Int(first & 0x7F)
            guard count <= 4, position + count <= end else {
                throw Malformed(reason: "length of \(count) bytes at offset \(offset) is unsupported or truncated")
            }
            var value = 0
            for index in 0..<count {
                value = value << 8 | Int(bytes[position + index])
            }
            position += count
            length = value
        }
        if let length, length > end - position {
            throw Malformed(reason: "element at offset \(offset) claims \(length) bytes, only \(end - position) remain")
        }
        offset = position
        return Header(tag: tag, length: length, contentStart: position)
    }

    /// Dotted text of DER OBJECT IDENTIFIER contents; arcs beyond 64 bits and non-minimal
    /// encodings are refused.
    static func dotted(_ contents: UnsafeRawBufferPointer) throws -> String {
        guard !contents.isEmpty, contents.count <= 64 else {
            throw Malformed(reason: "object identifier of \(contents.count) bytes")
        }
        var arcs: [UInt64] = []
        var value: UInt64 = 0
        var started = false
        for byte in contents {
            if !started && byte == 0x80 { throw Malformed(reason: "non-minimal object identifier") }
            guard value <= (UInt64.max >> 7) else { throw Malformed(reason: "object identifier arc too large") }
            value = value << 7 | UInt64(byte & 0x7F)
            started = true
            if byte & 0x80 == 0 {
                arcs.append(value)
                value = 0
                started = false
            }
        }
        guard !started else { throw Malformed(reason: "truncated object identifier") }
        let first = arcs[0]
        let head: [UInt64] = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80]
        return (head + arcs.dropFirst()).map(String.init).joined(separator: ".")
    }

    private func hex(_ byte: UInt8) -> String {
        "0x" + String(byte, radix: 16, uppercase: false)
    }
}
