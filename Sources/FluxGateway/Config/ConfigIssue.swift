/// One problem in the configuration: which file, which key, what is wrong.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var key: String
    public var reason: String

    public init(file: String, key: String, reason: String) {
        self.file = file; self.key = key; self.reason = reason
    }

    public var description: String { "\(file): \(key): \(reason)" }
}

/// Thrown when the configuration has problems; carries them all, not just the first.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
