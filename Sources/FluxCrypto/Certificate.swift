import CFluxShims
import COpenSSL
import Foundation

/// An X.509 certificate, owning its `X509`. The commonly read fields are decoded once at load.
// @unchecked Sendable: the X509 is never mutated after init, and OpenSSL 3 locks its internal caches, so concurrent reads are safe.
public final class Certificate: @unchecked Sendable {
    private let x509: OpaquePointer

    /// The subject in one-line RFC 2253 form, most specific first, e.g. `CN=Acme AS2,O=Acme`.
    public let subject: String
    /// The issuer in the same form (equal to `subject` for a self-signed certificate).
    public let issuer: String
    /// The serial number in lowercase hex (what `openssl x509 -serial` prints, lowercased), as
    /// named with the issuer by CMS issuer-and-serial identifiers, e.g. `1e6e95228e848da0`.
    public let serialNumberHex: String
    /// Start of the validity period.
    public let notBefore: Date
    /// End of the validity period.
    public let notAfter: Date
    /// SHA-256 of the DER encoding, lowercase hex without separators (what `openssl x509
    /// -fingerprint -sha256` prints, minus colons and case).
    public let fingerprintSHA256: String

    /// Takes ownership of `x509` (freed here even when decoding its fields fails).
    init(owning x509: OpaquePointer) throws {
        self.x509 = x509
        do {
            subject = try MemoryBIO.collect(code: "cert-load", failure: "cannot print the certificate subject") { bio in
                flux_X509_NAME_print_rfc2253(bio, X509_get_subject_name(x509)) >= 0
            }.utf8String
            issuer = try MemoryBIO.collect(code: "cert-load", failure: "cannot print the certificate issuer") { bio in
                flux_X509_NAME_print_rfc2253(bio, X509_get_issuer_name(x509)) >= 0
            }.utf8String
            serialNumberHex = Certificate.hex(of: X509_get0_serialNumber(x509))

            var start: Int64 = 0
            var end: Int64 = 0
            guard flux_X509_validity_unix(x509, &start, &end) == 1 else {
                throw CryptoError.openSSL("cert-load", "the certificate's validity dates cannot be read")
            }
            notBefore = Date(timeIntervalSince1970: TimeInterval(start))
            notAfter = Date(timeIntervalSince1970: TimeInterval(end))

            var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
            var length: UInt32 = 0
            guard X509_digest(x509, EVP_sha256(), &digest, &length) == 1 else {
                throw CryptoError.openSSL("cert-load", "cannot compute the certificate fingerprint")
            }
            fingerprintSHA256 = Digest.hex(Array(digest.prefix(Int(length))))
        } catch {
            // deinit does not run for a class whose init throws before all properties are set.
            X509_free(x509)
            throw error
        }
    }

    /// Reads the first certificate in PEM `pem`.
    public convenience init(pem: Data) throws {
        OpenSSLErrorQueue.clear()
        let x509 = try MemoryBIO.withReadOnly(pem, code: "cert-load") { bio in
            PEM_read_bio_X509(bio, nil, nil, nil)
        }
        guard let x509 else {
            throw CryptoError.openSSL("cert-load", "no readable certificate in the PEM data (expected -----BEGIN CERTIFICATE-----)")
        }
        try self.init(owning: x509)
    }

    /// Reads the first certificate in the PEM file at `path`.
    public convenience init(pemFile path: String) throws {
        let data = try Certificate.readFile(path)
        do {
            try self.init(pem: data)
        } catch let error as CryptoError {
            throw CryptoError(code: error.code, message: "\(path): \(error.message)")
        }
    }

    deinit {
        X509_free(x509)
    }

    /// Reads every certificate in PEM `pem`, in order (a chain, or several partner certificates
    /// during a rollover). Text between blocks is ignored; no certificate at all is an error.
    public static func loadAll(pem: Data) throws -> [Certificate] {
        OpenSSLErrorQueue.clear()
        var raw: [OpaquePointer] = []
        do {
            try MemoryBIO.withReadOnly(pem, code: "cert-load") { bio in
                while let x509 = PEM_read_bio_X509(bio, nil, nil, nil) {
                    raw.append(x509)
                }
                // Running out of PEM blocks ends the loop with "no start line"; anything else is a
                // damaged block, which must not be skipped silently.
                guard !raw.isEmpty, flux_ERR_last_is_pem_no_start_line() == 1 else {
                    throw CryptoError.openSSL(
                        "cert-load",
                        raw.isEmpty ? "no readable certificate in the PEM data"
                            : "certificate #\(raw.count + 1) in the PEM data cannot be read")
                }
                OpenSSLErrorQueue.clear()
            }
        } catch {
            raw.forEach { X509_free($0) }
            throw error
        }
        // Hand each pointer to its owner one by one; on a failure, free the ones not yet owned.
        var certificates: [Certificate] = []
        for (index, x509) in raw.enumerated() {
            do {
                certificates.append(try Certificate(owning: x509))
            } catch {
                raw[(index + 1)...].forEach { X509_free($0) }
                throw error
            }
        }
        return certificates
    }

    /// Reads every certificate in the PEM file at `path`; see `loadAll(pem:)`.
    public static func loadAll(pemFile path: String) throws -> [Certificate] {
        let data = try readFile(path)
        do {
            return try loadAll(pem: data)
        } catch let error as CryptoError {
            throw CryptoError(code: error.code, message: "\(path): \(error.message)")
        }
    }

    /// The certificate as PEM (`-----BEGIN CERTIFICATE-----`). Store it with mode 0644.
    public func pemData() throws -> Data {
        OpenSSLErrorQueue.clear()
        return try withUnsafeX509 { x509 in
            try MemoryBIO.collect(code: "cert-export", failure: "cannot write the certificate as PEM") { bio in
                PEM_write_bio_X509(bio, x509) == 1
            }
        }
    }

    /// Whether `key` is the private key for this certificate's public key.
    public func matches(key: PrivateKey) -> Bool {
        let ok = withUnsafeX509 { x509 in
            key.withUnsafeEVPPKEY { pkey in X509_check_private_key(x509, pkey) == 1 }
        }
        // A mismatch queues an error that is an answer here, not a failure to report later.
        OpenSSLErrorQueue.clear()
        return ok
    }

    /// Lends the `X509` to `body`; the pointer must not escape it.
    func withUnsafeX509<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(x509) }
    }

    /// Lowercase hex of an ASN1_STRING's bytes: an ASN1_INTEGER's magnitude (OpenSSL keeps the
    /// sign apart; serials are positive), or an ASN1_OCTET_STRING such as a key identifier.
    static func hex(of string: UnsafePointer<ASN1_STRING>?) -> String {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return "" }
        let count = Int(ASN1_STRING_length(string))
        return Digest.hex(Array(UnsafeBufferPointer(start: data, count: max(0, count))))
    }

    private static func readFile(_ path: String) throws -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CryptoError(code: "cert-load", message: "cannot read certificate file \(path): \(error.localizedDescription)")
        }
    }
}

extension Data {
    /// OpenSSL prints names as UTF-8; a malformed byte becomes U+FFFD rather than failing.
    fileprivate var utf8String: String { String(decoding: self, as: UTF8.self) }
}
