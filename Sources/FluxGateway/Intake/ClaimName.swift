import CFluxShims
import Foundation

/// The name of a claimed file: `<message id>__<original name>`, or, for an SFTP upload claimed
/// before its bytes were durable, `<message id>~<size>~<crc32>__<original name>` (size in
/// decimal, CRC-32 in 8 hex digits), which recovery checks before it takes the file in.
struct ClaimName: Equatable {
    struct Check: Equatable {
        var size: Int64
        var crc32: UInt32
    }

    var messageID: String
    var check: Check?
    var original: String

    /// At most 255 bytes (NAME_MAX): an original too long to fit beside the id keeps its first
    /// characters and its last 16 bytes (the extension), so only a recovery after a crash, which
    /// reads the name back, sees it shortened.
    var fileName: String {
        var head = messageID
        if let check {
            let crc = String(check.crc32, radix: 16)
            head += "~\(check.size)~\(String(repeating: "0", count: 8 - crc.count))\(crc)"
        }
        return "\(head)__\(Self.fitting(original, bytes: Self.nameMax - head.utf8.count - 2))"
    }

    static let nameMax = 255

    static func fitting(_ name: String, bytes budget: Int) -> String {
        guard name.utf8.count > budget else { return name }
        var tail = ""
        for c in name.reversed() {
            guard tail.utf8.count + String(c).utf8.count <= 16 else { break }
            tail = String(c) + tail
        }
        var stem = ""
        for c in name {
            guard stem.utf8.count + String(c).utf8.count + tail.utf8.count <= budget else { break }
            stem.append(c)
        }
        return stem + tail
    }

    init(messageID: String, check: Check? = nil, original: String) {
        self.messageID = messageID
        self.check = check
        self.original = original
    }

    /// Nil for a name that is not a claim (no `__`) or whose check does not parse.
    init?(parsing name: String) {
        guard let sep = name.range(of: "__") else { return nil }
        let head = name[..<sep.lowerBound]
        original = String(name[sep.upperBound...])
        let parts = head.split(separator: "~", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            messageID = String(head)
            check = nil
        case 3:
            guard let size = Int64(parts[1]), size >= 0, parts[2].count == 8, let crc = UInt32(parts[2], radix: 16) else { return nil }
            messageID = String(parts[0])
            check = Check(size: size, crc32: crc)
        default:
            return nil
        }
        guard !messageID.isEmpty, !original.isEmpty else { return nil }
    }

    /// Whether the file at `path` has the size and CRC-32 of `check` (true without a check).
    /// Reads at most `check.size + 1` bytes.
    func bytesMatch(at path: String) -> Bool {
        guard let check else { return true }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, Int64(st.st_size) == check.size else { return false }
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buf.deallocate() }
        var crc: UInt32 = 0
        var total: Int64 = 0
        while total <= check.size {
            let n = read(fd, buf.baseAddress, buf.count)
            if n < 0 { if errno == EINTR { continue }; return false }
            if n == 0 { break }
            crc = flux_crc32(crc, buf.baseAddress, n)
            total += Int64(n)
        }
        return total == check.size && crc == check.crc32
    }
}
