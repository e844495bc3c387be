import FluxTestSupport
import Foundation
import XCTest
@testable import FluxSFTP

/// Seeded mutation fuzzing of the whole session: valid requests are mutated (bytes flipped,
/// lengths lied about, cut, extended, spliced) and fed with random splits. The session may answer
/// or close the stream; it must never crash, hang, buffer past its bound, or leak staging files.
final class SFTPFuzzTests: XCTestCase {
    private func corpus(_ f: SFTPFixture, handle: [UInt8]) -> [[UInt8]] {
        func p(_ type: UInt8, _ build: (inout SFTPPacketBuilder) -> Void) -> [UInt8] {
            var b = SFTPPacketBuilder(type)
            b.u32(77)
            build(&b)
            return b.framed
        }
        return [
            p(SFTPT.open) { $0.string("/inbox/f.xml"); $0.u32(SFTPT.upload); $0.attrs(flags: 0xF, size: 1, perms: 0o644, times: (1, 2)) },
            p(SFTPT.open) { $0.string("/outbox/R.cdar.xml"); $0.u32(SFTPT.fRead); $0.attrs() },
            p(SFTPT.write) { $0.bytes(handle); $0.u64(3); $0.bytes(sftpBytes("abcdef")) },
            p(SFTPT.read) { $0.bytes(handle); $0.u64(0); $0.u32(100) },
            p(SFTPT.close) { $0.bytes(handle) },
            p(SFTPT.fstat) { $0.bytes(handle) },
            p(SFTPT.fsetstat) { $0.bytes(handle); $0.attrs(flags: 0x8000_0008, times: (1, 2)); $0.u32(1); $0.string("a"); $0.string("b") },
            p(SFTPT.stat) { $0.string("/inbox/../outbox/R.cdar.xml") },
            p(SFTPT.opendir) { $0.string("/outbox") },
            p(SFTPT.readdir) { $0.bytes(handle) },
            p(SFTPT.remove) { $0.string("/inbox/f.part") },
            p(SFTPT.rename) { $0.string("/inbox/f.part"); $0.string("/inbox/f.xml") },
            p(SFTPT.realpath) { $0.string("./inbox//x") },
            p(SFTPT.mkdir) { $0.string("/inbox/d"); $0.attrs() },
            p(SFTPT.symlink) { $0.string("/etc"); $0.string("/inbox/l") },
            p(SFTPT.extended) { $0.string("posix-rename@openssh.com"); $0.string("/inbox/f.part"); $0.string("/inbox/g.tmp") },
            p(SFTPT.extended) { $0.string("limits@openssh.com") },
            p(SFTPT.extended) { $0.string("statvfs@openssh.com"); $0.string("/outbox") },
            p(SFTPT.extended) { $0.string("fsync@openssh.com"); $0.bytes(handle) },
        ]
    }

    private func mutate(_ packet: [UInt8], _ g: inout SplitMix64, corpus: [[UInt8]]) -> [UInt8] {
        var m = packet
        for _ in 0..<Int.random(in: 1...4, using: &g) {
            switch Int.random(in: 0..<8, using: &g) {
            case 0: // flip a byte of the payload
                let i = Int.random(in: 4..<m.count, using: &g)
                m[i] ^= UInt8.random(in: 1...255, using: &g)
            case 1: // set a 32-bit field inside to an extreme
                if m.count > 12 {
                    let i = Int.random(in: 5..<(m.count - 4), using: &g)
                    let v: [UInt8] = [[0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0], [0x80, 0, 0, 0], [0, 0, 0x10, 0]].randomElement(using: &g)!
                    m.replaceSubrange(i..<(i + 4), with: v)
                }
            case 2: // cut the payload but fix the length so the frame stays valid
                if m.count > 6 {
                    m = Array(m.prefix(Int.random(in: 5..<m.count, using: &g)))
                }
            case 3: // append garbage
                m += (0..<Int.random(in: 1...40, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            case 4: // splice the tail of another packet
                let other = corpus.randomElement(using: &g)!
                let cut = Int.random(in: 5..<other.count, using: &g)
                m += other[cut...]
            case 5: // random type
                m[4] = UInt8.random(in: 0...255, using: &g)
            case 6: // a path component swapped for something hostile
                let evil = ["..", "/../../etc/passwd", ".hidden", "a\u{0}b", "\u{202E}", String(repeating: "z", count: 300)].randomElement(using: &g)!
                m += sftpBytes(evil)
            default: // duplicate the payload inside itself
                m += m[4...]
            }
        }
        // Mostly keep the frame consistent so the payload parsers are what gets exercised;
        // sometimes leave the length lying (the framing layer's turn).
        if Int.random(in: 0..<40, using: &g) != 0 {
            let len = UInt32(m.count - 4)
            m.replaceSubrange(0..<4, with: [UInt8(len >> 24), UInt8(len >> 16 & 0xFF), UInt8(len >> 8 & 0xFF), UInt8(len & 0xFF)])
        }
        return m
    }

    func testMutatedPacketsNeverCrashOrLeak() throws {
        var g = SplitMix64(seed: 0x5F7A_2026)
        var sessions = 0
        var fatal = 0
        var replies = 0
        var packets = 0
        while packets < 4000 {
            sessions += 1
            let f = SFTPFixture(quota: SFTPQuota(maxFileBytes: 4096, maxPendingBytes: 16384, maxPendingFiles: 4, minFreeDiskBytes: 0),
                            limits: SFTPLimits(maxPacket: 40_000, maxOpenHandles: 8))
            try Data("receipt".utf8).write(to: URL(fileURLWithPath: f.outbox + "/R.cdar.xml"))
            let h = f.openHandle("/inbox/f.part", SFTPT.upload)
            let seeds = corpus(f, handle: h)
            sessionLoop: for _ in 0..<200 {
                var stream: [UInt8] = []
                for _ in 0..<Int.random(in: 1...3, using: &g) {
                    stream += mutate(seeds.randomElement(using: &g)!, &g, corpus: seeds)
                    packets += 1
                }
                var offset = 0
                while offset < stream.count {
                    let n = Int.random(in: 1...(stream.count - offset), using: &g)
                    do {
                        let out = try f.session.receive(Array(stream[offset..<(offset + n)]))
                        replies += decodeSFTPReplies(out).count
                    } catch is SFTPProtocolError {
                        fatal += 1
                        break sessionLoop
                    }
                    XCTAssertLessThanOrEqual(f.session.bufferedByteCount, 40_004)
                    offset += n
                }
                XCTAssertLessThanOrEqual(f.session.openHandleCount, 8)
                XCTAssertLessThanOrEqual(f.stagingFiles().count, 4)
            }
            f.session.close()
            XCTAssertTrue(f.stagingFiles().isEmpty, "staging left behind after close")
            XCTAssertTrue(FileManager.default.fileExists(atPath: f.outbox) && FileManager.default.fileExists(atPath: f.inbox))
        }
        XCTAssertGreaterThan(replies, 1000, "most mutated packets are answered")
        XCTAssertGreaterThan(sessions, 1, "some mutations break the framing")
        XCTAssertGreaterThan(fatal, 0, "some mutations break the framing")
    }

    func testRandomBytesAfterInit() {
        var g = SplitMix64(seed: 42)
        for round in 0..<300 {
            let f = SFTPFixture(limits: SFTPLimits(maxPacket: 40_000))
            let noise = (0..<Int.random(in: 1...600, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            do {
                _ = decodeSFTPReplies(try f.session.receive(noise))
            } catch let e as SFTPProtocolError {
                XCTAssertTrue(["sftp-too-large", "sftp-framing", "sftp-unexpected-init"].contains(e.code), "round \(round): \(e)")
            } catch {
                XCTFail("unexpected error \(error)")
            }
            XCTAssertLessThanOrEqual(f.session.bufferedByteCount, 40_004)
        }
    }
}
