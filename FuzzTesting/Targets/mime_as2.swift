// Fuzz target: the AS2 receive path up to (not including) the cryptography.
//
// Every input goes through two readers:
//  1. HTTPRequestParser (Sources/FluxAS2), fed the input cut into chunks at points derived from
//     the input itself, with keep-alive (pipelined requests are read up to 8), then AS2Request
//     and the MIME entity the listener builds from the HTTP head and body;
//  2. MIMEEntity.parse on the raw input (an AS2 message as captured, an MDN, a multipart part).
// Each entity is then taken apart as the receiver would: Content-Type / Content-Disposition
// parameters, file name, multipart split (nested up to 4 levels), transfer decodings, the MDN
// parser, Disposition-Notification-Options.
import Foundation
@testable import FluxAS2
@testable import FluxMIME

let httpLimits = HTTPLimits(maxHeaderBytes: 16 * 1024, maxHeaderCount: 100, maxBodyBytes: 1 << 20)
let mimeLimits = MIMELimits(maxHeaderBytes: 16 * 1024, maxHeaderCount: 100, maxParts: 32)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIMEAS2(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    var rng = FuzzRNG(seed: fuzzHash(bytes))
    fuzzHTTP(bytes, rng: &rng)
    if let entity = try? MIMEEntity.parse(Data(bytes), limits: mimeLimits) {
        exerciseEntity(entity, depth: 0)
        if let ct = entity.headers["Content-Type"], let mdn = try? MDNParser.parse(contentType: ct, body: entity.body, limits: mimeLimits) {
            exerciseMDN(mdn.fields)
        }
        if let dno = entity.headers["Disposition-Notification-Options"] {
            exerciseOptions(dno)
        }
    }
    return 0
}

/// The listener's loop: feed, react to events, start the next request after `.end`.
func fuzzHTTP(_ bytes: [UInt8], rng: inout FuzzRNG) {
    var parser = HTTPRequestParser(limits: httpLimits)
    var head: HTTPRequestHead?
    var body: [UInt8] = []
    var requests = 0

    func handle(_ events: [HTTPRequestParser.Event]) -> Bool {
        for event in events {
            switch event {
            case .head(let box):
                fuzzCheck(head == nil, "a second head before .end")
                head = box.head
                body = []
                checkHead(box.head)
            case .body(let chunk):
                fuzzCheck(head != nil, "body bytes before a head")
                fuzzCheck(!chunk.isEmpty, "an empty body event")
                body += chunk
                fuzzCheck(Int64(body.count) <= httpLimits.maxBodyBytes, "body over the limit was delivered")
            case .end:
                guard let h = head else { fuzzCheck(false, ".end without a head"); return false }
                if let n = h.contentLength, !h.chunked {
                    fuzzCheck(Int64(body.count) == n, "Content-Length \(n) but \(body.count) body bytes")
                }
                requestComplete(h, body)
                head = nil
                requests += 1
            }
        }
        return true
    }

    for chunk in fuzzChunks(bytes, rng: &rng) {
        do {
            guard handle(try parser.feed(Array(chunk))) else { return }
            while parser.isComplete, requests < 8 {
                guard handle(try parser.nextRequest()) else { return }
            }
            if requests >= 8 { return }
        } catch let e as HTTPParseError {
            fuzzCheck((400...599).contains(e.status), "HTTP error status \(e.status)")
            // A failed parser stays failed.
            fuzzCheck((try? parser.feed([0x0A])) == nil, "the parser accepted bytes after an error")
            return
        } catch {
            fuzzCheck(false, "unexpected error type \(type(of: error)): \(error)")
        }
    }
}

func checkHead(_ h: HTTPRequestHead) {
    fuzzCheck(h.raw.count <= httpLimits.maxHeaderBytes, "head of \(h.raw.count) bytes over the limit")
    fuzzCheck(h.headers.count <= httpLimits.maxHeaderCount, "\(h.headers.count) header fields over the limit")
    fuzzCheck(!(h.chunked && h.contentLength != nil), "both chunked and a Content-Length")
    _ = h.path
    _ = HTTPRequestParser.headEnd(h.raw)
}

/// What the AS2 listener does with a complete request before any cryptography.
func requestComplete(_ h: HTTPRequestHead, _ body: [UInt8]) {
    guard let request = try? AS2Request(head: h) else {
        // Not attributable: the listener answers with an HTTP status; the MIME layer still gets
        // the entity when there is a Content-Type (tests do the same).
        if let ct = h.header("Content-Type") {
            exerciseEntity(MIMEEntity.fromHTTP(headers: [(name: "Content-Type", value: ct)], body: Data(body)), depth: 0)
        }
        return
    }
    _ = request.wantsMDN
    _ = request.wantsAsyncMDN
    if let options = request.options {
        _ = options.wantsSignedReceipt
        _ = options.firstSupportedMICAlgorithm(["sha256", "sha384", "sha512", "sha1"])
    }
    if let dno = h.header("Disposition-Notification-Options") { exerciseOptions(dno) }
    let entity = MIMEEntity.fromHTTP(headers: request.mimeHeaders, body: Data(body))
    fuzzCheck(entity.body == Data(body), "fromHTTP changed the body")
    fuzzCheck(entity.headerBytes.split(separator: 0x0A).count == entity.headers.count,
              "fromHTTP produced a header block whose lines are not its fields")
    exerciseEntity(entity, depth: 0)
    if let ct = h.header("Content-Type"), let mdn = try? MDNParser.parse(contentType: ct, body: Data(body), limits: mimeLimits) {
        exerciseMDN(mdn.fields)
    }
    // The MDN we would answer with carries the partner's Message-ID: it must stay one field.
    var answer = MDNFields(reportingUA: "flux-gateway", originalRecipient: "rfc822; \(request.as2To)",
                           finalRecipient: "rfc822; \(request.as2To)", originalMessageID: request.messageID,
                           disposition: "processed", mic: nil, humanText: "The AS2 message \(request.messageID) sent by \(request.as2From) to \(request.as2To) was received\r\n")
    answer.extraFields = []
    exerciseMDN(answer)
}

/// Accessors, then the builder's promise: values that came from a peer are flattened to one line,
/// so building a report from them and reading it back gives the same fields and no others.
func exerciseMDN(_ parsed: MDNFields) {
    _ = parsed.dispositionType
    _ = parsed.dispositionModifier
    _ = parsed.isProcessedWithoutError
    _ = parsed.mic?.fieldValue
    var fields = parsed
    fields.extraFields = []  // ours in production (the gateway never echoes a peer's extra fields)
    if fields.dispositionMode.contains(";") { fields.dispositionMode = "automatic-action/MDN-sent-automatically" }
    let report = MDNBuilder.report(fields, boundary: MDNBuilder.makeBoundary())
    let again: MDNFields
    do {
        again = try MDNParser.parseReport(report)
    } catch {
        fuzzCheck(false, "a report we built does not parse: \(error)")
        return
    }
    fuzzCheck(again.originalMessageID == MDNBuilder.oneLine(fields.originalMessageID), "Original-Message-ID changed: \(again.originalMessageID)")
    fuzzCheck(again.finalRecipient == MDNBuilder.oneLine(fields.finalRecipient), "Final-Recipient changed: \(again.finalRecipient)")
    fuzzCheck(again.disposition == MDNBuilder.oneLine(fields.disposition), "Disposition changed: \(again.disposition)")
    fuzzCheck(again.extraFields.isEmpty, "fields were injected: \(again.extraFields.map(\.name))")
}

func exerciseOptions(_ value: String) {
    let o = DispositionNotificationOptions(value)
    _ = o.wantsSignedReceipt
    _ = o.firstSupportedMICAlgorithm(["sha256", "sha1", "md5"])
    for v in o.signedReceiptMICAlg?.values ?? [] { _ = DispositionNotificationOptions.canonicalMICAlgorithm(v) }
}

/// Everything a receiver might do with an untrusted entity; recursion into multiparts.
func exerciseEntity(_ e: MIMEEntity, depth: Int) {
    // The documented shape of an entity: raw = header block, blank line, body, all copies.
    fuzzCheck(e.raw.count >= e.headerBytes.count + e.body.count, "raw shorter than header block + body")
    fuzzCheck(e.raw.prefix(e.headerBytes.count) == e.headerBytes, "headerBytes is not a prefix of raw")
    fuzzCheck(e.raw.suffix(e.body.count) == e.body, "body is not a suffix of raw")
    _ = e.fileName
    _ = e.contentDisposition
    _ = e.contentType?.mediaType
    _ = e.micBytes
    _ = MIMECanonical.hasBareLF(e.raw)
    let canonical = MIMECanonical.crlf(e.raw)
    fuzzCheck(!MIMECanonical.hasBareLF(canonical), "crlf() left a bare LF")
    if let decoded = try? e.decodedBody(), e.transferEncoding == "base64" {
        let again = try? MIMETransferCoding.decodeBase64(MIMETransferCoding.encodeBase64(decoded))
        fuzzCheck(again == decoded, "base64 round trip changed the data")
    }
    if e.contentType?.mediaType == "multipart/report" || e.contentType?.mediaType == "message/disposition-notification" {
        _ = try? MDNParser.parseReport(e, limits: mimeLimits)
    }
    guard depth < 4, e.contentType?.isMultipart == true, let parts = try? e.parts(limits: mimeLimits) else { return }
    fuzzCheck(parts.count <= mimeLimits.maxParts, "\(parts.count) parts over the limit")
    for p in parts {
        fuzzCheck(p.raw.count <= e.body.count, "a part larger than its parent's body")
        exerciseEntity(p, depth: depth + 1)
    }
}
