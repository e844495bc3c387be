import CFluxShims
import COpenSSL
import Foundation

/// A private key (RSA, EC or Ed25519, whatever OpenSSL can read), owning its `EVP_PKEY`.
// @unchecked Sendable: the EVP_PKEY is never mutated after init, and OpenSSL 3 allows a const key to be used from several threads at once.
public final class PrivateKey: @unchecked Sendable {
    private let pkey: OpaquePointer

    /// Takes ownership of `pkey`, which this object frees.
    private init(owning pkey: OpaquePointer) {
        self.pkey = pkey
    }

    /// Reads the first private key in PEM `pem` (PKCS#8 `PRIVATE KEY` or traditional forms such as
    /// `RSA PRIVATE KEY`). Encrypted keys are refused with code `"key-load"`: the daemon has nobody
    /// to type a passphrase.
    public init(pem: Data) throws {
        OpenSSLErrorQueue.clear()
        let key = try MemoryBIO.withReadOnly(pem, code: "key-load") { bio in
            flux_PEM_read_bio_PrivateKey_nopass(bio)
        }
        guard let key else {
            throw CryptoError.openSSL(
                "key-load", "no readable unencrypted private key in the PEM data (expected -----BEGIN PRIVATE KEY-----)")
        }
        self.pkey = key
    }

    /// Reads the private key in the PEM file at `path`.
    public convenience init(pemFile path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CryptoError(code: "key-load", message: "cannot read private key file \(path): \(error.localizedDescription)")
        }
        do {
            try self.init(pem: data)
        } catch let error as CryptoError {
            throw CryptoError(code: error.code, message: "\(path): \(error.message)")
        }
    }

    deinit {
        EVP_PKEY_free(pkey)
    }

    /// Generates a new RSA key of `bits` bits (2048 to 16384; less is no longer safe for the
    /// signatures partners must trust for years).
    public static func generateRSA(bits: Int = 2048) throws -> PrivateKey {
        guard (2048...16384).contains(bits) else {
            throw CryptoError(code: "keygen", message: "RSA key size \(bits) is outside 2048...16384 bits")
        }
        OpenSSLErrorQueue.clear()
        guard let key = flux_EVP_RSA_gen(UInt32(bits)) else {
            throw CryptoError.openSSL("keygen", "RSA key generation (\(bits) bits) failed")
        }
        return PrivateKey(owning: key)
    }

    /// Generates a new ECDSA key on P-256: a signature costs about a fortieth of an RSA-2048
    /// one, which matters for documents signed per deposit (receipts).
    public static func generateECP256() throws -> PrivateKey {
        OpenSSLErrorQueue.clear()
        guard let key = flux_EVP_EC_gen_p256() else {
            throw CryptoError.openSSL("keygen", "EC key generation (P-256) failed")
        }
        return PrivateKey(owning: key)
    }

    /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Store it with
    /// `KeyFiles.writePEM(_:to:mode:)` and mode 0600.
    public func pemData() throws -> Data {
        OpenSSLErrorQueue.clear()
        return try withUnsafeEVPPKEY { key in
            try MemoryBIO.collect(code: "key-export", failure: "cannot write the private key as PEM") { bio in
                PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil) == 1
            }
        }
    }

    /// Whether this is an RSA key (the only kind that can open key-transport RecipientInfos).
    var isRSA: Bool {
        withUnsafeEVPPKEY { EVP_PKEY_get_base_id($0) == EVP_PKEY_RSA }
    }

    /// Lends the `EVP_PKEY` to `body`; the pointer must not escape it.
    func withUnsafeEVPPKEY<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(pkey) }
    }
}
