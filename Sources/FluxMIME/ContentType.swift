/// A parsed Content-Type (RFC 2045 §5): media type and parameters.
///
/// Used to route entities (multipart/signed, application/pkcs7-mime with its smime-type) and to
/// find the multipart boundary. Parsing is lenient (see `HeaderParameters`); it fails only when
/// there is no `type/subtype`.
public struct ContentType: Sendable, Equatable {
    /// Lowercased top-level type, e.g. `multipart`.
    public var type: String
    /// Lowercased subtype, e.g. `signed`.
    public var subtype: String
    /// Parameters with lowercased names and unquoted values (spelling of values kept).
    public var parameters: [String: String]

    public init(type: String, subtype: String, parameters: [String: String] = [:]) {
        self.type = asciiLowercased(type)
        self.subtype = asciiLowercased(subtype)
        self.parameters = Dictionary(parameters.map { (asciiLowercased($0.key), $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    /// Parses a Content-Type header value; nil when it has no `type/subtype`.
    public init?(_ headerValue: String) {
        let (value, params) = HeaderParameters.parse(headerValue)
        guard let slash = value.firstIndex(of: "/") else { return nil }
        let t = trimWSP(value[..<slash])
        let s = trimWSP(value[value.index(after: slash)...])
        guard !t.isEmpty, !s.isEmpty,
              !t.utf8.contains(where: { $0 <= 0x20 || $0 == Byte.slash }),
              !s.utf8.contains(where: { $0 <= 0x20 || $0 == Byte.slash }) else { return nil }
        type = asciiLowercased(t)
        subtype = asciiLowercased(s)
        parameters = params
    }

    /// `type/subtype`, lowercased.
    public var mediaType: String { "\(type)/\(subtype)" }

    /// A parameter by name, ignoring case.
    public subscript(parameter name: String) -> String? {
        HeaderParameters.lookup(parameters, name)
    }

    /// Whether this is `multipart/*`.
    public var isMultipart: Bool { type == "multipart" }
}
