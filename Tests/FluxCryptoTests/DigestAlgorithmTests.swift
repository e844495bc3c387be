import FluxCrypto
import Foundation
import Testing

@Suite struct DigestAlgorithmTests {
    @Test func parsesAS2AndSMIMESpellings() {
        let spellings: [(String, DigestAlgorithm)] = [
            ("sha1", .sha1), ("sha-1", .sha1), ("SHA1", .sha1), ("SHA-1", .sha1), ("sha_1", .sha1),
            ("sha224", .sha224), ("sha-224", .sha224),
            ("sha256", .sha256), ("sha-256", .sha256), ("SHA256", .sha256), ("sha_256", .sha256), ("Sha-256", .sha256),
            (" sha-256 ", .sha256), ("\"sha-256\"", .sha256),
            ("sha384", .sha384), ("sha-384", .sha384), ("SHA_384", .sha384),
            ("sha512", .sha512), ("sha-512", .sha512), ("SHA512", .sha512),
        ]
        for (spelling, expected) in spellings {
            #expect(DigestAlgorithm(as2Name: spelling) == expected, "\(spelling)")
        }
        for unknown in ["", "md5", "rsa-sha256", "sha", "sha-3", "sha3-256", "sha-2", "sha256;", "sha 256x", "shá256",
                        String(repeating: "sha-256", count: 10)] {
            #expect(DigestAlgorithm(as2Name: unknown) == nil, "\(unknown)")
        }
    }

    @Test func micalgNamesFollowRFC5751() {
        #expect(DigestAlgorithm.allCases.map(\.micalgName) == ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"])
        for algorithm in DigestAlgorithm.allCases {
            // What we write is what we read back.
            #expect(DigestAlgorithm(as2Name: algorithm.micalgName) == algorithm)
            #expect(DigestAlgorithm(rawValue: algorithm.rawValue) == algorithm)
        }
    }

    @Test func hashMatchesOpenSSLDgst() throws {
        let data = Data("line one\r\nline two\n".utf8) + Data((0...255).map { UInt8($0) })
        try withTemporaryDirectory { dir in
            try data.write(to: dir.file("data"))
            for algorithm in DigestAlgorithm.allCases {
                try mustRunOpenSSL(["dgst", "-\(algorithm.rawValue)", "-binary", "-out", "digest", "data"], in: dir)
                let expected = try contents(of: "digest", in: dir)
                let actual = algorithm.hash(data)
                #expect(actual == expected, "\(algorithm)")
                #expect(actual.count == algorithm.byteCount)
            }
        }
    }

    @Test func knownVectorsForEmptyInput() {
        #expect(Digest.hex([UInt8](DigestAlgorithm.sha1.hash(Data()))) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(Digest.hex([UInt8](DigestAlgorithm.sha256.hash(Data())))
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func streamingInPiecesEqualsOneShot() {
        let data = Data((0..<70_001).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) })
        for algorithm in DigestAlgorithm.allCases {
            let expected = algorithm.hash(data)
            for chunk in [1, 127, 128, 129, 4096] {
                var stream = DigestStream(algorithm)
                var offset = 0
                while offset < data.count {
                    let end = min(offset + chunk, data.count)
                    data[offset..<end].withUnsafeBytes { stream.update($0) }
                    offset = end
                }
                stream.update(Data())
                #expect(stream.algorithm == algorithm)
                #expect(stream.finalize() == expected, "\(algorithm), chunk \(chunk)")
            }
        }
    }
}
