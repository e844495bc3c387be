import FluxCrypto
import FluxMIME
import Foundation

/// Where compression sat relative to the signature (RFC 5402 allows both; the MIC differs).
public enum AS2Compression: String, Sendable {
    case none
    case beforeSigning = "compressed before signing"
    case afterSigning = "compressed after signing"
    case unsigned = "compressed"
}

/// How a message was encrypted.
public struct AS2Encryption: Sendable, Equatable {
    public var kind: String
    public var cipher: String
    public var keyTransport: String
}

/// An unwrapped message: the payload and how it was protected.
public struct AS2Unwrapped: Sendable {
    public var payload: Data
    public var payloadContentType: String?
    public var payloadFileName: String?
    public var signature: SignatureInfo?
    public var encryption: AS2Encryption?
    public var compression: AS2Compression
    /// The bytes the Received-Content-MIC is computed over (RFC 4130 §7.3.1, RFC 5402 §4.1).
    public var micContent: Data

    /// One line for the journal: `signed sha-256 (rsassa-pss); encrypted aes-256-gcm (authEnveloped, rsaes-oaep); compressed before signing`.
    public var securitySummary: String {
        var parts: [String] = []
        if let s = signature { parts.append("signed \(s.digest.micalgName) (\(s.signatureAlgorithm), \(s.signer.subject))") } else { parts.append("unsigned") }
        if let e = encryption { parts.append("encrypted \(e.cipher) (\(e.kind), \(e.keyTransport))") } else { parts.append("unencrypted") }
        if compression != .none { parts.append(compression.rawValue) }
        return parts.joined(separator: "; ")
    }
}

/// Why unwrapping stopped: the disposition to answer with and the detail for the journal.
public struct AS2Failure: Error, Sendable {
    public var disposition: AS2Disposition
    public var detail: String
    /// What was learnt before the failure (for the journal's security summary).
    public var partial: String
    public init(_ disposition: AS2Disposition, _ detail: String, partial: String = "") {
        self.disposition = disposition; self.detail = detail; self.partial = partial
    }
}

/// Limits for one message's unwrapping.
public struct AS2UnwrapLimits: Sendable {
    /// Largest decompressed content (zip-bomb guard).
    public var maxDecompressedBytes: Int
    public var mime: MIMELimits
    /// Layers (encryption, signature, compression) one message may nest.
    public var maxLayers: Int
    public init(maxDecompressedBytes: Int = 512 << 20, mime: MIMELimits = .default, maxLayers: Int = 6) {
        self.maxDecompressedBytes = maxDecompressedBytes; self.mime = mime; self.maxLayers = maxLayers
    }
}

/// Decrypts, verifies and decompresses an AS2 message in whatever order the sender layered
/// it, computes what the MIC covers, and applies the partner's security policy. Pure: bytes in,
/// verdict out, so every case is tested without sockets.
public enum AS2Unwrapper {
    public static func unwrap(request: AS2Request, body: Data, partner: AS2PartnerProfile, identity: AS2LocalIdentity,
                              limits: AS2UnwrapLimits = AS2UnwrapLimits()) -> Result<AS2Unwrapped, AS2Failure> {
        var entity = MIMEEntity.fromHTTP(headers: request.mimeHeaders, body: body)
        var signature: SignatureInfo?
        var encryption: AS2Encryption?
        var compression = AS2Compression.none
        var micContent: Data?
        var sawCompression = false

        func summary() -> String {
            var s = signature.map { "signed \($0.digest.micalgName)" } ?? "unsigned"
            if let e = encryption { s += "; encrypted \(e.cipher) (\(e.keyTransport))" }
            if sawCompression { s += "; compressed" }
            return s
        }
        func fail(_ d: AS2Disposition, _ detail: String) -> Result<AS2Unwrapped, AS2Failure> {
            .failure(AS2Failure(d, detail, partial: summary()))
        }

        for _ in 0..<limits.maxLayers {
            guard let ct = entity.contentType else {
                return fail(.error(.unexpectedProcessingError), "the MIME entity has no readable Content-Type")
            }
            let media = ct.mediaType
            if media == "application/pkcs7-mime" || media == "application/x-pkcs7-mime" {
                let der: Data
                do { der = try entity.decodedBody() } catch {
                    return fail(.error(.unexpectedProcessingError), "cannot decode the application/pkcs7-mime body: \(error)")
                }
                let smimeType = (ct[parameter: "smime-type"] ?? "").lowercased()
                if smimeType == "compressed-data" {
                    let inner: Data
                    do { inner = try CMSCompression.decompress(der: der, maxOutput: limits.maxDecompressedBytes) } catch {
                        return fail(.error(.decompressionFailed), "\(error)")
                    }
                    sawCompression = true
                    // Inside a verified signature: the sender compressed, then signed.
                    compression = signature != nil ? .beforeSigning : .unsigned
                    do { entity = try MIMEEntity.parse(inner, limits: limits.mime) } catch {
                        return fail(.error(.decompressionFailed), "the decompressed content is not a MIME entity: \(error)")
                    }
                    // RFC 5402: unsigned compressed content is hashed uncompressed, with its headers.
                    if signature == nil { micContent = entity.raw }
                    continue
                }
                // enveloped-data, authEnveloped-data, or a sender that left smime-type out.
                guard encryption == nil else {
                    return fail(.error(.unexpectedProcessingError), "the message is encrypted twice")
                }
                let decrypted: DecryptedContent
                do { decrypted = try CMSDecryptor.decrypt(der: der, keys: identity.decryptionKeys) } catch let e as CryptoError {
                    if e.code == "cms-decrypt-format" && smimeType.isEmpty {
                        return fail(.error(.unexpectedProcessingError), "application/pkcs7-mime without smime-type is neither enveloped nor compressed data")
                    }
                    return fail(.error(.decryptionFailed), e.message)
                } catch {
                    return fail(.error(.decryptionFailed), "\(error)")
                }
                encryption = AS2Encryption(kind: decrypted.kind.rawValue, cipher: decrypted.cipher, keyTransport: decrypted.keyTransport)
                do { entity = try MIMEEntity.parse(decrypted.content, limits: limits.mime) } catch {
                    return fail(.error(.decryptionFailed), "the decrypted content is not a MIME entity: \(error)")
                }
                if signature == nil { micContent = entity.raw }
                continue
            }
            if media == "multipart/signed" {
                guard signature == nil else { return fail(.error(.unexpectedProcessingError), "the message is signed twice") }
                let parts: [MIMEEntity]
                do { parts = try entity.parts(limits: limits.mime) } catch {
                    return fail(.error(.integrityCheckFailed), "the multipart/signed body cannot be split: \(error)")
                }
                guard parts.count == 2 else {
                    return fail(.error(.integrityCheckFailed), "multipart/signed has \(parts.count) parts instead of 2")
                }
                let sigMedia = parts[1].contentType?.mediaType ?? ""
                guard sigMedia == "application/pkcs7-signature" || sigMedia == "application/x-pkcs7-signature" else {
                    return fail(.error(.integrityCheckFailed), "the second part of multipart/signed is \(sigMedia.isEmpty ? "untyped" : sigMedia), not application/pkcs7-signature")
                }
                let der: Data
                do { der = try parts[1].decodedBody() } catch {
                    return fail(.error(.integrityCheckFailed), "cannot decode the signature part: \(error)")
                }
                let signed = parts[0]
                switch verify(signature: der, signed: signed, partner: partner) {
                case .success(let (info, bytes)):
                    signature = info
                    micContent = bytes
                case .failure(let f):
                    return .failure(AS2Failure(f.disposition, f.detail, partial: summary()))
                }
                entity = signed
                continue
            }
            // The payload.
            let payload: Data
            do { payload = try entity.decodedBody() } catch {
                return fail(.error(.unexpectedProcessingError), "cannot decode the payload: \(error)")
            }
            // Compressed outside the signature found later: the sender signed, then compressed.
            if compression == .unsigned && signature != nil { compression = .afterSigning }
            if signature == nil && encryption == nil && !sawCompression {
                // RFC 4130 §7.3.1: neither signed nor encrypted: the content without headers.
                micContent = payload
            }
            if let f = policyViolation(partner: partner, signature: signature, encryption: encryption) {
                return fail(.error(.insufficientMessageSecurity), f)
            }
            return .success(AS2Unwrapped(payload: payload, payloadContentType: entity.contentType?.mediaType,
                                         payloadFileName: entity.fileName, signature: signature, encryption: encryption,
                                         compression: compression, micContent: micContent ?? payload))
        }
        return fail(.error(.unexpectedProcessingError), "more than \(limits.maxLayers) nested security layers")
    }

    /// Verifies over the bytes as received, then (only if those fail on the digest and differ)
    /// over their CRLF-canonical form: text parts whose line ends a sender's stack converted.
    static func verify(signature der: Data, signed: MIMEEntity, partner: AS2PartnerProfile) -> Result<(SignatureInfo, Data), AS2Failure> {
        guard !partner.certificates.isEmpty else {
            return .failure(AS2Failure(.error(.authenticationFailed), "no certificate is configured for partner \(partner.partnerID)"))
        }
        var candidates = [signed.raw]
        let canonical = MIMECanonical.crlf(signed.raw)
        if canonical != signed.raw { candidates.append(canonical) }
        var lastError: CryptoError?
        for bytes in candidates {
            do {
                let info = try CMSVerifier.verifyDetached(signature: der, content: bytes, trusted: partner.certificates)
                guard partner.allowedDigests.contains(info.digest) else {
                    return .failure(AS2Failure(.error(.insufficientMessageSecurity),
                                               "signature digest \(info.digest.micalgName) is not allowed for partner \(partner.partnerID)"))
                }
                return .success((info, bytes))
            } catch let e as CryptoError {
                lastError = e
                if e.code != "cms-verify-digest" { break }
            } catch {
                return .failure(AS2Failure(.error(.authenticationFailed), "\(error)"))
            }
        }
        let e = lastError ?? CryptoError(code: "cms-verify", message: "signature verification failed")
        switch e.code {
        case "cms-verify-digest":
            return .failure(AS2Failure(.error(.integrityCheckFailed), "the content does not match its signature (altered in transit?): \(e.message)"))
        case "cms-verify-signer":
            return .failure(AS2Failure(.error(.authenticationFailed), "the signer is not a certificate of partner \(partner.partnerID): \(e.message)"))
        default:
            return .failure(AS2Failure(.error(.authenticationFailed), "the signature cannot be verified: \(e.message)"))
        }
    }

    static func policyViolation(partner: AS2PartnerProfile, signature: SignatureInfo?, encryption: AS2Encryption?) -> String? {
        if partner.requireSignature && signature == nil { return "partner \(partner.partnerID) must sign its messages; this one is unsigned" }
        if partner.requireEncryption && encryption == nil { return "partner \(partner.partnerID) must encrypt its messages; this one is not encrypted" }
        if let e = encryption, !partner.allowedCiphers.contains(e.cipher) {
            return "cipher \(e.cipher) is not allowed for partner \(partner.partnerID) (allowed: \(partner.allowedCiphers.sorted().joined(separator: ", ")))"
        }
        return nil
    }
}
