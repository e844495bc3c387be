// Fuzz target: a deposit that is an archive (Sources/FluxInvoice/ArchiveReader.swift with
// libarchive, through FluxInspector.inspect as the daemon calls it). The input is written to a
// file in a scratch directory (ArchiveReader reads a path) and inspected under a plain name or,
// for odd-sized inputs, under a PPF envelope name (FFE0112A_..., F1 naming rules for members).
// ArchiveReader.read is also called directly in both formats, so that the limits and member
// name checks run even when the first member would stop the inspector.
import FluxCore
import Foundation
@testable import FluxInvoice

let archiveLimits: FluxLimits = {
    var limits = FluxLimits()
    limits.maxFileBytes = 4 << 20
    limits.maxFluxBytes = 16 << 20
    limits.maxEntries = 256
    return limits
}()
let archivePath = fuzzScratchDirectory("archive") + "/deposit"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArchive(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(fuzzInput(data, size))
    guard FileManager.default.createFile(atPath: archivePath, contents: bytes) else { fatalError("cannot write \(archivePath)") }
    let name = size % 2 == 1 ? "FFE0112A_AAA123_AAA1230112000000000000001.tar.gz" : "deposit.tar.gz"
    let report = FluxInspector(limits: archiveLimits).inspect(path: archivePath, fileName: name)
    fuzzCheck(report.fluxAccepted || report.items.isEmpty, "a refused flux carries items")
    fuzzCheck(report.fluxAnomalies.allSatisfy { $0.reasonCode.hasPrefix("IRR_") }, "a flux refusal without a PPF reason")
    for format in [ArchiveReader.Format.tarGz, .zip] {
        var members = 0
        var total = 0
        do {
            try ArchiveReader.read(path: archivePath, format: format, limits: archiveLimits) { member, content in
                members += 1
                total += content.count
                fuzzCheck(ArchiveReader.unsafeName(member) == nil, "unsafe member name '\(member)' handed out")
                fuzzCheck(Int64(content.count) <= archiveLimits.maxFileBytes, "member over the file limit handed out")
            }
            fuzzCheck(members > 0, "an archive without members was accepted")
        } catch let e as FluxError {
            fuzzCheck(e.code.hasPrefix("IRR_"), "archive error without a PPF reason: \(e.code)")
        } catch {
            fuzzCheck(false, "ArchiveReader threw \(type(of: error))")
        }
        fuzzCheck(members <= archiveLimits.maxEntries, "\(members) members over the limit")
        fuzzCheck(Int64(total) <= archiveLimits.maxFluxBytes, "\(total) bytes over the flux limit")
    }
    return 0
}
