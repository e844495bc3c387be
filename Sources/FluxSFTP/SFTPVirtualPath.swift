/// A place in the partner's virtual tree. Nothing else exists: every client path is normalised
/// lexically (no disk access) and must land on one of these, so no path can name anything on the
/// server's disk outside the three roots.
enum SFTPVirtualPath: Equatable, CustomStringConvertible {
    case root
    case inbox
    case outbox
    case inboxFile(String)
    case outboxFile(String)

    /// The canonical virtual path, as REALPATH answers and as logs show.
    var description: String {
        switch self {
        case .root: "/"
        case .inbox: "/inbox"
        case .outbox: "/outbox"
        case .inboxFile(let n): "/inbox/\(n)"
        case .outboxFile(let n): "/outbox/\(n)"
        }
    }

    /// Normalises `raw` (relative paths are taken against `/`; `.`, `..` and repeated `/` are
    /// folded; `..` stops at `/` as in a chroot) and maps it onto the tree.
    static func resolve(_ raw: UnsafeRawBufferPointer, limits: SFTPLimits) throws(SFTPFailure) -> SFTPVirtualPath {
        guard raw.count <= limits.maxPathLength else {
            throw SFTPFailure(.permissionDenied, "path too long (at most \(limits.maxPathLength) bytes)")
        }
        guard !raw.contains(0) else {
            throw SFTPFailure(.permissionDenied, "path contains a NUL byte")
        }
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw SFTPFailure(.permissionDenied, "path is not valid UTF-8")
        }
        var parts: [Substring] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        switch parts.count {
        case 0:
            return .root
        case 1:
            switch parts[0] {
            case "inbox": return .inbox
            case "outbox": return .outbox
            default: throw SFTPFailure(.noSuchFile, "no such file or directory: only /inbox and /outbox exist")
            }
        case 2:
            let name = String(parts[1])
            switch parts[0] {
            case "inbox":
                try validateName(name, limits: limits)
                return .inboxFile(name)
            case "outbox":
                try validateName(name, limits: limits)
                return .outboxFile(name)
            default:
                throw SFTPFailure(.noSuchFile, "no such file or directory: only /inbox and /outbox exist")
            }
        default:
            if parts[0] == "inbox" || parts[0] == "outbox" {
                throw SFTPFailure(.noSuchFile, "no such file or directory: /\(parts[0]) has no subdirectories")
            }
            throw SFTPFailure(.noSuchFile, "no such file or directory: only /inbox and /outbox exist")
        }
    }

    /// A file name the gateway accepts: no hidden names, no control or direction-changing
    /// characters (they forge log lines and file listings), no `\`, at most `maxNameLength` bytes.
    /// Temp names such as `x.filepart` pass: they do not start with a dot.
    static func validateName(_ name: String, limits: SFTPLimits) throws(SFTPFailure) {
        if name.utf8.count > limits.maxNameLength {
            throw SFTPFailure(.permissionDenied, "file name too long (at most \(limits.maxNameLength) bytes)")
        }
        if name.hasPrefix(".") {
            throw SFTPFailure(.permissionDenied, "hidden file names (starting with '.') are not allowed")
        }
        for scalar in name.unicodeScalars {
            if isForbidden(scalar) {
                throw SFTPFailure(.permissionDenied, "file name contains a control character")
            }
            if scalar == "\\" {
                throw SFTPFailure(.permissionDenied, "file name may not contain '\\'")
            }
        }
    }

    private static func isForbidden(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00...0x1F, 0x7F...0x9F: true // C0, DEL, C1
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true // bidi marks and overrides
        case 0x2028, 0x2029, 0xFEFF: true // line/paragraph separators, BOM
        default: false
        }
    }
}
