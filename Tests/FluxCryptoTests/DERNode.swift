import Foundation

/// A DER element tree for tests: parse what `openssl` wrote, change one field (drop OAEP
/// parameters, flip a ciphertext byte, duplicate a RecipientInfo), and write it back as DER, or as
/// BER with indefinite lengths and chunked OCTET STRINGs the way streaming senders do.
struct DERNode: Equatable {
    /// Identifier octet (low tag numbers only, as in CMS).
    var tag: UInt8
    /// Contents of a primitive element.
    var content: [UInt8] = []
    /// Elements of a constructed element.
    var children: [DERNode] = []
    /// Keeps this subtree DER in `ber(chunk:)` (signed attributes must stay DER: the signature
    /// covers their DER encoding).
    var keepDER = false

    var isConstructed: Bool { tag & 0x20 != 0 }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses one definite-length element filling all of `data`.
    init(der data: Data) throws {
        let bytes = [UInt8](data)
        var offset = 0
        self = try DERNode.parse(bytes, &offset)
        guard offset == bytes.count else { throw ParseError(description: "\(bytes.count - offset) trailing bytes") }
    }

    init(tag: UInt8, content: [UInt8] = [], children: [DERNode] = []) {
        self.tag = tag
        self.content = content
        self.children = children
    }

    private static func parse(_ bytes: [UInt8], _ offset: inout Int) throws -> DERNode {
        guard offset + 2 <= bytes.count else { throw ParseError(description: "truncated at \(offset)") }
        let tag = bytes[offset]
        var length = Int(bytes[offset + 1])
        offset += 2
        if length == 0x80 { throw ParseError(description: "indefinite length: DER expected") }
        if length > 0x80 {
            let count = length & 0x7F
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[offset])
                offset += 1
            }
        }
        let end = offset + length
        guard end <= bytes.count else { throw ParseError(description: "element overruns the data") }
        var node = DERNode(tag: tag)
        if tag & 0x20 != 0 {
            while offset < end {
                node.children.append(try parse(bytes, &offset))
            }
        } else {
            node.content = Array(bytes[offset..<end])
            offset = end
        }
        return node
    }

    /// The element at `path` (child indexes from here).
    subscript(path: Int...) -> DERNode {
        get { self[path] }
        set { self[path] = newValue }
    }

    subscript(path: [Int]) -> DERNode {
        get { path.isEmpty ? self : children[path[0]][Array(path.dropFirst())] }
        set {
            if path.isEmpty {
                self = newValue
            } else {
                children[path[0]][Array(path.dropFirst())] = newValue
            }
        }
    }

    /// DER encoding (definite lengths).
    var der: Data { Data(encode(indefinite: false, chunk: nil)) }

    /// BER encoding: every constructed element with an indefinite length, and OCTET STRINGs
    /// (universal 4, or `[0]` IMPLICIT as in EnvelopedData) longer than `chunk` split into a
    /// constructed string of `chunk`-byte pieces.
    func ber(chunk: Int) -> Data { Data(encode(indefinite: true, chunk: chunk)) }

    private func encode(indefinite: Bool, chunk: Int?) -> [UInt8] {
        if keepDER && indefinite {
            return encode(indefinite: false, chunk: nil)
        }
        if isConstructed {
            let inner = children.flatMap { $0.encode(indefinite: indefinite, chunk: chunk) }
            return indefinite ? [tag, 0x80] + inner + [0, 0] : [tag] + DERNode.length(inner.count) + inner
        }
        if let chunk, (tag == 0x04 || tag == 0x80), content.count > chunk {
            let pieces = stride(from: 0, to: content.count, by: chunk).flatMap { start -> [UInt8] in
                let piece = Array(content[start..<min(start + chunk, content.count)])
                return [0x04] + DERNode.length(piece.count) + piece
            }
            return [tag | 0x20, 0x80] + pieces + [0, 0]
        }
        return [tag] + DERNode.length(content.count) + content
    }

    static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var remaining = count
        while remaining > 0 {
            bytes.insert(UInt8(remaining & 0xFF), at: 0)
            remaining >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }
}
