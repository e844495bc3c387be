import FluxTestSupport
import Foundation
import XCTest
@testable import FluxMIME

/// Bytes from a string, as written (no line-end conversion).
func bytes(_ s: String) -> Data { Data(s.utf8) }

/// A fixture file from Fixtures/ (captured from pyas2lib by capture/make_fixtures.py).
func fixture(_ name: String) throws -> Data {
    guard let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
        throw MIMEError(code: "test", message: "Fixtures folder missing from the test bundle")
    }
    return try Data(contentsOf: dir.appendingPathComponent(name))
}

/// manifest.json: pyas2lib's own view of each captured message.
func manifest() throws -> [String: [String: String]] {
    let json = try JSONSerialization.jsonObject(with: fixture("manifest.json")) as? [String: [String: Any]] ?? [:]
    return json.mapValues { entry in entry.compactMapValues { $0 as? String } }
}

/// Asserts that `body` throws a MIMEError with `code`.
func XCTAssertMIMEError<T>(_ code: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected MIMEError \(code), got success", file: file, line: line)
    } catch let e as MIMEError {
        XCTAssertEqual(e.code, code, "\(e)", file: file, line: line)
    } catch {
        XCTFail("expected MIMEError \(code), got \(error)", file: file, line: line)
    }
}

/// Splits a captured "HTTP headers CRLF CRLF body" file the way an HTTP server would, and builds
/// the outer entity from the headers, as the AS2 receiver does.
func outerEntity(fromCapture data: Data) throws -> (http: MIMEEntity, outer: MIMEEntity) {
    let http = try MIMEEntity.parse(data)
    let outer = MIMEEntity.fromHTTP(headers: http.headers.fields.map { ($0.name, $0.value) }, body: http.body)
    return (http, outer)
}

/// Minimal SHA-1 / SHA-256 so the tests can check MICs without a crypto dependency.
enum TestDigest {
    static func sha256(_ data: Data) -> Data {
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        let k: [UInt32] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
            0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
            0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
            0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
            0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
            0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
            0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
        ]
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        for chunk in padded(data) {
            var w = chunk
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w.append(w[i - 16] &+ s0 &+ w[i - 7] &+ s1)
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
        }
        return Data(h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } })
    }

    static func sha1(_ data: Data) -> Data {
        var h: [UInt32] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
        func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
        for chunk in padded(data) {
            var w = chunk
            for i in 16..<80 { w.append(rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1)) }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32) = switch i {
                case 0..<20: ((b & c) | (~b & d), 0x5A827999)
                case 20..<40: (b ^ c ^ d, 0x6ED9EBA1)
                case 40..<60: ((b & c) | (b & d) | (c & d), 0x8F1BBCDC)
                default: (b ^ c ^ d, 0xCA62C1D6)
                }
                let t = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, rotl(b, 30), a, t)
            }
            for (i, v) in [a, b, c, d, e].enumerated() { h[i] = h[i] &+ v }
        }
        return Data(h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } })
    }

    static func digest(_ alg: String, _ data: Data) -> Data? {
        switch DispositionNotificationOptions.canonicalMICAlgorithm(alg) {
        case "sha-256": return sha256(data)
        case "sha-1": return sha1(data)
        default: return nil
        }
    }

    /// 64-byte blocks as big-endian words, with MD padding.
    private static func padded(_ data: Data) -> [[UInt32]] {
        var m = [UInt8](data)
        let bitLength = UInt64(m.count) * 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in (0..<8).reversed() { m.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) }
        return stride(from: 0, to: m.count, by: 64).map { base in
            (0..<16).map { i in
                let j = base + 4 * i
                return UInt32(m[j]) << 24 | UInt32(m[j + 1]) << 16 | UInt32(m[j + 2]) << 8 | UInt32(m[j + 3])
            }
        }
    }
}

