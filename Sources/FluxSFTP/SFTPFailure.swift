/// A request that fails: answered with SSH_FXP_STATUS, the session goes on.
struct SFTPFailure: Error {
    var code: SFTPStatusCode
    var message: String

    init(_ code: SFTPStatusCode, _ message: String? = nil) {
        self.code = code
        self.message = message ?? code.defaultMessage
    }

    static let malformed = SFTPFailure(.badMessage, "malformed request")
    static let invalidHandle = SFTPFailure(.failure, "invalid handle")
}
