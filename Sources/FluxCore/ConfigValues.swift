import Foundation
/// Parsers for the human-friendly values of the configuration ("64MiB", "5m").
public enum ConfigValues {
    /// Bytes from "123", "64KiB", "64MiB", "1GiB", "10KB", "1GB" (KB = 1000, KiB = 1024).
    public static func parseBytes(_ s: String) -> Int64? {
        let t = s.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
            ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
            ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1),
        ]
        for (suffix, mult) in units where t.hasSuffix(suffix) {
            let num = t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard let v = Int64(num), v >= 0 else { return nil }
            let (r, overflow) = v.multipliedReportingOverflow(by: mult)
            return overflow ? nil : r
        }
        guard let v = Int64(t), v >= 0 else { return nil }
        return v
    }

    /// Seconds from "30", "30s", "5m", "2h", "1d", "250ms".
    public static func parseSeconds(_ s: String) -> Double? {
        let t = s.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, mult) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v >= 0, v.isFinite else { return nil }
            return v * mult
        }
        guard let v = Double(t), v >= 0, v.isFinite else { return nil }
        return v
    }
}
