import CAllocationCounter
import FluxInvoice
import FluxMIME
import FluxSFTP
import Foundation
import Testing

/// Allocation counts of the hot paths, checked in CI without timing anything (issue 7): a
/// regression that adds allocations per message, per invoice or per SFTP write shows up here as
/// a count over its budget, whatever the machine's speed. Budgets are about 1.5x what the code
/// needed when they were set (the figures are printed), so only real regressions trip them.
/// Counted: malloc/calloc/realloc calls of the measuring thread (see CAllocationCounter).
@Suite(.serialized)
struct HotPathAllocationTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var shared: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["FLUX_SHARED"] ?? repo.appendingPathComponent("../shared").standardized.path)
    }

    /// Allocations per run of `body`, averaged over `runs` after one warm-up run (caches,
    /// lazily initialised globals).
    static func allocations(runs: Int, _ body: () throws -> Void) rethrows -> Double {
        try body()
        flux_allocations_start()
        for _ in 0..<runs { try body() }
        return Double(flux_allocations_stop()) / Double(runs)
    }

    @Test func theCountingAllocatorIsInPlace() {
        let p = malloc(16)
        free(p)
        #expect(flux_allocations_hooked() == 1, "malloc is not interposed: the test executable must export it (Package.swift linker flags)")
        flux_allocations_start()
        let q = malloc(32)
        let n = flux_allocations_stop()
        free(q)
        #expect(n == 1)
    }

    @Test func mimeParsingOfAnAS2Message() throws {
        // a signed + encrypted capture from pyas2lib: the HTTP head and the outer entity
        let data = try Data(contentsOf: Self.repo.appendingPathComponent("Tests/FluxMIMETests/Fixtures/mdn-signed.as2"))
        let n = try Self.allocations(runs: 200) {
            let entity = try MIMEEntity.parse(data)
            _ = try entity.parts()
        }
        print("allocations: MIME parse + multipart split of a signed MDN (\(data.count) bytes): \(n)")
        #expect(n > 0 && n <= 250, "MIME parsing allocates \(n) times per message (budget 250)")
    }

    /// libxml2 2.9 copies a memory input whole before parsing it: a 16 MB file that merely starts
    /// like XML cost 32 MB. XMLDoc.parse hands it over in chunks instead, so a file refused early
    /// costs no second copy.
    @Test func parsingALargeFileMakesNoWholeCopy() throws {
        // Starts like XML (what the inspector sniffs), then a control character where a tag name
        // must be: not well-formed, so libxml2 stops at once; what it allocated by then is the
        // input copy, if any.
        var data = Data("<\u{1}".utf8)
        data.append(Data(repeating: UInt8(ascii: "a"), count: 16 << 20))
        let file = data
        flux_allocations_start()
        let result = Result { try XMLDoc.parse(file, name: "big.xml") }
        _ = flux_allocations_stop()
        let largest = flux_allocations_largest()
        print("allocations: largest single allocation while parsing 16 MB: \(largest) bytes")
        #expect(throws: (any Error).self) { try result.get() }
        #expect(largest < 1 << 20, "parsing allocated \(largest) bytes at once: the input was copied whole")
    }

    @Test func xpathExtractionOfAnInvoice() throws {
        for (file, budget) in [("FR-CII-EN16931-B2B-simple.xml", 2150.0), ("FR-UBL-EN16931-B2B-simple.xml", 1700.0)] {
            let data = try Data(contentsOf: Self.shared.appendingPathComponent("corpus/invoices/fr-generated/\(file)"))
            let n = try Self.allocations(runs: 100) {
                let doc = try XMLDoc.parse(data, name: file)
                guard let root = doc.root, case .success(let syntax) = InvoiceSyntax.detect(rootName: root.name, namespace: root.namespace) else {
                    Issue.record("\(file): not an invoice")
                    return
                }
                let facts = InvoiceExtractor.extract(doc, syntax: syntax)
                #expect(facts.number != nil)
            }
            print("allocations: parse + business terms of \(file): \(n)")
            #expect(n > 0 && n <= budget, "\(file): \(n) allocations per invoice (budget \(budget))")
        }
    }

    final class Sink: SFTPUploadHandler {
        func uploadCompleted(stagingPath: String, name: String) -> String? { unlink(stagingPath); return nil }
        func uploadAborted(name: String, bytes: Int64) {}
        func event(_ what: String, path: String, detail: String?) {}
    }

    static func frame(_ type: UInt8, _ id: UInt32?, _ fields: [UInt8]) -> [UInt8] {
        var body = [type]
        if let id { body += be32(id) }
        body += fields
        return be32(UInt32(body.count)) + body
    }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be64(_ v: UInt64) -> [UInt8] { be32(UInt32(v >> 32)) + be32(UInt32(v & 0xFFFF_FFFF)) }
    static func string(_ b: [UInt8]) -> [UInt8] { be32(UInt32(b.count)) + b }

    @Test func sftpWritePath() throws {
        let root = NSTemporaryDirectory() + "alloc-sftp-\(UUID().uuidString.prefix(8))"
        for d in ["inbox", "outbox", "staging"] { try FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fs = SFTPChrootFileSystem(inbox: root + "/inbox", outbox: root + "/outbox", staging: root + "/staging",
                                      quota: SFTPQuota(maxFileBytes: 1 << 30, maxPendingBytes: 1 << 30, maxPendingFiles: 8, minFreeDiskBytes: 0),
                                      uploads: Sink(), freeSpace: { _ in 1 << 40 })
        let session = SFTPSession(fileSystem: fs)
        defer { session.close() }
        _ = try session.receive(Self.frame(1, nil, Self.be32(3)))  // INIT v3
        // OPEN /inbox/big.xml for writing; the reply carries the handle
        let open = try session.receive(Self.frame(3, 1, Self.string(Array("/inbox/big.xml".utf8)) + Self.be32(0x1A) + Self.be32(0)))
        #expect(open.count > 9 && open[4] == 102, "OPEN must return a handle")
        let handleLength = Int(open[9]) << 24 | Int(open[10]) << 16 | Int(open[11]) << 8 | Int(open[12])
        let handle = Array(open[13..<(13 + handleLength)])
        // the packets are built first: only the server side is counted
        let chunk = [UInt8](repeating: 0x41, count: 32 * 1024)
        let packets = (0..<501).map { i in
            Self.frame(6, UInt32(2 + i), Self.string(handle) + Self.be64(UInt64(i * chunk.count)) + Self.string(chunk))
        }
        var next = 0
        var bad = 0
        let n = try Self.allocations(runs: 500) {
            let reply = try packets[next].withUnsafeBytes { try session.receive($0) }
            next += 1
            if reply.count < 13 || reply[4] != 101 || reply[9..<13] != [0, 0, 0, 0] { bad += 1 }
        }
        #expect(bad == 0, "every WRITE must answer STATUS OK")
        print("allocations: SFTP WRITE of 32 KiB, packet in to status out: \(n)")
        #expect(n > 0 && n <= 6, "an SFTP write allocates \(n) times (budget 6)")
    }

    /// Every deposit builds its receipt: a flux document and one per invoice. Written as
    /// concatenated strings it cost 5.7% of the intake's CPU (stop 19), mostly temporaries.
    @Test func cdarReceiptOfOneInvoice() {
        let party = CDARParty(siren: "100000009", name: "VENDEUR EXEMPLE SAS", roleCode: "SE")
        let receipt = CDARReceipt(
            messageID: "R0B0E6C1A6F424D0E9D8A3C1D", issued: Date(timeIntervalSince1970: 1_789_464_660),
            received: Date(timeIntervalSince1970: 1_789_464_600), fluxName: "FR-CII-EN16931-B2B-simple.xml",
            sender: CDARParty(siren: nil, name: "flux-gateway", roleCode: "WK"), recipient: party, fluxAccepted: true,
            fluxReasons: [],
            invoices: [CDARInvoiceStatus(invoiceNumber: "FA-2026-000123", issueDate: "20260915", typeCode: "380",
                                         sellerSIREN: "100000009", accepted: true, reasons: [], fileName: "FR-CII.xml")])
        var bytes = 0
        let n = Self.allocations(runs: 200) {
            bytes = CDARReceiptBuilder.build(receipt).reduce(0) { $0 + $1.xml.count }
        }
        print("allocations: CDAR receipt, flux + one invoice document (\(bytes) bytes): \(n)")
        #expect(bytes > 4000)
        #expect(n > 0 && n <= 75, "building a receipt allocates \(n) times (budget 75; the string-built writer of stop 18 made 560)")
    }
}
