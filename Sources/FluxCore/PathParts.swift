/// The directory and the last component of a path, split at its last `/`.
///
/// `NSString.deletingLastPathComponent` and `lastPathComponent` bridge to Foundation's path
/// normalisation (`_stringByFixingSlashes`); on the per-deposit write paths they were 5% of the
/// intake's CPU. The paths split here are the daemon's own (absolute, no trailing slash), so a
/// byte search is enough; trailing slashes are still ignored, as Foundation does.
public enum PathParts {
    /// Everything before the last component: `/a/b/c` → `/a/b`, `/c` → `/`, `c` → `""`.
    public static func directory(of path: String) -> String {
        let utf8 = trimmed(path)
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return "" }
        if slash == utf8.startIndex { return "/" }
        var end = slash
        // `/a//b` → `/a`, like Foundation.
        while end > utf8.startIndex, utf8[utf8.index(before: end)] == UInt8(ascii: "/") { end = utf8.index(before: end) }
        return end == utf8.startIndex ? "/" : String(Substring(utf8[utf8.startIndex..<end]))
    }

    /// The last component: `/a/b/c` → `c`, `/a/b/` → `b`, `c` → `c`, `/` → `/`.
    public static func lastComponent(of path: String) -> String {
        let utf8 = trimmed(path)
        if utf8.isEmpty { return "" }
        if utf8.count == 1, utf8.first == UInt8(ascii: "/") { return "/" }
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return String(Substring(utf8)) }
        return String(Substring(utf8[utf8.index(after: slash)...]))
    }

    private static func trimmed(_ path: String) -> Substring.UTF8View {
        var utf8 = Substring(path).utf8
        while utf8.count > 1, utf8.last == UInt8(ascii: "/") { utf8 = utf8.dropLast() }
        return utf8
    }
}
