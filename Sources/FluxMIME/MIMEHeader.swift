/// One header field. `name` keeps the sender's spelling (`content-type`, `Content-Type`); lookups
/// ignore case. `value` is unfolded and trimmed: for matching and parameter parsing only. Hashes
/// and signatures use `MIMEEntity.headerBytes`, never a re-serialisation of these fields.
public struct MIMEHeader: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The header fields of an entity, in the order received (duplicates kept).
public struct MIMEHeaders: Sendable, Equatable {
    public var fields: [MIMEHeader]

    public init(_ fields: [MIMEHeader] = []) {
        self.fields = fields
    }

    /// Value of the first field called `name`, ignoring case.
    public subscript(_ name: String) -> String? {
        for f in fields where asciiEqualsIgnoringCase(f.name, name) { return f.value }
        return nil
    }

    /// Values of all fields called `name`, ignoring case, in order.
    public func all(_ name: String) -> [String] {
        fields.filter { asciiEqualsIgnoringCase($0.name, name) }.map(\.value)
    }

    /// Whether a field called `name` is present.
    public func contains(_ name: String) -> Bool { self[name] != nil }

    public var count: Int { fields.count }
}
