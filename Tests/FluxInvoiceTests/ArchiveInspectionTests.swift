import FluxCore
@testable import FluxInvoice
import FluxTestSupport
import Foundation
import Testing

/// Builds archives member by member with Python's tarfile / zipfile, so names and entry types
/// that GNU tar would sanitise (absolute paths, `..`, links) can be written as an attacker would.
/// argv: output path, format ("tar.gz" or "zip"), JSON list of members:
/// {"name": ..., "type": "file"|"symlink"|"hardlink"|"dir", "src": path | "text": str, "target": str}
private let archiveScript = #"""
import io, json, sys, tarfile, zipfile
out, fmt, members = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def payload(m):
    if "src" in m:
        with open(m["src"], "rb") as f:
            return f.read()
    return m.get("text", "").encode("utf-8")
if fmt == "tar.gz":
    with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as t:
        for m in members:
            ti = tarfile.TarInfo(m["name"])
            kind = m.get("type", "file")
            if kind == "file":
                data = payload(m)
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = m["target"]
                t.addfile(ti)
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = m["target"]
                t.addfile(ti)
else:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for m in members:
            zi = zipfile.ZipInfo(m["name"])
            zi.compress_type = zipfile.ZIP_DEFLATED
            kind = m.get("type", "file")
            if kind == "symlink":
                zi.create_system = 3
                zi.external_attr = 0o120777 << 16
                z.writestr(zi, m["target"])
            elif kind == "dir":
                zi.external_attr = (0o40755 << 16) | 0x10
                z.writestr(zi, b"")
            else:
                z.writestr(zi, payload(m))
"""#

/// A tar.gz of `count` members of `size` zero bytes each, streamed from /dev/zero.
private let zeroBombScript = #"""
import sys, tarfile
out, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with tarfile.open(out, "w:gz", compresslevel=9) as t:
    for i in range(count):
        ti = tarfile.TarInfo("zeros%d.xml" % i)
        ti.size = size
        with open("/dev/zero", "rb") as z:
            t.addfile(ti, z)
"""#

/// A gzip holding a single tar header that announces `size` bytes, and almost no data.
private let liarHeaderScript = #"""
import gzip, sys, tarfile
out, size = sys.argv[1], int(sys.argv[2])
ti = tarfile.TarInfo("huge.xml")
ti.size = size
with gzip.open(out, "wb") as g:
    g.write(ti.tobuf(tarfile.GNU_FORMAT))
    g.write(b"<" + b"\0" * 511)
"""#

struct Member: Encodable {
    var name: String
    var type: String = "file"
    var src: String?
    var text: String?
    var target: String?

    static func corpus(_ name: String, _ relative: String) -> Member { Member(name: name, src: Corpus.path(relative)) }
    static func text(_ name: String, _ text: String) -> Member { Member(name: name, text: text) }
    static func symlink(_ name: String, to target: String) -> Member { Member(name: name, type: "symlink", target: target) }
    static func hardlink(_ name: String, to target: String) -> Member { Member(name: name, type: "hardlink", target: target) }
    static func dir(_ name: String) -> Member { Member(name: name, type: "dir") }
}

/// Writes an archive with the Python builder and returns its path.
func buildArchive(_ members: [Member], format: ArchiveReader.Format, in dir: URL, name: String? = nil) throws -> String {
    let out = dir.appendingPathComponent(name ?? "flux-\(UUID().uuidString).\(format.rawValue)").path
    let spec = String(decoding: try JSONEncoder().encode(members), as: UTF8.self)
    try python(archiveScript, [out, format.rawValue, spec], in: dir)
    return out
}

@Suite("FluxInspector: archives")
struct ArchiveInspectionTests {
    let inspector = FluxInspector()

    func inspect(_ path: String) -> FluxReport {
        inspector.inspect(path: path, fileName: (path as NSString).lastPathComponent)
    }

    static let twoInvoices = [
        ("FR-CII-EN16931-B2B-simple.xml", Corpus.frCII),
        ("FR-UBL-EN16931-B2B-simple.xml", Corpus.frUBL),
    ]

    @Test("tar.gz made by GNU tar with two invoices: two accepted items, in order")
    func tarGzWithGNUTar() throws {
        try withTemporaryDirectory { dir in
            let content = dir.appendingPathComponent("content")
            try stage(Self.twoInvoices.map { (corpus: $0.1, name: $0.0) }, in: content)
            let archive = dir.appendingPathComponent("deposit.tar.gz").path
            try run("/usr/bin/tar", ["-czf", archive, "-C", content.path] + Self.twoInvoices.map(\.0), in: dir)
            let report = inspect(archive)
            #expect(report.fluxAccepted, "\(report.fluxAnomalies)")
            #expect(report.format == "tar.gz")
            #expect(report.items.map(\.name) == Self.twoInvoices.map(\.0))
            #expect(report.items.allSatisfy { $0.accepted })
            #expect(report.items.map(\.facts.number) == ["FA-2026-000123", "FA-2026-000124"])
            #expect(report.items.map(\.facts.syntax) == [.cii, .ublInvoice])
            let original = try Corpus.data(Corpus.frCII)
            #expect(report.items[0].content == original)
        }
    }

    @Test("tar.gz with a folder: directories skipped, members keep their path")
    func tarGzWithFolder() throws {
        try withTemporaryDirectory { dir in
            let content = dir.appendingPathComponent("content")
            try stage([(corpus: Corpus.frCII, name: "in/a.xml"), (corpus: Corpus.frUBL, name: "in/b.xml")], in: content)
            let archive = dir.appendingPathComponent("deposit.tar.gz").path
            try run("/usr/bin/tar", ["-czf", archive, "-C", content.path, "in"], in: dir)
            let report = inspect(archive)
            #expect(report.fluxAccepted, "\(report.fluxAnomalies)")
            #expect(report.items.map(\.name).sorted() == ["in/a.xml", "in/b.xml"])
        }
    }

    @Test("zip made by Python zipfile with two invoices: two accepted items")
    func zipWithTwoInvoices() throws {
        try withTemporaryDirectory { dir in
            let archive = try buildArchive(Self.twoInvoices.map { Member.corpus($0.0, $0.1) }, format: .zip, in: dir)
            let report = inspect(archive)
            #expect(report.fluxAccepted, "\(report.fluxAnomalies)")
            #expect(report.format == "zip")
            #expect(report.items.map(\.name) == Self.twoInvoices.map(\.0))
            #expect(report.items.allSatisfy { $0.accepted })
            #expect(report.items.map(\.facts.number) == ["FA-2026-000123", "FA-2026-000124"])
            let original = try Corpus.data(Corpus.frUBL)
            #expect(report.items[1].content == original)
        }
    }

    @Test("zip with a directory entry: skipped")
    func zipWithDirectory() throws {
        try withTemporaryDirectory { dir in
            let archive = try buildArchive([.dir("in/"), .corpus("in/a.xml", Corpus.frCII)], format: .zip, in: dir)
            let report = inspect(archive)
            #expect(report.fluxAccepted, "\(report.fluxAnomalies)")
            #expect(report.items.map(\.name) == ["in/a.xml"])
        }
    }

    @Test("an invoice with anomalies inside an archive: flux accepted, item rejected")
    func itemAnomalyInArchive() throws {
        try withTemporaryDirectory { dir in
            let archive = try buildArchive([
                .corpus("good.xml", Corpus.frCII),
                .corpus("neg02.xml", "negative/invoices/NEG-02_missing-BT1_CII.xml"),
            ], format: .tarGz, in: dir)
            let report = inspect(archive)
            #expect(report.fluxAccepted)
            #expect(report.items.count == 2)
            #expect(report.items[0].accepted)
            #expect(report.items[1].anomalies.map(\.rule) == ["BR-02"])
        }
    }

    @Test("keepItems false: every member reaches the consumer, the report keeps none; a later refusal still refuses the flux")
    func streamingWithoutKeepingItems() throws {
        try withTemporaryDirectory { dir in
            let invoices: [Member] = [.corpus("good.xml", Corpus.frCII), .corpus("neg02.xml", "negative/invoices/NEG-02_missing-BT1_CII.xml")]
            let good = try buildArchive(invoices, format: .tarGz, in: dir)
            var seen: [(String, [String])] = []
            let report = try inspector.inspect(path: good, fileName: "deposit.tar.gz", keepItems: false) { item in
                seen.append((item.name, item.anomalies.map(\.rule)))
            }
            #expect(report.fluxAccepted)
            #expect(report.items.isEmpty)
            #expect(seen.map(\.0) == ["good.xml", "neg02.xml"])
            #expect(seen.map(\.1) == [[], ["BR-02"]])

            // The third member is not an invoice: the flux is refused even though two members
            // were already handed over, and the report lists no item either way.
            let bad = try buildArchive(invoices + [.text("notes.txt", "not an invoice")], format: .tarGz, in: dir)
            var handed = 0
            let refused = try inspector.inspect(path: bad, fileName: "deposit.tar.gz", keepItems: false) { _ in handed += 1 }
            #expect(!refused.fluxAccepted)
            #expect(refused.fluxAnomalies.map(\.reasonCode) == ["IRR_TYPE_F"])
            #expect(refused.items.isEmpty)
            #expect(handed == 2)
        }
    }

    @Test("PPF envelopes: F1 (one CII Base file) and F6 (four CDAR statuses)")
    func ppfEnvelopes() throws {
        let f1 = inspect(Corpus.path("ppf-flux/envelopes/FFE0112A_AAA123_AAA1230112000000000000001.tar.gz"))
        #expect(f1.fluxAccepted, "\(f1.fluxAnomalies)")
        #expect(f1.format == "tar.gz")
        #expect(f1.items.map(\.name) == ["Base_FA-2026-000123.xml"])
        #expect(f1.items.map(\.facts.syntax) == [.cii])
        #expect(f1.items.first?.facts.number == "FA-2026-000123")

        let f6 = inspect(Corpus.path("ppf-flux/envelopes/FFE0654A_AAA123_AAA1230654000000000000001.tar.gz"))
        #expect(f6.fluxAccepted, "\(f6.fluxAnomalies)")
        #expect(f6.items.count == 4)
        #expect(f6.items.allSatisfy { $0.facts.syntax == .cdar })
        #expect(f6.items.allSatisfy { $0.accepted })   // lifecycle messages carry no invoice checks
        #expect(f6.items.map(\.name) == [
            "FA-2026-000123_01b_CDV-200_Deposee_to-PPF.xml",
            "FA-2026-000123_07b_CDV-212_Encaissee_to-PPF.xml",
            "FA-2026-000124_CDV-210_Refusee_to-PPF.xml",
            "FA-2026-000125_CDV-213_Rejetee_to-PPF.xml",
        ])
    }

    @Test("NEG-FLUX-03 empty archive: IRR_VIDE")
    func emptyArchive() throws {
        let files = try Corpus.files("negative/flux/NEG-FLUX-03_empty-archive_IRR_VIDE") { $0.hasSuffix(".tar.gz") }
        #expect(!files.isEmpty)
        for path in files {
            let report = inspect(path)
            #expect(!report.fluxAccepted)
            #expect(report.items.isEmpty)
            #expect(report.fluxAnomalies.map(\.reasonCode) == ["IRR_VIDE"])
        }
    }

    @Test("an archive holding only directories is empty too")
    func onlyDirectories() throws {
        try withTemporaryDirectory { dir in
            let archive = try buildArchive([.dir("a/"), .dir("a/b/")], format: .tarGz, in: dir)
            #expect(inspect(archive).fluxAnomalies.map(\.reasonCode) == ["IRR_VIDE"])
        }
    }

    @Test("NEG-FLUX-07 tar-slip: IRR_EXTRAC naming '..'")
    func tarSlip() throws {
        let files = try Corpus.files("negative/flux/NEG-FLUX-07_tar-slip-path-traversal") { $0.hasSuffix(".tar.gz") }
        #expect(!files.isEmpty)
        for path in files {
            let report = inspect(path)
            #expect(!report.fluxAccepted)
            #expect(report.items.isEmpty)
            let a = try #require(report.fluxAnomalies.first)
            #expect(a.reasonCode == "IRR_EXTRAC")
            #expect(a.message.contains("'..'"), "\(a.message)")
            #expect(a.message.contains("../../../tmp/evil_Base_x.xml"))
        }
    }

    @Test("hostile member names are refused IRR_EXTRAC", arguments: [
        ("/etc/evil.xml", "absolute path"),
        ("a/../../evil.xml", "'..'"),
        ("..\\evil.xml", "'..'"),
        ("C:/evil.xml", "drive letter"),
    ])
    func hostileNames(name: String, why: String) throws {
        try withTemporaryDirectory { dir in
            for format in [ArchiveReader.Format.tarGz, .zip] {
                let archive = try buildArchive([.corpus("ok.xml", Corpus.frCII), .corpus(name, Corpus.frUBL)], format: format, in: dir)
                let report = inspect(archive)
                #expect(!report.fluxAccepted, "\(format) \(name)")
                #expect(report.items.isEmpty)
                let a = try #require(report.fluxAnomalies.first)
                #expect(a.reasonCode == "IRR_EXTRAC", "\(format) \(name)")
                #expect(a.message.contains(why), "\(format) \(name): \(a.message)")
            }
        }
    }

    @Test("a tar with a symlink member (made by GNU tar) is refused")
    func symlinkWithGNUTar() throws {
        try withTemporaryDirectory { dir in
            let content = dir.appendingPathComponent("content")
            try stage([(corpus: Corpus.frCII, name: "a.xml")], in: content)
            try FileManager.default.createSymbolicLink(atPath: content.appendingPathComponent("b.xml").path, withDestinationPath: "/etc/passwd")
            let archive = dir.appendingPathComponent("links.tar.gz").path
            try run("/usr/bin/tar", ["-czf", archive, "-C", content.path, "a.xml", "b.xml"], in: dir)
            let report = inspect(archive)
            #expect(!report.fluxAccepted)
            #expect(report.items.isEmpty)
            let a = try #require(report.fluxAnomalies.first)
            #expect(a.reasonCode == "IRR_EXTRAC")
            #expect(a.message.contains("b.xml"))
            #expect(a.message.contains("not a regular file"))
        }
    }

    @Test("symlink and hard-link members are refused (tar.gz and zip)")
    func links() throws {
        try withTemporaryDirectory { dir in
            let cases: [(ArchiveReader.Format, [Member])] = [
                (.tarGz, [.corpus("a.xml", Corpus.frCII), .symlink("b.xml", to: "a.xml")]),
                (.tarGz, [.corpus("a.xml", Corpus.frCII), .hardlink("b.xml", to: "a.xml")]),
                (.zip, [.corpus("a.xml", Corpus.frCII), .symlink("b.xml", to: "/etc/passwd")]),
            ]
            for (format, members) in cases {
                let report = inspect(try buildArchive(members, format: format, in: dir))
                #expect(!report.fluxAccepted, "\(format) \(members.map(\.type))")
                #expect(report.items.isEmpty)
                #expect(report.fluxAnomalies.map(\.reasonCode) == ["IRR_EXTRAC"], "\(format) \(members.map(\.type))")
            }
        }
    }

    @Test("gzip bomb (200 MB of zeros): refused on the compression ratio, quickly")
    func gzipBomb() throws {
        try withTemporaryDirectory { dir in
            let archive = dir.appendingPathComponent("bomb.tar.gz").path
            // Four 50 MB members: each under the 120 MB per-file limit, so only the ratio can stop it.
            try python(zeroBombScript, [archive, "4", String(50 << 20)], in: dir)
            let compressed = try #require((try FileManager.default.attributesOfItem(atPath: archive)[.size] as? NSNumber)?.intValue)
            #expect(compressed < 1 << 20)
            let clock = ContinuousClock()
            let start = clock.now
            let report = inspect(archive)
            let elapsed = clock.now - start
            #expect(!report.fluxAccepted)
            #expect(report.items.isEmpty)
            let a = try #require(report.fluxAnomalies.first)
            #expect(a.reasonCode == "IRR_EXTRAC")
            #expect(a.message.contains("decompression bomb"), "\(a.message)")
            #expect(elapsed < .seconds(3))
        }
    }

    @Test("zip bomb (100 MB of zeros in one member): refused on the compression ratio")
    func zipBomb() throws {
        try withTemporaryDirectory { dir in
            let archive = dir.appendingPathComponent("bomb.zip").path
            try python("""
                import sys, zipfile
                with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
                    with z.open("zeros.xml", "w") as w, open("/dev/zero", "rb") as src:
                        left = int(sys.argv[2])
                        while left:
                            chunk = src.read(min(left, 1 << 20)); w.write(chunk); left -= len(chunk)
                """, [archive, String(100 << 20)], in: dir)
            let clock = ContinuousClock()
            let start = clock.now
            let report = inspect(archive)
            #expect(clock.now - start < .seconds(3))
            #expect(!report.fluxAccepted)
            #expect(report.fluxAnomalies.map(\.reasonCode) == ["IRR_EXTRAC"])
            #expect(report.fluxAnomalies.first?.message.contains("decompression bomb") == true, "\(report.fluxAnomalies)")
        }
    }

    @Test("a large but ordinary archive (1.5 MB invoice, barely compressible) is accepted")
    func largeLegitimateArchive() throws {
        try withTemporaryDirectory { dir in
            // Deterministic pseudo-random note text: compresses ~1.3:1, far under the ratio bound,
            // while the expanded size is over the bound's 1 MiB allowance.
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
            var note = [UInt8](repeating: 0, count: 1_500_000)
            for i in note.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                note[i] = alphabet[Int((state >> 33) % UInt64(alphabet.count))]
            }
            let text = String(decoding: try Corpus.data(Corpus.frCII), as: UTF8.self)
                .replacingOccurrences(of: "<ram:Content>B2B</ram:Content>",
                                      with: "<ram:Content>\(String(decoding: note, as: UTF8.self))</ram:Content>")
            let bigFile = dir.appendingPathComponent("big-source.xml")
            try Data(text.utf8).write(to: bigFile)
            let archive = try buildArchive([Member(name: "big.xml", src: bigFile.path), .corpus("small.xml", Corpus.frUBL)],
                                           format: .tarGz, in: dir)
            let report = inspect(archive)
            #expect(report.fluxAccepted, "\(report.fluxAnomalies)")
            #expect(report.items.map(\.name) == ["big.xml", "small.xml"])
            #expect(report.items.first?.content.count ?? 0 > 1 << 20)
            #expect(report.items.first?.facts.number == "FA-2026-000123")
        }
    }

    @Test("a member announcing more than the per-file limit is refused from its header")
    func oversizedHeader() throws {
        try withTemporaryDirectory { dir in
            let archive = dir.appendingPathComponent("liar.tar.gz").path
            try python(liarHeaderScript, [archive, String(200 << 20)], in: dir)
            let report = inspect(archive)
            #expect(report.fluxAnomalies.map(\.reasonCode) == ["IRR_TAILLE_F"])
            #expect(report.fluxAnomalies.first?.message.contains("huge.xml") == true)
        }
    }

    @Test("a non-XML member: IRR_TYPE_F")
    func nonXMLMember() throws {
        try withTemporaryDirectory { dir in
            for format in [ArchiveReader.Format.tarGz, .zip] {
                let archive = try buildArchive([.corpus("a.xml", Corpus.frCII), .text("readme.txt", "not an invoice\n")],
                                               format: format, in: dir)
                let report = inspect(archive)
                #expect(!report.fluxAccepted)
                #expect(report.items.isEmpty)
                let a = try #require(report.fluxAnomalies.first)
                #expect(a.reasonCode == "IRR_TYPE_F", "\(format)")
                #expect(a.message.contains("readme.txt"))
            }
        }
    }

    @Test("a Factur-X PDF member is understood like a lone PDF")
    func pdfMember() throws {
        try withTemporaryDirectory { dir in
            let archive = try buildArchive([.corpus("f.pdf", "facturx-pdf/generated/facturx-FR-EN16931.pdf")], format: .tarGz, in: dir)
            let report = inspect(archive)
            #expect(report.fluxAccepted, "\(report.fluxAnomalies)")
            #expect(report.items.first?.facts.number == "FA-2026-000123")
            #expect(report.items.first?.accepted == true)
        }
    }

    @Test("an empty member: IRR_VIDE_F; a malformed member: IRR_SYNTAX; a DOCTYPE member: IRR_SYNTAX")
    func badMembers() throws {
        try withTemporaryDirectory { dir in
            let cases: [([Member], String)] = [
                ([.corpus("a.xml", Corpus.frCII), .text("empty.xml", "")], "IRR_VIDE_F"),
                ([.corpus("a.xml", Corpus.frCII), .corpus("neg01.xml", "negative/invoices/NEG-01_malformed-xml_CII.xml")], "IRR_SYNTAX"),
                ([.corpus("xxe.xml", "negative/invoices/NEG-16_XXE-external-entity_CII.xml")], "IRR_SYNTAX"),
                ([.corpus("zugferd.xml", "invoices/akretion-factur-x/zugferd-basic.xml")], "IRR_TYPE_F"),
            ]
            for (members, code) in cases {
                let report = inspect(try buildArchive(members, format: .tarGz, in: dir))
                #expect(!report.fluxAccepted)
                #expect(report.items.isEmpty)
                #expect(report.fluxAnomalies.map(\.reasonCode) == [code], "\(members.map(\.name))")
            }
        }
    }

    @Test("more members than maxEntries: IRR_TAILLE")
    func tooManyEntries() throws {
        try withTemporaryDirectory { dir in
            let archive = try buildArchive(Self.twoInvoices.map { Member.corpus($0.0, $0.1) }, format: .tarGz, in: dir)
            var limits = FluxLimits()
            limits.maxEntries = 1
            let report = FluxInspector(limits: limits).inspect(path: archive, fileName: "x.tar.gz")
            #expect(report.fluxAnomalies.map(\.reasonCode) == ["IRR_TAILLE"])
        }
    }

    @Test("truncated and non-tar gzip files: IRR_EXTRAC")
    func corruptArchives() throws {
        try withTemporaryDirectory { dir in
            let good = try buildArchive(Self.twoInvoices.map { Member.corpus($0.0, $0.1) }, format: .tarGz, in: dir)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
            let truncated = dir.appendingPathComponent("truncated.tar.gz")
            try bytes.prefix(bytes.count / 2).write(to: truncated)
            let r1 = inspect(truncated.path)
            #expect(!r1.fluxAccepted)
            #expect(r1.items.isEmpty)
            #expect(r1.fluxAnomalies.map(\.reasonCode) == ["IRR_EXTRAC"], "\(r1.fluxAnomalies)")

            // A gzip of a bare XML (no tar inside).
            let xmlGz = dir.appendingPathComponent("invoice.xml.gz")
            try python("import gzip,sys; open(sys.argv[2],'wb').write(gzip.compress(open(sys.argv[1],'rb').read()))",
                       [Corpus.path(Corpus.frCII), xmlGz.path], in: dir)
            let r2 = inspect(xmlGz.path)
            #expect(!r2.fluxAccepted)
            #expect(r2.items.isEmpty)
            #expect(r2.fluxAnomalies.map(\.reasonCode) == ["IRR_EXTRAC"], "\(r2.fluxAnomalies)")

            // Zip magic followed by garbage.
            let junk = dir.appendingPathComponent("junk.zip")
            try (Data([0x50, 0x4B, 0x03, 0x04]) + Data(repeating: 0x41, count: 200)).write(to: junk)
            let r3 = inspect(junk.path)
            #expect(!r3.fluxAccepted)
            #expect(r3.fluxAnomalies.map(\.reasonCode) == ["IRR_EXTRAC"], "\(r3.fluxAnomalies)")
        }
    }

    @Test("ArchiveReader.read calls the body for each regular member and propagates its errors")
    func readerDirect() throws {
        try withTemporaryDirectory { dir in
            let archive = try buildArchive([.corpus("a.xml", Corpus.frCII), .dir("d/"), .text("d/b.txt", "hello")],
                                           format: .tarGz, in: dir)
            var seen: [(String, Int)] = []
            try ArchiveReader.read(path: archive, format: .tarGz, limits: FluxLimits()) { name, data in
                seen.append((name, data.count))
            }
            #expect(seen.map(\.0) == ["a.xml", "d/b.txt"])
            #expect(seen[1].1 == 5)
            #expect(throws: FluxError("stop", "x")) {
                try ArchiveReader.read(path: archive, format: .tarGz, limits: FluxLimits()) { _, _ in throw FluxError("stop", "x") }
            }
        }
    }

    @Test("unsafe member names", arguments: [
        ("", "empty name"),
        ("/etc/passwd", "absolute path"),
        ("\\windows\\x.xml", "absolute path"),
        ("..", "'..'"),
        ("../x.xml", "'..'"),
        ("a/../../x.xml", "'..'"),
        ("a/b/..", "'..'"),
        ("a\\..\\x.xml", "'..'"),
        ("C:x.xml", nil),           // no separator: a plain (odd) name
        ("C:/x.xml", "drive letter"),
        ("c:\\x.xml", "drive letter"),
        ("a\u{0}b.xml", "NUL"),
        (String(repeating: "a", count: 1025), "longer than 1024"),
    ] as [(String, String?)])
    func unsafe(name: String, why: String?) {
        let verdict = ArchiveReader.unsafeName(name)
        if let why {
            #expect(verdict?.contains(why) == true, "\(name.prefix(40)): \(verdict ?? "nil")")
        } else {
            #expect(verdict == nil, "\(name): \(verdict ?? "nil")")
        }
    }

    @Test("safe member names", arguments: [
        "a.xml", "dir/a.xml", "./a.xml", "a..b.xml", "..a.xml", "a/..b/c.xml", "Base_FA-2026-000123.xml",
        "é/facture.xml", String(repeating: "a", count: 1024),
    ])
    func safe(name: String) {
        #expect(ArchiveReader.unsafeName(name) == nil, "\(name.prefix(40))")
    }
}
