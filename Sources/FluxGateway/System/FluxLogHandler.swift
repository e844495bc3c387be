import FluxStore
import Foundation
import Logging
import Synchronization

/// Logs to the systemd journal's native socket when running under systemd (JOURNAL_STREAM set),
/// with metadata as journal fields (FLUX_COMPANY=...), otherwise as readable key=value lines on
/// stderr.
public struct FluxLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let sink: LogSink

    public init(label: String, level: Logger.Level, sink: LogSink) {
        self.label = label; self.logLevel = level; self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let m = event.metadata { all.merge(m) { $1 } }
        sink.write(level: event.level, message: "\(event.message)", metadata: all, label: label)
    }
}

/// Where log lines go; one per process.
public final class LogSink: Sendable {
    private let journalFD: Int32
    private let journalSocket: String
    private let lock = Mutex(())

    /// Uses the journal when `JOURNAL_STREAM` is set and its socket answers.
    public init() {
        var fd: Int32 = -1
        if ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil {
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        }
        self.journalFD = fd
        // FLUX_JOURNAL_SOCKET lets a test (or an unusual system) point at another socket.
        self.journalSocket = ProcessInfo.processInfo.environment["FLUX_JOURNAL_SOCKET"] ?? "/run/systemd/journal/socket"
    }

    deinit { if journalFD >= 0 { close(journalFD) } }

    func write(level: Logger.Level, message: String, metadata: Logger.Metadata, label: String) {
        if journalFD >= 0, sendJournal(level: level, message: message, metadata: metadata) { return }
        var line = "\(Self.timestamp()) level=\(level) msg=\(Self.quote(message))"
        for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { line += " \(k)=\(Self.quote("\(v)"))" }
        line += "\n"
        lock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    private func sendJournal(level: Logger.Level, message: String, metadata: Logger.Metadata) -> Bool {
        var payload = Data()
        func field(_ k: String, _ v: String) {
            let key = k.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
            let name = String(key.first?.isLetter == true ? key : ["X", "_"] + key)
            if v.contains("\n") {
                payload.append(Data(name.utf8)); payload.append(0x0A)
                var n = UInt64(v.utf8.count).littleEndian
                withUnsafeBytes(of: &n) { payload.append(contentsOf: $0) }
                payload.append(Data(v.utf8)); payload.append(0x0A)
            } else {
                payload.append(Data("\(name)=\(v)\n".utf8))
            }
        }
        field("MESSAGE", message)
        field("PRIORITY", String(Self.priority(level)))
        field("SYSLOG_IDENTIFIER", "flux-gateway")
        for (k, v) in metadata { field(k, "\(v)") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let path = journalSocket
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in path.utf8.enumerated() where i < buf.count - 1 { buf[i] = b }
        }
        let sent = payload.withUnsafeBytes { p in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(journalFD, p.baseAddress, p.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        return sent == payload.count
    }

    static func priority(_ l: Logger.Level) -> Int {
        switch l {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    static func quote(_ s: String) -> String {
        if !s.isEmpty && !s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) { return s }
        return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    static func timestamp() -> String { JournalTime.format(Date()) }
}
