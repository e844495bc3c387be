// Fuzz target: understanding one XML document (Sources/FluxInvoice), as FluxInspector does for
// an XML deposit or an archive member: the hardened parse (XMLDoc: prolog scan for DOCTYPE,
// libxml2 with no network and no DTD, UTF-8 only), syntax detection from the root, the
// semantic model (UBL or CII), every native rule set, CDAR status extraction, then the key-term
// extractor and the plain-language renderer on the result. The input is also understood as F1
// regulatory data (the other branch of FluxInspector.understand).
import FluxCore
import Foundation
@testable import FluxInvoice

let inspector: FluxInspector = {
    var limits = FluxLimits()
    limits.maxFileBytes = 8 << 20
    limits.maxFluxBytes = 32 << 20
    return FluxInspector(limits: limits)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzXML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(fuzzInput(data, size))
    switch inspector.understandFile(name: "invoice.xml", data: bytes) {
    case .success(let item):
        fuzzCheck(item.content == bytes, "the item does not keep the deposited bytes")
        if let model = item.model {
            _ = InvoiceRenderer.render(model, anomalies: item.anomalies.map(\.message), status: item.accepted ? "accepted" : "rejected")
        }
        // The key-term extractor, still available to callers, on the same document.
        if let doc = try? XMLDoc.parse(bytes), let root = doc.root,
           case .success(let syntax) = InvoiceSyntax.detect(rootName: root.name, namespace: root.namespace) {
            _ = InvoiceExtractor.extract(doc, syntax: syntax)
            if syntax == .cdar { _ = LifecycleExtractor.extract(doc) }
        }
    case .failure(let anomaly):
        fuzzCheck(anomaly.reasonCode.hasPrefix("IRR_"), "refusal without a PPF reason: \(anomaly.reasonCode)")
    }
    // F1 regulatory data: only the identifier checks apply.
    if case .success(let f1) = inspector.understandFile(name: "Base_invoice.xml", data: bytes, regulatoryData: true) {
        fuzzCheck(f1.anomalies.allSatisfy { $0.rule.hasPrefix("FLUX-") }, "an F2 rule ran on F1 data")
    }
    return 0
}
