import Foundation
import GRDB
import Testing

/// An SFTP upload on ext4 or XFS is claimed before its fsync, under a name carrying its size and
/// CRC-32 (one flush per CLOSE instead of two). After a power loss between the two, such a claim
/// can hold bytes that never reached the disk; it was never acknowledged, so recovery must drop it
/// (journalled) and take in only the claims whose bytes check out.
@Suite(.serialized)
struct ClaimRecoveryTests {
    /// CRC-32 (zlib polynomial), bit by bit: an oracle independent of the gateway's libdeflate.
    static func crc32(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func claimName(_ id: String, _ data: Data, crc: UInt32? = nil, _ name: String) -> String {
        let hex = String(crc ?? crc32(data), radix: 16)
        return "\(id)~\(data.count)~\(String(repeating: "0", count: 8 - hex.count))\(hex)__\(name)"
    }

    @Test func recoveryTakesInCheckedClaimsAndDropsTornOnes() throws {
        #expect(Self.crc32(Data("hello, world".utf8)) == 0xFFAB_723A)
        let g = try GatewayHarness()
        let claimDir = g.state.appendingPathComponent("dropzones/acme/.claimed")
        try FileManager.default.createDirectory(at: claimDir, withIntermediateDirectories: true)
        let good = try GatewayHarness.invoice(number: "CLAIM-GOOD-1")
        let torn = try GatewayHarness.invoice(number: "CLAIM-TORN-1")
        let goodID = UUID().uuidString.lowercased(), tornID = UUID().uuidString.lowercased(), shortID = UUID().uuidString.lowercased()
        try good.write(to: claimDir.appendingPathComponent(Self.claimName(goodID, good, "good.xml")))
        // The name was durable, the bytes were not: zeros where the invoice should be...
        try Data(count: torn.count).write(to: claimDir.appendingPathComponent(Self.claimName(tornID, torn, "torn.xml")))
        // ...or only part of them.
        try torn.prefix(100).write(to: claimDir.appendingPathComponent(Self.claimName(shortID, torn, "short.xml")))
        try g.start()
        defer { _ = g.stop() }

        // A deposit of one invoice gets two CDAR documents in the outbox.
        #expect(try g.waitForReceipts("good.xml.", count: 2).count == 2)
        try g.waitUntil(timeout: 20, "the claim directory to be emptied") {
            ((try? FileManager.default.contentsOfDirectory(atPath: claimDir.path)) ?? ["?"]).isEmpty
        }
        #expect(g.receipts("torn.xml.").isEmpty && g.receipts("short.xml.").isEmpty)
        let rows = try g.db().read { db in
            try Row.fetchAll(db, sql: "SELECT message_id, file_name, status, anomalies FROM journal WHERE company = 'acme' ORDER BY seq")
        }
        let aborted = rows.filter { ($0["status"] as String) == "aborted" }
        #expect(Set(aborted.map { $0["file_name"] as String }) == ["torn.xml", "short.xml"])
        #expect(aborted.allSatisfy { ($0["anomalies"] as String).contains("SFTP-ABORTED") && ($0["anomalies"] as String).contains("never acknowledged") })
        #expect(rows.contains { ($0["message_id"] as String) == goodID })
        #expect(!rows.contains { ($0["message_id"] as String) == tornID || ($0["message_id"] as String) == shortID })

        // A name as long as the filesystem allows is claimed (shortened in the claim name only).
        let long = String(repeating: "n", count: 246) + ".xml"
        try g.deposit(try GatewayHarness.invoice(number: "CLAIM-LONG-1"), name: long)
        #expect(try g.waitForReceipts(String(long.prefix(100)) + ".", count: 2).count == 2)
        let named = try g.db().read { db in
            try String.fetchAll(db, sql: "SELECT file_name FROM journal WHERE company = 'acme' AND kind = 'flux'")
        }
        #expect(named.contains(long))
    }
}
