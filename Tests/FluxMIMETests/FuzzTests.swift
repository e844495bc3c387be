import FluxTestSupport
import Foundation
import XCTest
@testable import FluxMIME

/// Bounded, seeded mutation fuzzing: every input either parses or throws MIMEError, never
/// crashes, hangs, or throws anything else.
final class FuzzTests: XCTestCase {
    static let seeds = [
        "signed-sha256.as2", "signed-binary.as2", "compressed-signed-encrypted.inner", "mdn-signed.as2",
        "mdn-unsigned.as2", "variant-folded-crlf.eml", "variant-lf.eml", "variant-padding.eml",
    ]

    /// Everything a receiver might do with an untrusted message.
    func exercise(_ data: Data, limits: MIMELimits) throws {
        let e = try MIMEEntity.parse(data, limits: limits)
        _ = e.fileName
        _ = MIMECanonical.crlf(e.raw)
        if let ct = e.headers["Content-Type"] {
            _ = try? MDNParser.parse(contentType: ct, body: e.body, limits: limits)
        }
        _ = try? e.decodedBody()
        var queue = [(e, 0)]
        while let (entity, depth) = queue.popLast() {
            guard entity.contentType?.isMultipart == true, depth < 4 else {
                _ = try? entity.decodedBody()
                continue
            }
            for p in try entity.parts(limits: limits) { queue.append((p, depth + 1)) }
        }
    }

    func mutate(_ input: Data, _ rng: inout SplitMix64) -> Data {
        var d = [UInt8](input)
        let interesting: [[UInt8]] = [[0x0D], [0x0A], [0x0D, 0x0A], [0x2D, 0x2D], [0x3A], [0x3B], [0x22], [0x3D], [0x20], [0x09], [0x00], [0xFF], Array("--===============".utf8), Array("boundary=\"".utf8), Array("\r\n\r\n".utf8)]
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            let pos = d.isEmpty ? 0 : Int(rng.next() % UInt64(d.count))
            switch rng.next() % 7 {
            case 0 where !d.isEmpty: d[pos] = UInt8(truncatingIfNeeded: rng.next())
            case 1: d.insert(contentsOf: interesting[Int(rng.next() % UInt64(interesting.count))], at: pos)
            case 2 where !d.isEmpty: d.removeSubrange(pos..<min(d.count, pos + 1 + Int(rng.next() % 64)))
            case 3: d = Array(d.prefix(pos))                                 // truncation
            case 4 where !d.isEmpty:                                         // duplicate a chunk
                let len = min(d.count - pos, 1 + Int(rng.next() % 200))
                d.insert(contentsOf: d[pos..<(pos + len)], at: Int(rng.next() % UInt64(d.count)))
            case 5 where !d.isEmpty: d[pos] = d[pos] == 0x0A ? 0x0D : 0x0A
            default: d.insert(0x2D, at: pos)
            }
        }
        return Data(d)
    }

    func testMutatedFixturesParseOrThrowMIMEError() throws {
        let seeds = try Self.seeds.map { try fixture($0) }
        var rng = SplitMix64(seed: 0xF1_0C5)
        let limits = MIMELimits(maxHeaderBytes: 8 * 1024, maxHeaderCount: 64, maxParts: 16)
        var parsed = 0, rejected = 0
        let start = Date()
        for i in 0..<2_000 {
            let input = mutate(seeds[i % seeds.count], &rng)
            do {
                try exercise(input, limits: limits)
                parsed += 1
            } catch is MIMEError {
                rejected += 1
            } catch {
                XCTFail("iteration \(i): non-MIME error \(error)")
            }
        }
        XCTAssertEqual(parsed + rejected, 2_000)
        XCTAssertGreaterThan(parsed, 100, "mutations should not all be rejected")
        XCTAssertGreaterThan(rejected, 10, "some mutations must be rejected")
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    }

    func testRandomGarbage() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<300 {
            let n = Int(rng.next() % 400)
            let data = Data((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            do { try exercise(data, limits: .default) } catch is MIMEError {} catch { XCTFail("\(error)") }
            _ = try? MIMETransferCoding.decodeBase64(data)
            _ = try? MIMETransferCoding.decodeQuotedPrintable(data)
            _ = ContentType(String(decoding: data, as: UTF8.self))
            _ = DispositionNotificationOptions(String(decoding: data, as: UTF8.self))
        }
    }
}
