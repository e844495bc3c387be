import Foundation
import XCTest
@testable import FluxSFTP

final class SFTPFramingTests: XCTestCase {
    /// INIT, OPEN, WRITE, CLOSE, REALPATH as one byte stream.
    private func uploadScript(_ f: SFTPFixture) -> [UInt8] {
        var stream = f.initPacket()
        var open = SFTPPacketBuilder(SFTPT.open)
        open.u32(1); open.string("/inbox/split.xml"); open.u32(SFTPT.upload); open.attrs()
        stream += open.framed
        return stream
    }

    private func expectedReplyTypes(_ replies: [SFTPReply]) -> [UInt8] { replies.map(\.type) }

    func testSplitAtEveryByteBoundaryGivesSameReplies() throws {
        // The handle is random, so the WRITE and CLOSE are sent after reading it; the prefix
        // (INIT + OPEN) and the suffix (WRITE + CLOSE + REALPATH) are each split at every byte.
        for cut in 0...60 {
            let f = SFTPFixture(initialize: false)
            let prefix = uploadScript(f)
            let c1 = min(cut, prefix.count)
            var replies = f.feed(Array(prefix[..<c1]))
            XCTAssertLessThanOrEqual(f.session.bufferedByteCount, prefix.count)
            replies += f.feed(Array(prefix[c1...]))
            XCTAssertEqual(replies.map(\.type), [SFTPT.version, SFTPT.handle], "cut \(cut)")
            var hr = replies[1]
            hr.cursor = 4
            let h = hr.bytes()
            var w = SFTPPacketBuilder(SFTPT.write); w.u32(2); w.bytes(h); w.u64(0); w.bytes(sftpBytes("payload-\(cut)"))
            var c = SFTPPacketBuilder(SFTPT.close); c.u32(3); c.bytes(h)
            var rp = SFTPPacketBuilder(SFTPT.realpath); rp.u32(4); rp.string("inbox/../outbox")
            let suffix = w.framed + c.framed + rp.framed
            let c2 = cut % (suffix.count + 1)
            var more = f.feed(Array(suffix[..<c2]))
            more += f.feed(Array(suffix[c2...]))
            XCTAssertEqual(more.map(\.type), [SFTPT.status, SFTPT.status, SFTPT.name], "cut \(cut)")
            XCTAssertEqual(more.map(\.id), [2, 3, 4])
            XCTAssertEqual(f.handler.completions.map(\.bytes), [sftpBytes("payload-\(cut)")], "cut \(cut)")
            XCTAssertEqual(f.session.bufferedByteCount, 0)
        }
    }

    func testByteByByteFeeding() {
        let f = SFTPFixture(initialize: false)
        var stream = f.initPacket()
        for i in 0..<5 {
            var p = SFTPPacketBuilder(SFTPT.realpath); p.u32(UInt32(10 + i)); p.string("/inbox/a\(i).xml")
            stream += p.framed
        }
        var replies: [SFTPReply] = []
        for b in stream { replies += f.feed([b]) }
        XCTAssertEqual(replies.map(\.type), [SFTPT.version] + Array(repeating: SFTPT.name, count: 5))
        XCTAssertEqual(replies.dropFirst().map(\.id), [10, 11, 12, 13, 14])
    }

    func testSeveralPacketsInOneReceiveAreAllAnswered() {
        let f = SFTPFixture()
        var stream: [UInt8] = []
        var ids: [UInt32] = []
        for path in ["/", "/inbox", "/outbox", "/inbox/x.xml", "/nowhere"] {
            let (b, id) = f.packet(SFTPT.stat) { $0.string(path) }
            stream += b
            ids.append(id)
        }
        let replies = f.feed(stream)
        XCTAssertEqual(replies.map(\.id), ids)
        XCTAssertEqual(replies.map(\.type), [SFTPT.attrs, SFTPT.attrs, SFTPT.attrs, SFTPT.status, SFTPT.status])
    }

    func testTruncatedPacketThenCloseAbortsOpenUpload() {
        let f = SFTPFixture()
        let h = f.openHandle("/inbox/cut.xml", SFTPT.upload)
        XCTAssertEqual(f.write(h, 0, sftpBytes("first part")).status?.code, SFTPT.ok)
        let (w, _) = f.packet(SFTPT.write) { $0.bytes(h); $0.u64(10); $0.bytes(sftpRandomBytes(5000, seed: 1)) }
        XCTAssertTrue(f.feed(Array(w.prefix(3000))).isEmpty, "half a packet gets no reply")
        XCTAssertEqual(f.session.bufferedByteCount, 3000)
        f.session.close()
        XCTAssertEqual(f.handler.aborts.map(\.name), ["cut.xml"])
        XCTAssertEqual(f.handler.aborts.first?.bytes, 10)
        XCTAssertTrue(f.handler.completions.isEmpty)
        XCTAssertTrue(f.stagingFiles().isEmpty)
        XCTAssertEqual(f.session.bufferedByteCount, 0)
    }

    func testOversizedLengthThrowsWithoutBuffering() {
        let limits = SFTPLimits()
        let f = SFTPFixture(limits: limits)
        let len = UInt32(limits.maxPacket + 1)
        let header: [UInt8] = [UInt8(len >> 24), UInt8(len >> 16 & 0xFF), UInt8(len >> 8 & 0xFF), UInt8(len & 0xFF), SFTPT.write]
        XCTAssertThrowsError(try f.session.receive(header)) { error in
            XCTAssertEqual((error as? SFTPProtocolError)?.code, "sftp-too-large")
        }
        XCTAssertEqual(f.session.bufferedByteCount, 0)
        // The session stays failed.
        XCTAssertThrowsError(try f.session.receive(f.initPacket()))
        // A packet of exactly maxPacket is accepted (answered as a bad WRITE: unknown handle).
        let g = SFTPFixture(limits: limits)
        var p = SFTPPacketBuilder(SFTPT.write)
        p.u32(9); p.string("0000000000000000"); p.u64(0)
        let dataLen = limits.maxPacket - p.body.count - 4
        p.bytes([UInt8](repeating: 0x41, count: dataLen))
        XCTAssertEqual(p.body.count, limits.maxPacket)
        let r = g.feed(p.framed)
        XCTAssertEqual(r.first?.status?.message, "invalid handle")
    }

    func testOversizedLengthSplitAcrossCallsThrows() {
        let f = SFTPFixture()
        XCTAssertNoThrow(try f.session.receive([0x7F, 0xFF]))
        XCTAssertThrowsError(try f.session.receive([0xFF, 0xFF, 1])) { error in
            XCTAssertEqual((error as? SFTPProtocolError)?.code, "sftp-too-large")
        }
    }

    func testZeroLengthIsFramingError() {
        let f = SFTPFixture()
        XCTAssertThrowsError(try f.session.receive([0, 0, 0, 0])) { error in
            XCTAssertEqual((error as? SFTPProtocolError)?.code, "sftp-framing")
        }
    }

    func testPacketBeforeInitThrows() {
        let f = SFTPFixture(initialize: false)
        var p = SFTPPacketBuilder(SFTPT.realpath); p.u32(1); p.string(".")
        XCTAssertThrowsError(try f.session.receive(p.framed)) { error in
            XCTAssertEqual((error as? SFTPProtocolError)?.code, "sftp-expected-init")
        }
    }

    func testSecondInitAndOldVersionThrow() {
        let f = SFTPFixture()
        XCTAssertThrowsError(try f.session.receive(f.initPacket())) { error in
            XCTAssertEqual((error as? SFTPProtocolError)?.code, "sftp-unexpected-init")
        }
        let g = SFTPFixture(initialize: false)
        XCTAssertThrowsError(try g.session.receive(g.initPacket(version: 2))) { error in
            XCTAssertEqual((error as? SFTPProtocolError)?.code, "sftp-version")
        }
    }

    func testUnknownTypesAnswerOpUnsupportedWithTheirId() {
        let f = SFTPFixture()
        for type: UInt8 in [0, 21, 99, SFTPT.version, SFTPT.status, SFTPT.data, SFTPT.extendedReply, 255] {
            var p = SFTPPacketBuilder(type); p.u32(0xABCD_0000 | UInt32(type))
            let r = f.feed(p.framed)
            XCTAssertEqual(r.count, 1, "type \(type)")
            XCTAssertEqual(r.first?.status?.code, SFTPT.opUnsupported, "type \(type)")
            XCTAssertEqual(r.first?.id, 0xABCD_0000 | UInt32(type))
        }
        // Too short to carry an id: answered with id 0.
        let r = f.feed([0, 0, 0, 1, 77])
        XCTAssertEqual(r.first?.status?.code, SFTPT.opUnsupported)
        XCTAssertEqual(r.first?.id, 0)
        let ext = f.call(SFTPT.extended) { $0.string("copy-data") }
        XCTAssertEqual(ext.status?.code, SFTPT.opUnsupported)
        let link = f.pathRequest(SFTPT.readlink, "/inbox/x")
        XCTAssertEqual(link.status?.code, SFTPT.opUnsupported)
    }

    func testMalformedPayloadsAnswerBadMessage() {
        let f = SFTPFixture()
        // OPEN whose path length runs past the packet.
        var a = SFTPPacketBuilder(SFTPT.open); a.u32(5); a.u32(1000); a.body += sftpBytes("/inbox/x")
        // WRITE without its data string.
        var b = SFTPPacketBuilder(SFTPT.write); b.u32(6); b.string("0123456789abcdef"); b.u64(0)
        // READ cut inside the offset.
        var c = SFTPPacketBuilder(SFTPT.read); c.u32(7); c.string("0123456789abcdef"); c.u32(1)
        // OPEN whose attributes claim a size but stop.
        var d = SFTPPacketBuilder(SFTPT.open); d.u32(8); d.string("/inbox/y.xml"); d.u32(SFTPT.upload); d.u32(1); d.u32(0)
        // Attributes with a huge extended count.
        var e = SFTPPacketBuilder(SFTPT.setstat); e.u32(9); e.string("/inbox/y.xml"); e.u32(0x8000_0000); e.u32(0xFFFF_FFFF)
        // A request with only a type byte.
        let g: [UInt8] = [0, 0, 0, 1, SFTPT.stat]
        let replies = f.feed(a.framed + b.framed + c.framed + d.framed + e.framed + g)
        XCTAssertEqual(replies.map { $0.status?.code }, Array(repeating: SFTPT.badMessage, count: 6))
        XCTAssertEqual(replies.map(\.id), [5, 6, 7, 8, 9, 0])
        XCTAssertTrue(f.stagingFiles().isEmpty, "a malformed OPEN creates nothing")
        // The session goes on.
        XCTAssertEqual(f.pathRequest(SFTPT.stat, "/").type, SFTPT.attrs)
    }

    func testReplyBudgetShortensReadsInsteadOfBuffering() throws {
        let f = SFTPFixture(limits: SFTPLimits(maxReplyBytesPerReceive: 1 << 20))
        try Data(sftpRandomBytes(200_000, seed: 3)).write(to: URL(fileURLWithPath: f.outbox + "/big.cdar.xml"))
        let h = f.openHandle("/outbox/big.cdar.xml", SFTPT.fRead)
        var stream: [UInt8] = []
        for _ in 0..<40 {
            stream += f.packet(SFTPT.read) { $0.bytes(h); $0.u64(0); $0.u32(200_000) }.bytes
        }
        let replies = f.feed(stream)
        XCTAssertEqual(replies.count, 40)
        var total = 0
        for var r in replies {
            XCTAssertEqual(r.type, SFTPT.data)
            r.cursor = 4
            total += r.bytes().count
        }
        XCTAssertLessThan(total, (1 << 20) + 200_000 + 40 * 512, "one receive cannot turn tiny READs into unbounded output")
        XCTAssertGreaterThanOrEqual(total, 1 << 20)
    }
}
