import Foundation
import TOMLKit

/// Reads typed values out of a TOML table and records every problem instead of stopping at the
/// first, so `check-config` can list them all.
final class TOMLReader {
    let file: String
    private(set) var issues: [ConfigIssue] = []

    init(file: String) { self.file = file }

    func parse(_ text: String) -> TOMLTable? {
        do {
            return try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            issue("(syntax)", "line \(e.source.begin.line), column \(e.source.begin.column): \(e.description)")
        } catch {
            issue("(syntax)", "\(error)")
        }
        return nil
    }

    func issue(_ key: String, _ reason: String) {
        issues.append(ConfigIssue(file: file, key: key, reason: reason))
    }

    /// Flags keys that are not in `known` (typos would otherwise be silently ignored).
    func checkKnown(_ t: TOMLTable, prefix: String, known: Set<String>) {
        for k in t.keys where !known.contains(k) {
            issue(prefix.isEmpty ? k : "\(prefix).\(k)", "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    func table(_ t: TOMLTable, _ key: String, prefix: String = "") -> TOMLTable? {
        guard let v = t[key] else { return nil }
        guard let tt = v.table else { issue(path(prefix, key), "must be a table"); return nil }
        return tt
    }

    func string(_ t: TOMLTable, _ key: String, prefix: String = "", required: Bool = false) -> String? {
        guard let v = t[key] else {
            if required { issue(path(prefix, key), "is required") }
            return nil
        }
        guard let s = v.string else { issue(path(prefix, key), "must be a string"); return nil }
        return s
    }

    func bool(_ t: TOMLTable, _ key: String, prefix: String = "") -> Bool? {
        guard let v = t[key] else { return nil }
        guard let b = v.bool else { issue(path(prefix, key), "must be true or false"); return nil }
        return b
    }

    func int(_ t: TOMLTable, _ key: String, prefix: String = "", range: ClosedRange<Int>) -> Int? {
        guard let v = t[key] else { return nil }
        guard let i = v.int else { issue(path(prefix, key), "must be an integer"); return nil }
        guard range.contains(i) else { issue(path(prefix, key), "must be between \(range.lowerBound) and \(range.upperBound), got \(i)"); return nil }
        return i
    }

    func strings(_ t: TOMLTable, _ key: String, prefix: String = "") -> [String]? {
        guard let v = t[key] else { return nil }
        guard let a = v.array else { issue(path(prefix, key), "must be an array of strings"); return nil }
        var out: [String] = []
        for (i, e) in a.enumerated() {
            guard let s = e.string else { issue("\(path(prefix, key))[\(i)]", "must be a string"); continue }
            out.append(s)
        }
        return out
    }

    /// Byte sizes as "64MiB" or an integer.
    func bytes(_ t: TOMLTable, _ key: String, prefix: String = "") -> Int64? {
        guard let v = t[key] else { return nil }
        if let i = v.int, i >= 0 { return Int64(i) }
        if let s = v.string, let b = ConfigValuesBridge.bytes(s), b >= 0 { return b }
        issue(path(prefix, key), "must be a size such as \"64MiB\", \"1GB\" or a number of bytes")
        return nil
    }

    /// Durations as "5m", "30s" or a number of seconds.
    func seconds(_ t: TOMLTable, _ key: String, prefix: String = "") -> Double? {
        guard let v = t[key] else { return nil }
        if let i = v.int { return Double(i) }
        if let d = v.double { return d }
        if let s = v.string, let d = ConfigValuesBridge.seconds(s) { return d }
        issue(path(prefix, key), "must be a duration such as \"30s\", \"5m\", \"2h\" or a number of seconds")
        return nil
    }

    func path(_ prefix: String, _ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }
}
