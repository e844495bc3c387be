import COpenSSL
import Foundation

/// The digest algorithms AS2 uses for MICs (`micalg`, `signed-receipt-micalg`) and signatures.
///
/// MD5 is deliberately absent: RFC 4130 still lists it, but a partner asking for it is refused
/// (unknown name) rather than served a forgeable MIC, and `hash(_:)` cannot fail on a system whose
/// OpenSSL runs FIPS-only, where MD5 is unavailable.
public enum DigestAlgorithm: String, Sendable, CaseIterable {
    case sha1
    case sha224
    case sha256
    case sha384
    case sha512

    /// Lenient parse of the spellings partners put in AS2 headers and S/MIME parameters:
    /// `sha1`, `sha-1`, `SHA1`, `sha_256`, `sha-256`, `SHA256`, optionally quoted or padded with
    /// blanks. Nil for anything else (including signature names such as `rsa-sha256`, which are
    /// not digest names).
    public init?(as2Name: String) {
        let trimmed = as2Name.trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'"))
        // Only ASCII letters, digits and the separators; the length bound keeps this cheap for
        // hostile header values.
        guard trimmed.utf8.count <= 16 else { return nil }
        var folded = ""
        for scalar in trimmed.unicodeScalars {
            switch scalar {
            case "-", "_": continue
            case "A"..."Z", "a"..."z", "0"..."9": folded.unicodeScalars.append(scalar)
            default: return nil
            }
        }
        self.init(rawValue: folded.lowercased())
    }

    /// The RFC 5751 `micalg` spelling: `sha-1`, `sha-224`, `sha-256`, `sha-384`, `sha-512`.
    public var micalgName: String {
        switch self {
        case .sha1: "sha-1"
        case .sha224: "sha-224"
        case .sha256: "sha-256"
        case .sha384: "sha-384"
        case .sha512: "sha-512"
        }
    }

    /// Digest length in bytes.
    public var byteCount: Int {
        switch self {
        case .sha1: 20
        case .sha224: 28
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    /// The digest of `data` in one call (for a large entity arriving in pieces, see `DigestStream`).
    public func hash(_ data: Data) -> Data {
        var stream = DigestStream(self)
        stream.update(data)
        return stream.finalize()
    }

    /// OpenSSL's built-in method. These getters return static objects, safe to share between threads.
    var evpMD: OpaquePointer {
        switch self {
        case .sha1: EVP_sha1()
        case .sha224: EVP_sha224()
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: EVP_sha512()
        }
    }

    /// The algorithm for an OpenSSL NID (from a SignerInfo's digestAlgorithm), nil when it is not
    /// one of ours.
    init?(nid: Int32) {
        switch nid {
        case NID_sha1: self = .sha1
        case NID_sha224: self = .sha224
        case NID_sha256: self = .sha256
        case NID_sha384: self = .sha384
        case NID_sha512: self = .sha512
        default: return nil
        }
    }
}

extension DigestAlgorithm {
    /// An explicitly fetched method: handing `EVP_sha256()` to `EVP_DigestSignInit` makes
    /// OpenSSL 3 fetch the implementation again on every call (1.9% of the intake's CPU, in
    /// `EVP_DigestSignInit`; `EVP_DigestInit_ex` the same).
    var fetchedMD: OpaquePointer {
        switch self {
        case .sha1: FetchedDigests.sha1
        case .sha224: FetchedDigests.sha224
        case .sha256: FetchedDigests.sha256
        case .sha384: FetchedDigests.sha384
        case .sha512: FetchedDigests.sha512
        }
    }
}

/// Fetched once per process and never freed (they live as long as OpenSSL's default context).
private enum FetchedDigests {
    nonisolated(unsafe) static let sha1 = fetch("SHA1", .sha1)
    nonisolated(unsafe) static let sha224 = fetch("SHA224", .sha224)
    nonisolated(unsafe) static let sha256 = fetch("SHA256", .sha256)
    nonisolated(unsafe) static let sha384 = fetch("SHA384", .sha384)
    nonisolated(unsafe) static let sha512 = fetch("SHA512", .sha512)

    private static func fetch(_ name: String, _ fallback: DigestAlgorithm) -> OpaquePointer {
        EVP_MD_fetch(nil, name, nil) ?? fallback.evpMD
    }
}
