import FluxCore
import Foundation

/// Finds the invoice XML inside a Factur-X / ZUGFeRD PDF, mapping failures to flux refusals.
enum PDFInvoiceReader {
    static func read(name: String, data: Data, limits: FluxLimits) -> Result<FacturXAttachment, Anomaly> {
        // Nothing downstream reads the XMP level (BT-24 in the XML is what counts), and the
        // metadata stream cost 6% of a Factur-X PDF's inspection: resolve, fetch, inflate, scan.
        read(name: name) { () throws(FluxError) in try FacturXExtractor.extract(data: data, maxXMLBytes: limits.maxFileBytes, readXMP: false) }
    }

    /// The same for a PDF file that qpdf reads from `path` as it needs it. qpdf's texts call it
    /// "PDF", as they call a PDF read from memory, whatever the (spool) path.
    static func read(name: String, path: String, limits: FluxLimits) -> Result<FacturXAttachment, Anomaly> {
        read(name: name) { () throws(FluxError) in
            try FacturXExtractor.extract(path: path, maxXMLBytes: limits.maxFileBytes, readXMP: false, label: "PDF")
        }
    }

    private static func read(name: String, extract: () throws(FluxError) -> FacturXAttachment) -> Result<FacturXAttachment, Anomaly> {
        do {
            return .success(try extract())
        } catch {
            let rule = error.code == "IRR_TYPE_F" ? "FLUX-PDF-NO-INVOICE" : error.code == "IRR_TAILLE_F" ? "FLUX-FILE-SIZE" : "FLUX-PDF-UNREADABLE"
            return .failure(Anomaly(rule: rule, reasonCode: error.code, message: "'\(name)': \(error.message)"))
        }
    }
}
