/// What the MDN says about a message (RFC 4130 §7.4.3, RFC 3798, RFC 5402).
public enum AS2Disposition: Sendable, Equatable, CustomStringConvertible {
    case processed
    case warning(String)
    case error(AS2ErrorModifier)
    case failure(String)

    /// The text after `automatic-action/MDN-sent-automatically; `.
    public var description: String {
        switch self {
        case .processed: return "processed"
        case .warning(let w): return "processed/warning: \(w)"
        case .error(let e): return "processed/error: \(e.rawValue)"
        case .failure(let f): return "failed/failure: \(f)"
        }
    }

    /// `processed` and `processed/warning` acknowledge the message; only those are deduplicated.
    public var isPositive: Bool {
        switch self {
        case .processed, .warning: return true
        case .error, .failure: return false
        }
    }
}

/// The error modifiers of RFC 4130 §7.4.3 and RFC 5402 (`decompression-failed`).
public enum AS2ErrorModifier: String, Sendable, Equatable, CaseIterable {
    case authenticationFailed = "authentication-failed"
    case decompressionFailed = "decompression-failed"
    case decryptionFailed = "decryption-failed"
    case insufficientMessageSecurity = "insufficient-message-security"
    case integrityCheckFailed = "integrity-check-failed"
    case unexpectedProcessingError = "unexpected-processing-error"

    /// The journal's rule id for this failure.
    public var anomalyCode: String { "AS2-" + rawValue.uppercased() }
}
