/// A zlib (RFC 1950) / deflate (RFC 1951) decoder that stops as soon as its output would pass a
/// bound. libqpdf's C API can only decode a whole stream into one malloc'd buffer, so a
/// 100 KB FlateDecode stream could expand to 100 MB before we see its size: the embedded files
/// of a deposit are decoded here instead, with the limit enforced while decoding.
///
/// The structure follows Mark Adler's `puff.c` (canonical Huffman codes decoded bit by bit):
/// slower than zlib but small, with every index checked. Invoice XMLs are small; the bound
/// keeps the worst case linear in the limit.
struct BoundedInflater {
    /// Why a stream could not be decoded.
    enum Failure: Error, Equatable {
        /// The decoded data would exceed the limit.
        case tooLarge
        /// The stream is not valid zlib/deflate data; the text says where it went wrong.
        case corrupt(String)
    }

    /// Decodes a zlib stream (2-byte header, deflate blocks, Adler-32). The checksum is
    /// verified when present; a stream that ends right after its last block is accepted, as
    /// PDF writers sometimes drop it.
    static func inflateZlib(_ input: [UInt8], maxOutput: Int) throws(Failure) -> [UInt8] {
        guard input.count >= 2 else { throw .corrupt("the stream is shorter than a zlib header") }
        let cmf = Int(input[0]), flg = Int(input[1])
        guard (cmf << 8 | flg) % 31 == 0, cmf & 0x0F == 8, cmf >> 4 <= 7 else {
            throw .corrupt("no zlib header (not FlateDecode data)")
        }
        guard flg & 0x20 == 0 else { throw .corrupt("the zlib stream needs a preset dictionary") }
        var inflater = BoundedInflater(input: input, start: 2, maxOutput: maxOutput)
        try inflater.run()
        let end = inflater.position
        if input.count - end >= 4 {
            let stored = UInt32(input[end]) << 24 | UInt32(input[end + 1]) << 16 | UInt32(input[end + 2]) << 8 | UInt32(input[end + 3])
            guard stored == adler32(inflater.output) else { throw .corrupt("Adler-32 checksum mismatch") }
        }
        return inflater.output
    }

    /// Adler-32 of `bytes` (RFC 1950 §8.2).
    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var i = 0
        while i < bytes.count {
            // 5552 is the largest run for which b cannot overflow 32 bits before the modulo.
            let end = min(i + 5552, bytes.count)
            while i < end {
                a &+= UInt32(bytes[i])
                b &+= a
                i += 1
            }
            a %= 65521
            b %= 65521
        }
        return b << 16 | a
    }

    // MARK: - Decoder state

    private let input: [UInt8]
    private(set) var position: Int
    private let maxOutput: Int
    private(set) var output: [UInt8] = []
    private var bitBuffer: UInt64 = 0
    private var bitCount = 0

    private init(input: [UInt8], start: Int, maxOutput: Int) {
        self.input = input
        self.position = start
        self.maxOutput = max(0, maxOutput)
        // Reserve for the common case only (XML compresses 4-10 times); growth does the rest.
        output.reserveCapacity(min(self.maxOutput, max(input.count * 4, 4096), 16 << 20))
    }

    private static let maxBits = 15

    /// A canonical Huffman code: how many codes of each length, and the symbols in code order.
    private struct Huffman {
        var count = [Int](repeating: 0, count: BoundedInflater.maxBits + 1)
        var symbol: [Int]

        /// Builds the code from per-symbol lengths. Returns 0 for a complete code, a positive
        /// number for an incomplete one and a negative one for an over-subscribed one.
        init(lengths: ArraySlice<Int>, result: inout Int) {
            symbol = [Int](repeating: 0, count: lengths.count)
            for l in lengths { count[l] += 1 }
            if count[0] == lengths.count { result = 0; return }
            var left = 1
            for len in 1...BoundedInflater.maxBits {
                left <<= 1
                left -= count[len]
                if left < 0 { result = left; return }
            }
            var offsets = [Int](repeating: 0, count: BoundedInflater.maxBits + 1)
            for len in 1..<BoundedInflater.maxBits { offsets[len + 1] = offsets[len] + count[len] }
            for (s, l) in lengths.enumerated() where l != 0 {
                symbol[offsets[l]] = s
                offsets[l] += 1
            }
            result = left
        }
    }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                     35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                      3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
                                       257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
                                       8193, 12289, 16385, 24577]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                        7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private static let fixedCodes: (lengths: Huffman, distances: Huffman) = {
        var lengths = [Int](repeating: 8, count: 288)
        for s in 144..<256 { lengths[s] = 9 }
        for s in 256..<280 { lengths[s] = 7 }
        var r = 0
        let lit = Huffman(lengths: lengths[...], result: &r)
        let dist = Huffman(lengths: [Int](repeating: 5, count: 30)[...], result: &r)
        return (lit, dist)
    }()

    // MARK: - Decoding

    private mutating func run() throws(Failure) {
        var last = false
        while !last {
            last = try bits(1) == 1
            switch try bits(2) {
            case 0: try stored()
            case 1: try codes(Self.fixedCodes.lengths, Self.fixedCodes.distances)
            case 2: try dynamic()
            default: throw .corrupt("invalid deflate block type")
            }
        }
        // Whole bytes already loaded into the bit buffer belong to what follows (the checksum).
        position -= bitCount / 8
        bitBuffer = 0
        bitCount = 0
    }

    private mutating func bits(_ need: Int) throws(Failure) -> Int {
        while bitCount < need {
            guard position < input.count else { throw .corrupt("the deflate data is truncated") }
            bitBuffer |= UInt64(input[position]) << UInt64(bitCount)
            position += 1
            bitCount += 8
        }
        let value = Int(bitBuffer & ((1 << UInt64(need)) - 1))
        bitBuffer >>= UInt64(need)
        bitCount -= need
        return value
    }

    private mutating func stored() throws(Failure) {
        // A stored block starts on a byte boundary: drop the partial byte, give back whole ones.
        position -= bitCount / 8
        bitBuffer = 0
        bitCount = 0
        guard input.count - position >= 4 else { throw .corrupt("the deflate data is truncated") }
        let len = Int(input[position]) | Int(input[position + 1]) << 8
        let nlen = Int(input[position + 2]) | Int(input[position + 3]) << 8
        position += 4
        guard len == ~nlen & 0xFFFF else { throw .corrupt("stored block length check failed") }
        guard input.count - position >= len else { throw .corrupt("the deflate data is truncated") }
        guard maxOutput - output.count >= len else { throw .tooLarge }
        output.append(contentsOf: input[position..<(position + len)])
        position += len
    }

    private mutating func decode(_ h: Huffman) throws(Failure) -> Int {
        var code = 0, first = 0, index = 0
        for len in 1...Self.maxBits {
            code |= try bits(1)
            let count = h.count[len]
            if code - count < first { return h.symbol[index + (code - first)] }
            index += count
            first += count
            first <<= 1
            code <<= 1
        }
        throw .corrupt("invalid Huffman code")
    }

    private mutating func codes(_ lengthCode: Huffman, _ distanceCode: Huffman) throws(Failure) {
        while true {
            var symbol = try decode(lengthCode)
            if symbol < 256 {
                guard output.count < maxOutput else { throw .tooLarge }
                output.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                symbol -= 257
                guard symbol < 29 else { throw .corrupt("invalid length symbol") }
                let length = Self.lengthBase[symbol] + (try bits(Self.lengthExtra[symbol]))
                let d = try decode(distanceCode)
                guard d < 30 else { throw .corrupt("invalid distance symbol") }
                let distance = Self.distanceBase[d] + (try bits(Self.distanceExtra[d]))
                guard distance <= output.count else { throw .corrupt("distance too far back") }
                guard maxOutput - output.count >= length else { throw .tooLarge }
                var from = output.count - distance
                for _ in 0..<length {
                    output.append(output[from])
                    from += 1
                }
            }
        }
    }

    private mutating func dynamic() throws(Failure) {
        let nlen = try bits(5) + 257
        let ndist = try bits(5) + 1
        let ncode = try bits(4) + 4
        guard nlen <= 286, ndist <= 30 else { throw .corrupt("bad dynamic block counts") }
        var lengths = [Int](repeating: 0, count: 320)
        for i in 0..<ncode { lengths[Self.codeLengthOrder[i]] = try bits(3) }
        var result = 0
        let lencode = Huffman(lengths: lengths[0..<19], result: &result)
        guard result == 0 else { throw .corrupt("incomplete code-length code") }
        var index = 0
        while index < nlen + ndist {
            var symbol = try decode(lencode)
            if symbol < 16 {
                lengths[index] = symbol
                index += 1
                continue
            }
            var repeated = 0
            if symbol == 16 {
                guard index > 0 else { throw .corrupt("repeat with no previous length") }
                repeated = lengths[index - 1]
                symbol = 3 + (try bits(2))
            } else if symbol == 17 {
                symbol = 3 + (try bits(3))
            } else {
                symbol = 11 + (try bits(7))
            }
            guard index + symbol <= nlen + ndist else { throw .corrupt("too many code lengths") }
            for _ in 0..<symbol {
                lengths[index] = repeated
                index += 1
            }
        }
        guard lengths[256] != 0 else { throw .corrupt("no end-of-block code") }
        let literal = Huffman(lengths: lengths[0..<nlen], result: &result)
        // Incomplete codes are only allowed when they hold a single one-bit code (RFC 1951 §3.2.7).
        guard result == 0 || (result > 0 && nlen == literal.count[0] + literal.count[1]) else {
            throw .corrupt("bad literal/length code")
        }
        let distance = Huffman(lengths: lengths[nlen..<(nlen + ndist)], result: &result)
        guard result == 0 || (result > 0 && ndist == distance.count[0] + distance.count[1]) else {
            throw .corrupt("bad distance code")
        }
        try codes(literal, distance)
    }
}
