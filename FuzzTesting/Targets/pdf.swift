// Fuzz target: the Factur-X PDF reader (Sources/FluxInvoice: FacturXExtractor over the libqpdf C
// API, with the attachment search through /AF and the /EmbeddedFiles name tree, and the bounded
// FlateDecode decoder BoundedInflater), then, when an invoice XML comes out, the same
// understanding as for an XML deposit (PDFInvoiceReader + FluxInspector.understandFile).
// Inputs that are not a PDF are given to BoundedInflater directly as a zlib stream, so the
// decoder is also fuzzed without having to get through a PDF's structure first.
import FluxCore
import Foundation
@testable import FluxInvoice

let pdfLimits: FluxLimits = {
    var limits = FluxLimits()
    limits.maxFileBytes = 4 << 20
    limits.maxFluxBytes = 16 << 20
    return limits
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPDF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    if !input.starts(with: Array("%PDF".utf8)) {
        do {
            let out = try BoundedInflater.inflateZlib(input, maxOutput: 1 << 20)
            fuzzCheck(out.count <= 1 << 20, "inflate produced \(out.count) bytes over its bound")
        } catch {}
        return 0
    }
    let bytes = Data(input)
    do {
        let attachment = try FacturXExtractor.extract(data: bytes, maxXMLBytes: pdfLimits.maxFileBytes)
        fuzzCheck(Int64(attachment.xml.count) <= pdfLimits.maxFileBytes, "attachment over the limit")
        fuzzCheck(FacturXExtractor.invoiceNames.contains(attachment.fileName.lowercased()) || attachment.fileName == FacturXExtractor.zugferd1Name,
                  "attachment '\(attachment.fileName)' is not an invoice name")
    } catch {
        fuzzCheck(error.code.hasPrefix("IRR_"), "PDF error without a PPF reason: \(error.code)")
    }
    switch FluxInspector(limits: pdfLimits).understandFile(name: "invoice.pdf", data: bytes) {
    case .success(let item): fuzzCheck(item.facts.container != nil, "a PDF item without its container")
    case .failure(let a): fuzzCheck(a.reasonCode.hasPrefix("IRR_"), "refusal without a PPF reason: \(a.reasonCode)")
    }
    return 0
}
