import FluxAS2
import FluxCore
import FluxCrypto
import FluxInvoice
import FluxStore
import Foundation
import Logging

/// An HTTP answer, written in one piece.
public struct AS2Response: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Data

    static func text(_ status: Int, _ message: String) -> AS2Response {
        AS2Response(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Data((message + "\n").utf8))
    }

    /// 503 + Retry-After: nothing was taken, the sender's retry will be (RFC 9110 §15.6.4).
    static func unavailable(_ message: String, retryAfter: Int = 60) -> AS2Response {
        var r = text(503, message)
        r.headers.append(("Retry-After", "\(retryAfter)"))
        return r
    }
}

/// The received request: a small body in memory (`writer` nil: the worker writes head and body
/// to the spool), or a large one already streaming into the spool (`memory` nil).
public struct AS2Body: Sendable {
    public var head: [UInt8]
    public var writer: SpoolWriter?
    public var memory: Data?

    /// Puts the raw request (head + body, as received) in the spool; durable once the returned
    /// entry's `makeDurable()` has returned.
    func finish(_ spool: Spool) throws -> PendingSpoolEntry {
        if let w = writer { return try w.finishDeferred() }
        let w = try SpoolWriter(spool: spool)
        try head.withUnsafeBytes { try w.write($0) }
        if let m = memory { try w.write(m) }
        return try w.finishDeferred()
    }
}

/// One AS2 request from head to answer, synchronous and blocking (run on the worker pool):
/// attribute → dedupe → spool the raw request → unwrap → intake → MDN → ONE transaction →
/// answer. The MDN is built and signed before the transaction (no RSA under the write lock)
/// and goes out only after the commit. The spooled request and payload are fsynced just before
/// the transaction that refers to them, their writeback started when they were written: the
/// disk writes them while the worker decrypts, verifies and signs.
public final class AS2Processor: Sendable {
    let spool: Spool
    let store: SQLiteStore
    let intake: IntakeProcessor
    let context: @Sendable () -> AS2Context?
    let config: @Sendable () -> GatewayConfig
    let logger: Logger
    let events: EventLog
    /// Called after an async MDN was queued, to wake the sender.
    let asyncQueued: @Sendable () -> Void

    public init(spool: Spool, store: SQLiteStore, intake: IntakeProcessor, context: @escaping @Sendable () -> AS2Context?,
                config: @escaping @Sendable () -> GatewayConfig, logger: Logger, asyncQueued: @escaping @Sendable () -> Void) {
        self.spool = spool; self.store = store; self.intake = intake; self.context = context; self.config = config
        self.logger = logger; self.events = EventLog(logger: logger); self.asyncQueued = asyncQueued
    }

    /// Checks made as soon as the head is in, before the body is read (and before `100
    /// Continue`): the right path and method, an AS2 request for us from a known partner.
    /// Returns the refusal, or nil to go on.
    public func precheck(_ head: HTTPRequestHead, tlsFingerprint: String?) -> AS2Response? {
        switch attribute(head, tlsFingerprint: tlsFingerprint) {
        case .failure(let refusal): return refusal
        case .success(let a):
            // The body, its decrypted payload and the records must all fit, with room to spare.
            let free = DiskSpace.freeBytes(spool.root) ?? 0
            if free < a.ctx.settings.minFreeDisk {
                logger.error("AS2 message refused: the disk is almost full", metadata: [
                    "as2_from": "\(a.request.as2From)", "free_bytes": "\(free)", "min_free_disk": "\(a.ctx.settings.minFreeDisk)"])
                return .unavailable("insufficient storage: the gateway's disk is almost full; send the message again later")
            }
            return nil
        }
    }

    /// A request attributed to a partner, with the configuration it was checked against.
    struct Attribution {
        var ctx: AS2Context
        var request: AS2Request
        var partner: AS2PartnerProfile
    }

    /// Attributed, or the answer that refuses the request.
    enum AttributionResult {
        case success(Attribution)
        case failure(AS2Response)
    }

    /// The checks of `precheck`, keeping what they found.
    func attribute(_ head: HTTPRequestHead, tlsFingerprint: String?) -> AttributionResult {
        guard let ctx = context() else { return .failure(AS2Response.text(503, "AS2 is not configured")) }
        guard head.path == ctx.settings.path else { return .failure(AS2Response.text(404, "no AS2 endpoint at \(head.path); use \(ctx.settings.path)")) }
        guard head.method == "POST" else {
            var r = AS2Response.text(405, "AS2 messages are POSTed")
            r.headers.append(("Allow", "POST"))
            return .failure(r)
        }
        let request: AS2Request
        do { request = try AS2Request(head: head) } catch let e as HTTPParseError { return .failure(AS2Response.text(e.status, e.reason)) } catch {
            return .failure(AS2Response.text(400, "\(error)"))
        }
        guard ctx.identity.as2IDs.contains(request.as2To) else {
            return .failure(AS2Response.text(404, "AS2-To '\(request.as2To)' is not this gateway (\(ctx.identity.as2IDs.joined(separator: ", ")))"))
        }
        guard let partner = ctx.partners[request.as2From] else {
            return .failure(AS2Response.text(403, "unknown AS2-From '\(request.as2From)': no partner has this AS2 id"))
        }
        if !partner.tlsClientFingerprints.isEmpty {
            guard let fp = tlsFingerprint else {
                return .failure(AS2Response.text(403, "partner \(partner.partnerID) must present its TLS client certificate"))
            }
            guard partner.tlsClientFingerprints.contains(fp) else {
                return .failure(AS2Response.text(403, "the TLS client certificate (SHA-256 \(fp)) is not one of partner \(partner.partnerID)'s"))
            }
        }
        return .success(Attribution(ctx: ctx, request: request, partner: partner))
    }

    /// Processes a complete request. Never throws: every failure becomes an answer.
    public func handle(_ head: HTTPRequestHead, body: AS2Body, tlsFingerprint: String?) -> AS2Response {
        intake.foreground.touch()
        // Checked again against the configuration in force now (a SIGHUP may have come while
        // the body was read); one pass gives the request, the partner and the context.
        let attribution: Attribution
        switch attribute(head, tlsFingerprint: tlsFingerprint) {
        case .success(let a): attribution = a
        case .failure(let refusal):
            body.writer?.abort()
            return refusal
        }
        let (ctx, request, partner) = (attribution.ctx, attribution.request, attribution.partner)
        guard let partnerConfig = config().partner(partner.partnerID) else {
            body.writer?.abort()
            return .text(503, "the configuration changed while the request was read; send it again")
        }
        let receivedAt = Date()
        let id = RandomID.uuid()
        do {
            // The raw request (head + body) is in the spool before anything is decided about
            // it, and durable before anything that refers to it is committed.
            let raw = try body.finish(spool)
            return try process(request, raw: raw, memory: body.memory, id: id, receivedAt: receivedAt, ctx: ctx,
                               partner: partner, identity: partnerConfig.identity)
        } catch {
            // Attributed but not recorded (disk full, read-only or failing storage): nothing was
            // taken, so no MDN can honestly be given; 503 + Retry-After asks for the resend.
            logger.error("AS2 request could not be recorded", metadata: ["as2_from": "\(request.as2From)", "message_id": "\(request.messageID)",
                                                                         "error": "\(error)"])
            return .unavailable("the message could not be stored (temporary: \(error)); send it again later")
        }
    }

    func process(_ request: AS2Request, raw pendingRaw: PendingSpoolEntry, memory: Data?, id: String, receivedAt: Date, ctx: AS2Context,
                 partner: AS2PartnerProfile, identity partnerIdentity: PartnerIdentity) throws -> AS2Response {
        let raw = pendingRaw.entry
        // A resend of a message already acknowledged: the same MDN again, nothing enqueued.
        if let prev = try store.previousAS2(from: request.as2From, messageID: request.messageID) {
            try pendingRaw.makeDurable()
            return try answerDuplicate(request, prev: prev, raw: raw, id: id, receivedAt: receivedAt, ctx: ctx, partner: partner,
                                       identity: partnerIdentity)
        }
        let body = try memory ?? readBody(raw)
        var disposition = AS2Disposition.processed
        var detail: String?
        var security = ""
        var micContent: Data?
        var unwrapped: AS2Unwrapped?
        switch AS2Unwrapper.unwrap(request: request, body: body, partner: partner, identity: ctx.identity,
                                   limits: AS2UnwrapLimits(maxDecompressedBytes: Int(min(ctx.settings.maxBodyBytes * 8, Int64(Int32.max))))) {
        case .success(let u):
            unwrapped = u
            security = u.securitySummary
            micContent = u.micContent
        case .failure(let f):
            disposition = f.disposition
            detail = f.detail
            security = f.partial
        }
        CrashPoint.hit("as2.unwrapped")
        let plan = AS2MDNFactory.plan(for: request, signature: unwrapped?.signature)
        if let f = plan.failure {
            disposition = f
            detail = "the MDN options cannot be met: \(request.options.map { "\($0)" } ?? "")"
            unwrapped = nil
        }
        var mode: MDNMode = request.wantsMDN ? (request.wantsAsyncMDN ? .async : .sync) : .none
        var asyncURL = request.receiptDeliveryOption
        if mode == .async, let url = asyncURL, !asyncAllowed(url, partner: partner, settings: ctx.settings) {
            // SSRF guard: the URL is the sender's choice. Answer here instead, and process nothing.
            disposition = .failure("unsupported Receipt-Delivery-Option")
            detail = "async MDN URL '\(url)' is not in partner \(partner.partnerID)'s async_mdn_urls; the receipt is returned synchronously"
            unwrapped = nil
            mode = .sync
            asyncURL = nil
        }

        // Understand the payload (spooled first: the decrypted bytes are an original too).
        var deposit: Deposit?
        var pendingPayload: PendingSpoolEntry?
        let fileName = payloadName(request, unwrapped)
        if disposition.isPositive, let u = unwrapped {
            let payload = try spool.storeDeferred(data: u.payload)
            pendingPayload = payload
            deposit = try intake.makeDeposit(entry: payload.entry, fileName: fileName, partner: partnerIdentity, messageID: id, channel: "as2",
                                             receivedAt: receivedAt)
        }
        var mdn: AS2MDN?
        if mode != .none {
            mdn = try AS2MDNFactory.build(request: request, disposition: disposition, micContent: micContent, signature: unwrapped?.signature,
                                          plan: plan, identity: ctx.identity, detail: detail)
        }
        // The MDN already carries the MIC; compute it only when no MDN was asked for.
        let micText = mdn?.mic ?? micContent.map {
            "\(plan.digest(of: $0, signedAs: unwrapped?.signature).base64EncodedString()), \(plan.micSpelling)"
        }
        let anomalies = disposition.isPositive ? [] : ["\(anomalyCode(disposition)): \(detail ?? disposition.description)"]
        let exchange = AS2Exchange(
            id: id, partner: partnerIdentity, as2From: request.as2From, as2To: request.as2To, as2MessageID: request.messageID,
            receivedAt: receivedAt, raw: raw, fileName: fileName, disposition: disposition.description, positive: disposition.isPositive,
            security: security.isEmpty ? "not read" : security, mic: micText, anomalies: anomalies,
            mdn: mdn.map { StoredMDN(messageID: $0.messageID, headers: $0.headers.map { HeaderField($0.name, $0.value) }, body: $0.body) },
            mdnMode: mode, asyncURL: asyncURL)
        // Both originals durable before the records that name them.
        try pendingRaw.makeDurable()
        try pendingPayload?.makeDurable()
        let result = try store.recordAS2(exchange, deposit: deposit)
        CrashPoint.hit("as2.recorded")
        switch result {
        case .duplicate(let prev, let entries):
            // Lost a race with an identical resend that committed first.
            for e in entries { events.journal(e) }
            return respond(prev.mdn, mode: prev.mdnMode, positive: true, text: "duplicate of message \(prev.id)")
        case .recorded(let outcome, let entries):
            for e in entries { events.journal(e) }
            if let o = outcome { Metrics.deposit(o); for b in o.sealedBatches { events.batchSealed(b) } }
            Metrics.as2(disposition: disposition)
            if mode == .async { asyncQueued() }
            return respond(exchange.mdn, mode: mode, positive: disposition.isPositive,
                           text: "\(disposition.description)\(detail.map { ": \($0)" } ?? "")")
        }
    }

    func answerDuplicate(_ request: AS2Request, prev: AS2Previous, raw: SpoolEntry, id: String, receivedAt: Date, ctx: AS2Context,
                         partner: AS2PartnerProfile, identity: PartnerIdentity) throws -> AS2Response {
        let exchange = AS2Exchange(
            id: id, partner: identity, as2From: request.as2From, as2To: request.as2To, as2MessageID: request.messageID,
            receivedAt: receivedAt, raw: raw, fileName: request.messageID, disposition: "processed", positive: true,
            security: "resend", mic: nil, anomalies: [], mdn: nil, mdnMode: prev.mdnMode, asyncURL: prev.asyncURL)
        let result = try store.recordAS2(exchange, deposit: nil)
        guard case .duplicate(let p, let entries) = result else {
            return .text(500, "inconsistent duplicate detection; send the message again")
        }
        for e in entries { events.journal(e) }
        Metrics.as2(disposition: .warning("duplicate-document"))
        if p.mdnMode == .async, let url = request.receiptDeliveryOption, asyncAllowed(url, partner: partner, settings: ctx.settings) {
            try store.requeueAsyncMDN(as2ID: p.id, url: url)
            asyncQueued()
        }
        return respond(p.mdn, mode: p.mdnMode == .async && request.wantsAsyncMDN ? .async : p.mdnMode, positive: true,
                       text: "duplicate of message \(p.id), already processed")
    }

    func respond(_ mdn: StoredMDN?, mode: MDNMode, positive: Bool, text: String) -> AS2Response {
        switch mode {
        case .sync:
            guard let m = mdn else { return .text(200, text) }
            return AS2Response(status: 200, headers: m.headers.map { ($0.name, $0.value) }, body: m.body)
        case .async:
            return .text(200, "received; the MDN will be sent asynchronously")
        case .none:
            // No MDN requested: a failure must still be told (never a silent drop).
            return positive ? .text(200, text) : .text(400, text)
        }
    }

    func asyncAllowed(_ url: String, partner: AS2PartnerProfile, settings: AS2Settings) -> Bool {
        guard partner.allowsAsyncURL(url) else { return false }
        if !settings.allowInsecureMDNURLs && !url.lowercased().hasPrefix("https://") { return false }
        return true
    }

    func anomalyCode(_ d: AS2Disposition) -> String {
        switch d {
        case .error(let m): return m.anomalyCode
        case .failure: return "AS2-FAILED"
        default: return "AS2"
        }
    }

    /// The payload's name: the sender's (basename, safe characters) or one made from the
    /// Message-ID and the content type.
    func payloadName(_ request: AS2Request, _ u: AS2Unwrapped?) -> String {
        if let n = u?.payloadFileName {
            let base = PathParts.lastComponent(of: n)
            let safe = String(base.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) ? Character($0) : "_" })
            if !safe.isEmpty && safe != "." && safe != ".." && safe.count <= 200 { return safe }
        }
        let id = request.messageID.trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
        let stem = String(id.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || "._-@".unicodeScalars.contains($0) ? Character($0) : "_" }.prefix(120))
        let ext: String
        switch u?.payloadContentType ?? "" {
        case "application/pdf": ext = ".pdf"
        case "application/zip", "application/x-zip-compressed": ext = ".zip"
        case "application/gzip", "application/x-gzip", "application/x-tar", "application/x-gtar": ext = ".tar.gz"
        case "application/xml", "text/xml": ext = ".xml"
        default: ext = ".bin"
        }
        return "as2-\(stem)\(ext)"
    }

    /// Reads a spooled request back and strips its head (bodies too large to keep in memory).
    func readBody(_ raw: SpoolEntry) throws -> Data {
        let data = try Data(contentsOf: URL(fileURLWithPath: spool.path(for: raw.sha256)), options: .alwaysMapped)
        guard let end = HTTPRequestParser.headEnd(Array(data.prefix(1 << 20))) else {
            throw FluxError("as2-spool", "the spooled request has no head")
        }
        return data.subdata(in: end..<data.count)
    }
}
