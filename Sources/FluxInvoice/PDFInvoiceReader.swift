import Foundation

/// Finds the invoice XML inside a Factur-X / ZUGFeRD PDF, mapping failures to flux refusals.
enum PDFInvoiceReader {
    static func read(name: String, data: Data, limits: FluxLimits) -> Result<(fileName: String, xml: Data), Anomaly> {
        .failure(Anomaly(rule: "FLUX-TYPE", reasonCode: "IRR_TYPE_F", message: "'\(name)' is a PDF; Factur-X PDFs are not accepted by this gateway version"))
    }
}
