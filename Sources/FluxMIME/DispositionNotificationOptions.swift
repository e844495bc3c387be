/// The `Disposition-Notification-Options` request header (RFC 4130 §7.3):
/// `signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256, sha1`.
///
/// Parsed leniently because peers get it wrong in the field: spaces anywhere, upper case,
/// `sha_256`/`sha256`/`sha-256`, a missing importance (`signed-receipt-micalg=sha256` is read as
/// optional), and OpenAS2#60, where a peer sent `pkcs7-signature` where a micalg was expected.
/// Values are kept as spelled; `firstSupportedMICAlgorithm` picks the first one we can do and
/// returns the peer's spelling, which the MDN's Received-Content-MIC should echo.
public struct DispositionNotificationOptions: Sendable, Equatable {
    public struct Parameter: Sendable, Equatable {
        /// `"required"` or `"optional"`, lowercased.
        public var importance: String
        /// Values as spelled by the peer, trimmed (surrounding quotes removed).
        public var values: [String]

        public init(importance: String, values: [String]) {
            self.importance = importance
            self.values = values
        }

        /// Whether the peer marked this parameter `required` (RFC 3798 §2.2: if we cannot
        /// comply, the MDN must report a failure).
        public var isRequired: Bool { importance == "required" }
    }

    public var signedReceiptProtocol: Parameter?
    public var signedReceiptMICAlg: Parameter?

    public init(signedReceiptProtocol: Parameter? = nil, signedReceiptMICAlg: Parameter? = nil) {
        self.signedReceiptProtocol = signedReceiptProtocol
        self.signedReceiptMICAlg = signedReceiptMICAlg
    }

    /// Parses the header value. Never fails: unknown parameter names and garbage are ignored.
    ///
    /// Tokens are separated by `;` or `,`; a token containing `=` starts a parameter
    /// (`name=importance`), the others are its values. This also reads a list where a peer used
    /// `,` instead of `;` between the two parameters.
    public init(_ headerValue: String) {
        var current: (name: String, items: [String])?
        var parsed: [(name: String, items: [String])] = []
        for token in headerValue.split(whereSeparator: { $0 == ";" || $0 == "," }) {
            if let eq = token.firstIndex(of: "=") {
                if let c = current { parsed.append(c) }
                let name = asciiLowercased(trimWSP(token[..<eq]))
                let first = Self.unquote(trimWSP(token[token.index(after: eq)...]))
                current = (name, first.isEmpty ? [] : [first])
            } else if current != nil {
                let item = Self.unquote(trimWSP(token))
                if !item.isEmpty { current!.items.append(item) }
            }
        }
        if let c = current { parsed.append(c) }

        for (name, allItems) in parsed {
            var items = allItems
            var importance = "optional"
            if let first = items.first {
                let lower = asciiLowercased(first)
                if lower == "required" || lower == "optional" {
                    importance = lower
                    items.removeFirst()
                }
            }
            let parameter = Parameter(importance: importance, values: items)
            switch name {
            case "signed-receipt-protocol" where signedReceiptProtocol == nil:
                signedReceiptProtocol = parameter
            case "signed-receipt-micalg" where signedReceiptMICAlg == nil:
                signedReceiptMICAlg = parameter
            default:
                continue
            }
        }
    }

    private static func unquote(_ s: String) -> String {
        guard s.count >= 2, s.first == "\"", s.last == "\"" else { return s }
        return trimWSP(s.dropFirst().dropLast())
    }

    /// Whether the peer asks for a signed receipt: the protocol parameter is present and names
    /// `pkcs7-signature`.
    public var wantsSignedReceipt: Bool {
        signedReceiptProtocol?.values.contains { asciiEqualsIgnoringCase($0, "pkcs7-signature") } ?? false
    }

    /// The first requested micalg whose canonical form (see `canonicalMICAlgorithm`) is among
    /// `supported` (given in any spelling), in the peer's spelling; nil when none is.
    public func firstSupportedMICAlgorithm(_ supported: [String]) -> String? {
        let ours = Set(supported.compactMap(Self.canonicalMICAlgorithm))
        return signedReceiptMICAlg?.values.first { v in
            Self.canonicalMICAlgorithm(v).map(ours.contains) ?? false
        }
    }

    /// Canonical spelling (`sha-1`, `sha-224`, `sha-256`, `sha-384`, `sha-512`, `md5`) for the
    /// spellings seen in the field: RFC 3851 `sha1`/`sha256`, RFC 5751 `sha-256`, Cleo and
    /// OpenAS2 `sha_256`, any case. Nil for anything else (such as `pkcs7-signature`).
    public static func canonicalMICAlgorithm(_ name: String) -> String? {
        let compact = String(asciiLowercased(trimWSP(name)).filter { $0 != "-" && $0 != "_" && $0 != " " })
        switch compact {
        case "sha1", "sha": return "sha-1"
        case "sha224": return "sha-224"
        case "sha256": return "sha-256"
        case "sha384": return "sha-384"
        case "sha512": return "sha-512"
        case "md5": return "md5"
        default: return nil
        }
    }
}
