import FluxStore
import Logging

/// Structured log events for what the journal records, so `journalctl -u flux-gateway -f`
/// shows the same story with fields an operator can filter on (FLUX_COMPANY, FLUX_STATUS...).
struct EventLog: Sendable {
    let logger: Logger

    func journal(_ e: JournalEntry) {
        var md: Logger.Metadata = [
            "flux_company": "\(e.company)", "flux_seq": "\(e.seq)", "flux_direction": "\(e.direction)",
            "flux_channel": "\(e.channel)", "flux_kind": "\(e.kind)", "flux_message_id": "\(e.messageID)",
            "flux_file": "\(e.fileName)", "flux_sha256": "\(e.sha256)", "flux_status": "\(e.status)",
        ]
        if let n = e.invoiceNumber { md["flux_invoice_number"] = "\(n)" }
        if let a = e.amountWithVAT { md["flux_amount_with_vat"] = "\(a)\(e.currency.map { " " + $0 } ?? "")" }
        if !e.anomalies.isEmpty { md["flux_anomalies"] = "\(e.anomalies.joined(separator: "; "))" }
        if let d = e.detail { md["flux_detail"] = "\(d)" }
        let level: Logger.Level = e.status == "accepted" || e.status == "sent" ? .info : .notice
        logger.log(level: level, "journal \(e.direction) \(e.kind) \(e.status)", metadata: md)
    }

    func batchSealed(_ id: String) {
        logger.info("batch sealed and ready", metadata: ["flux_batch": "\(id)"])
    }
}
