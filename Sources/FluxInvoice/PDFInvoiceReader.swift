import FluxCore
import Foundation

/// Finds the invoice XML inside a Factur-X / ZUGFeRD PDF, mapping failures to flux refusals.
enum PDFInvoiceReader {
    static func read(name: String, data: Data, limits: FluxLimits) -> Result<FacturXAttachment, Anomaly> {
        do {
            // Nothing downstream reads the XMP level (BT-24 in the XML is what counts), and the
            // metadata stream cost 6% of a Factur-X PDF's inspection: resolve, fetch, inflate, scan.
            return .success(try FacturXExtractor.extract(data: data, maxXMLBytes: limits.maxFileBytes, readXMP: false))
        } catch {
            let rule = error.code == "IRR_TYPE_F" ? "FLUX-PDF-NO-INVOICE" : error.code == "IRR_TAILLE_F" ? "FLUX-FILE-SIZE" : "FLUX-PDF-UNREADABLE"
            return .failure(Anomaly(rule: rule, reasonCode: error.code, message: "'\(name)': \(error.message)"))
        }
    }
}
