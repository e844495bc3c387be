import FluxCore
import FluxCrypto
import FluxInvoice
import FluxStore
import Foundation

/// Turns a recorded deposit's verdicts into signed CDAR documents for the partner's outbox.
public struct ReceiptComposer: Sendable {
    public var signer: CMSSigner
    public var gatewayName: String
    public var gatewaySIREN: String?

    public init(signer: CMSSigner, gatewayName: String, gatewaySIREN: String?) {
        self.signer = signer; self.gatewayName = gatewayName; self.gatewaySIREN = gatewaySIREN
    }

    public func compose(_ outcome: DepositOutcome, deposit: Deposit, now: Date) throws -> ReceiptFiles {
        let invoices = outcome.items.filter { $0.facts.syntax.isInvoice }.map { item in
            CDARInvoiceStatus(invoiceNumber: item.facts.number, issueDate: item.facts.issueDate.map(Self.withoutHyphens),
                              typeCode: item.facts.typeCode, sellerSIREN: item.facts.sellerSIREN, accepted: item.accepted,
                              reasons: item.anomalies.map { CDARReason(code: $0.reasonCode, text: "\($0.rule): \($0.message)") },
                              fileName: item.name)
        }
        let receipt = CDARReceipt(
            messageID: "R" + Self.withoutHyphens(outcome.messageID).prefix(24).uppercased(),
            issued: now, received: deposit.receivedAt, fluxName: deposit.fileName,
            sender: CDARParty(siren: gatewaySIREN, name: gatewayName, roleCode: "WK"),
            recipient: CDARParty(siren: deposit.partner.siren, name: deposit.partner.name, roleCode: "SE",
                                 electronicAddress: deposit.partner.siren ?? deposit.partner.id),
            fluxAccepted: outcome.fluxAccepted,
            fluxReasons: outcome.fluxAnomalies.map { CDARReason(code: $0.reasonCode, text: "\($0.rule): \($0.message)") },
            invoices: invoices)
        // The whole message id: ERPs reuse names ("facture.xml"), and the outbox keeps every
        // receipt until the partner deletes it. With a prefix, two receipts of one name could
        // collide, and the rename that writes the second would silently replace the first.
        let base = Self.baseName(deposit.fileName) + "." + outcome.messageID
        let docs = try CDARReceiptBuilder.build(receipt).map { doc in
            ReceiptDocument(fileName: "\(base)\(doc.suffix).cdar.xml", cdar: doc.xml, signature: try signer.signDetached(doc.xml))
        }
        return ReceiptFiles(messageID: outcome.messageID, company: deposit.partner.id, documents: docs)
    }

    /// Foundation's `replacingOccurrences` goes through NSString: 1% of the intake's CPU for this.
    static func withoutHyphens(_ s: String) -> String {
        String(decoding: s.utf8.filter { $0 != UInt8(ascii: "-") }, as: UTF8.self)
    }

    /// The deposited name, made safe as a file name in the outbox.
    static func baseName(_ name: String) -> String {
        let base = PathParts.lastComponent(of: name)
        let safe = String(base.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "_" }.prefix(100))
        return safe.isEmpty || safe.hasPrefix(".") ? "deposit" + safe : safe
    }
}
