import Foundation

/// Canonical forms for MIC and signature checks.
///
/// S/MIME signs text in canonical form (CRLF line ends). Senders on Unix sometimes hand over
/// LF-only text and sign its canonical form; a receiver that hashes the LF bytes as received
/// computes a different MIC. Binary content (CTE binary or absent, RFC 4130 §5.2.1) must *not*
/// be canonicalised: deciding when to call this is the caller's job.
public enum MIMECanonical {
    /// Bare LF -> CRLF; existing CRLF and bare CR untouched. Returns `data` itself (no copy)
    /// when it contains no bare LF, which is the common case for CRLF senders.
    public static func crlf(_ data: Data) -> Data {
        let data = data.rebased
        let n = data.count
        let bare: Int = data.withUnsafeBytes { buf in
            var count = 0
            var i = 0
            while let lf = buf.firstIndex(of: Byte.lf, from: i, to: n) {
                if lf == 0 || buf[lf - 1] != Byte.cr { count += 1 }
                i = lf + 1
            }
            return count
        }
        guard bare > 0 else { return data }
        var out = Data(count: n + bare)
        out.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                var i = 0, o = 0
                while let lf = src.firstIndex(of: Byte.lf, from: i, to: n) {
                    let len = lf - i
                    if len > 0 { memcpy(d + o, s + i, len); o += len }
                    if lf == 0 || src[lf - 1] != Byte.cr { dst[o] = Byte.cr; o += 1 }
                    dst[o] = Byte.lf
                    o += 1
                    i = lf + 1
                }
                if i < n { memcpy(d + o, s + i, n - i) }
            }
        }
        return out
    }

    /// Whether `data` contains a LF not preceded by CR.
    public static func hasBareLF(_ data: Data) -> Bool {
        data.withUnsafeBytes { buf in
            var i = 0
            while let lf = buf.firstIndex(of: Byte.lf, from: i, to: buf.count) {
                if lf == 0 || buf[lf - 1] != Byte.cr { return true }
                i = lf + 1
            }
            return false
        }
    }
}
