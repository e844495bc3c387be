/// A parsed Content-Disposition (RFC 2183): `attachment; filename="invoice.xml"`.
public struct ContentDisposition: Sendable, Equatable {
    /// Lowercased disposition type (`attachment`, `inline`); may be empty for a value that has
    /// only parameters.
    public var type: String
    /// Parameters with lowercased names and unquoted values.
    public var parameters: [String: String]

    public init(_ headerValue: String) {
        let (value, params) = HeaderParameters.parse(headerValue)
        type = asciiLowercased(value)
        parameters = params
    }

    /// A parameter by name, ignoring case.
    public subscript(parameter name: String) -> String? {
        HeaderParameters.lookup(parameters, name)
    }
}
