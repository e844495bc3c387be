/// An error with a stable machine code and a human message that says what went wrong and,
/// where possible, what to do. Codes are what partners, logs and tests match on; messages may
/// be reworded.
public struct FluxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
