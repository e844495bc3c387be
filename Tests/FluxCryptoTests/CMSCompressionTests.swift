import FluxCrypto
import Foundation
import Testing

@Suite struct CMSCompressionTests {
    /// "hello" in BER as a streaming sender writes it: indefinite lengths everywhere and the zlib
    /// stream (789ccb48cdc9c90700062c0215) in a constructed OCTET STRING of two pieces.
    static let berHello: [UInt8] = [
        0x30, 0x80,                                                                   // ContentInfo
        0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x09, //   id-ct-compressedData
        0xA0, 0x80,                                                                   //   [0]
        0x30, 0x80,                                                                   //     CompressedData
        0x02, 0x01, 0x00,                                                             //       version 0
        0x30, 0x0D, 0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x08, // zlib
        0x30, 0x80,                                                                   //       encapContentInfo
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,             //         id-data
        0xA0, 0x80,                                                                   //         [0]
        0x24, 0x80,                                                                   //           OCTET STRING (constructed)
        0x04, 0x05, 0x78, 0x9C, 0xCB, 0x48, 0xCD,
        0x04, 0x08, 0xC9, 0xC9, 0x07, 0x00, 0x06, 0x2C, 0x02, 0x15,
        0x00, 0x00,
        0x00, 0x00,
        0x00, 0x00,
        0x00, 0x00,
        0x00, 0x00,
        0x00, 0x00,
    ]

    /// CompressedData made by asn1crypto 1.5.1 (as pyas2lib's compress_message does) around
    /// "Content-Type: application/edi-x12\r\n\r\nISA*00*          *00*\r\n".
    static let asn1cryptoFixture = """
        MG4GCyqGSIb3DQEJEAEJoF8wXQIBADANBgsqhkiG9w0BCRADCDBJBgkqhkiG9w0BBwGgPAQ6eJxzzs8rSc0r0Q2pLEi1UkgsKMjJTE4syczP009NydStMDTi5eLl8gx21DIw0FKAAxCPlwsATTsPzA==
        """

    /// CompressedData made by BouncyCastle 1.72 (CMSCompressedDataStreamGenerator with
    /// ZlibCompressor, as Java AS2 products use it): BER with indefinite lengths and a constructed
    /// OCTET STRING, around "Content-Type: text/plain\r\n\r\nHello BouncyCastle\r\n".
    static let bouncyCastleFixture = """
        MIAGCyqGSIb3DQEJEAEJoIAwgAIBADANBgsqhkiG9w0BCRADCDCABgkqhkiG9w0BBwGggCSABDh4nHPOzytJzSvRDaksSLVSKEmtKNEvyEnMzOPl4uXySM3JyVdwyi/NS650TiwuyUnl5QIAmuYQMgAAAAAAAAAAAAAAAA==
        """

    @Test func roundTripsContentOfEverySize() throws {
        let texts = String(repeating: "ISA*00*          *00*          *ZZ*SENDER~\r\n", count: 5_000)
        let random = Data((0..<100_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) })
        for content in [Data(), Data([0]), sampleContent, Data(texts.utf8), random] {
            let compressed = try CMSCompression.compress(content)
            #expect(try CMSCompression.decompress(der: compressed, maxOutput: content.count) == content)
        }
        // Compression is the point: the EDI text shrinks a lot.
        #expect(try CMSCompression.compress(Data(texts.utf8)).count < texts.utf8.count / 20)
    }

    @Test func outputHasTheRFC3274Structure() throws {
        let der = try CMSCompression.compress(sampleContent)
        let tree = try DERNode(der: der)
        #expect(tree.children[0].content == [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x09])
        let compressedData = tree[1, 0]
        #expect(compressedData.children.count == 3)
        #expect(compressedData.children[0] == DERNode(tag: 0x02, content: [0]))  // version 0
        // Algorithm zlib, parameters absent.
        #expect(compressedData.children[1] == DERNode(tag: 0x30, children: [
            DERNode(tag: 0x06, content: [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x08]),
        ]))
        #expect(compressedData[2, 0].content == [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01])  // id-data
        #expect(compressedData[2, 1, 0].tag == 0x04)
        #expect(compressedData[2, 1, 0].content.prefix(1) == [0x78])  // a zlib header

        // OpenSSL (without zlib support) still parses and names the structure.
        try withTemporaryDirectory { dir in
            try der.write(to: dir.file("compressed.der"))
            try mustRunOpenSSL(["cms", "-cmsout", "-print", "-inform", "DER", "-in", "compressed.der", "-out", "dump.txt"], in: dir)
            let dump = try String(contentsOf: dir.file("dump.txt"), encoding: .utf8)
            #expect(dump.contains("contentType: id-smime-ct-compressedData"), "\(dump)")
            #expect(dump.contains("algorithm: zlib compression (1.2.840.113549.1.9.16.3.8)"), "\(dump)")
            #expect(dump.contains("parameter: <ABSENT>"))
        }
    }

    @Test func refusesToExpandBeyondTheLimit() throws {
        let content = Data(count: 1_000_000)
        let compressed = try CMSCompression.compress(content)
        #expect(compressed.count < 2_000)
        #expect(try CMSCompression.decompress(der: compressed, maxOutput: 1_000_000) == content)
        let error = #expect(throws: CryptoError.self) { try CMSCompression.decompress(der: compressed, maxOutput: 999_999) }
        #expect(error?.code == "cms-decompress-limit")

        // A bomb: 64 MiB of zeros in about 64 KiB is refused after the first MiB.
        let bomb = try CMSCompression.compress(Data(count: 64 << 20))
        #expect(bomb.count < 100_000)
        let bombError = #expect(throws: CryptoError.self) { try CMSCompression.decompress(der: bomb, maxOutput: 1 << 20) }
        #expect(bombError?.code == "cms-decompress-limit")

        let empty = try CMSCompression.compress(Data())
        #expect(try CMSCompression.decompress(der: empty, maxOutput: 0) == Data())
        #expect((#expect(throws: CryptoError.self) { try CMSCompression.decompress(der: compressed, maxOutput: 0) })?.code == "cms-decompress-limit")
    }

    @Test func readsBERWithIndefiniteLengthsAndChunkedContent() throws {
        #expect(try CMSCompression.decompress(der: Data(Self.berHello), maxOutput: 100) == Data("hello".utf8))

        // Our own output re-encoded the same way, with 7-byte pieces.
        let content = Data(String(repeating: "chunked BER content\r\n", count: 100).utf8)
        let ber = try DERNode(der: CMSCompression.compress(content)).ber(chunk: 7)
        #expect(try CMSCompression.decompress(der: ber, maxOutput: content.count) == content)
    }

    @Test func readsCompressedDataMadeByAsn1crypto() throws {
        let der = try #require(Data(base64Encoded: Self.asn1cryptoFixture))
        let content = try CMSCompression.decompress(der: der, maxOutput: 1_000)
        #expect(content == Data("Content-Type: application/edi-x12\r\n\r\nISA*00*          *00*\r\n".utf8))
        // Byte for byte what we produce ourselves.
        #expect(try CMSCompression.compress(content) == der)
    }

    @Test func readsCompressedDataMadeByBouncyCastle() throws {
        let der = try #require(Data(base64Encoded: Self.bouncyCastleFixture))
        #expect(der[1] == 0x80)  // indefinite length
        let content = try CMSCompression.decompress(der: der, maxOutput: 1_000)
        #expect(content == Data("Content-Type: text/plain\r\n\r\nHello BouncyCastle\r\n".utf8))
    }

    @Test func rejectsWhatIsNotZlibCompressedData() throws {
        func code(_ der: Data) -> String? {
            (#expect(throws: CryptoError.self) { try CMSCompression.decompress(der: der, maxOutput: 1 << 20) })?.code
        }
        let good = try CMSCompression.compress(sampleContent)
        let tree = try DERNode(der: good)

        var otherAlgorithm = tree
        otherAlgorithm[1, 0, 1, 0].content[10] = 0x09  // 1.2.840.113549.1.9.16.3.9
        #expect(code(otherAlgorithm.der) == "cms-decompress")

        var corrupt = tree
        corrupt[1, 0, 2, 1, 0].content[10] ^= 0xFF
        #expect(code(corrupt.der) == "cms-decompress")

        var truncated = tree
        truncated[1, 0, 2, 1, 0].content.removeLast(10)
        #expect(code(truncated.der) == "cms-decompress")

        var trailing = tree
        trailing[1, 0, 2, 1, 0].content += [0x00, 0x01]
        let trailingError = #expect(throws: CryptoError.self) { try CMSCompression.decompress(der: trailing.der, maxOutput: 1 << 20) }
        #expect(trailingError?.code == "cms-decompress")
        #expect(trailingError?.message.contains("follow the end") == true)

        var detached = tree
        detached[1, 0, 2].children.removeLast()
        #expect(code(detached.der) == "cms-decompress")

        #expect(code(Data()) == "cms-decompress")
        #expect(code(Data("zlib".utf8)) == "cms-decompress")
        #expect(code(good.prefix(good.count - 5)) == "cms-decompress")
        let signature = try CMSSigner(key: TestIdentity.alice.key, certificate: TestIdentity.alice.certificate).signDetached(sampleContent)
        #expect(code(signature) == "cms-decompress")
        #expect((#expect(throws: CryptoError.self) { try CMSCompression.decompress(der: good, maxOutput: -1) })?.code == "cms-decompress")
    }
}
