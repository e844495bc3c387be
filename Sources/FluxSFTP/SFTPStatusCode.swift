/// SSH_FX_* status codes (draft 02, section 7).
enum SFTPStatusCode: UInt32, Sendable {
    case ok = 0
    case eof = 1
    case noSuchFile = 2
    case permissionDenied = 3
    case failure = 4
    case badMessage = 5
    case noConnection = 6
    case connectionLost = 7
    case opUnsupported = 8

    /// The message sent when the operation has nothing more specific to say.
    var defaultMessage: String {
        switch self {
        case .ok: "Success"
        case .eof: "End of file"
        case .noSuchFile: "No such file"
        case .permissionDenied: "Permission denied"
        case .failure: "Failure"
        case .badMessage: "Bad message"
        case .noConnection: "No connection"
        case .connectionLost: "Connection lost"
        case .opUnsupported: "Operation unsupported"
        }
    }
}
