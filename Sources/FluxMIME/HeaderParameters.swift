/// Splits a structured header value of the form `value; name=token; name="quoted"` (RFC 2045
/// §5.1, RFC 2183) into its leading value and parameters.
///
/// Lenient on purpose, because AS2 peers are: spaces around `=`, empty segments and a trailing
/// `;`, unquoted values containing `/` or `=` (an unquoted `boundary=----=_Part_1`), upper-case
/// names, an unterminated quoted string (taken to the end). Parameters without `=` are ignored;
/// for a repeated name the first occurrence wins. RFC 2231 continuations are not decoded.
enum HeaderParameters {
    static func parse(_ headerValue: String) -> (value: String, parameters: [String: String]) {
        let b = Array(headerValue.utf8)
        let n = b.count
        var i = 0
        while i < n, b[i] != Byte.semicolon { i += 1 }
        let value = trimmed(b, 0, i)
        var params: [String: String] = [:]
        while i < n {
            // Skip separators and whitespace before a parameter name.
            while i < n, b[i] == Byte.semicolon || Byte.isTrim(b[i]) { i += 1 }
            guard i < n else { break }
            let nameStart = i
            while i < n, b[i] != Byte.equals, b[i] != Byte.semicolon { i += 1 }
            let name = asciiLowercased(trimmed(b, nameStart, i))
            guard i < n, b[i] == Byte.equals else { continue }   // valueless parameter: ignored
            i += 1
            while i < n, Byte.isTrim(b[i]) { i += 1 }
            var paramValue: String
            if i < n, b[i] == Byte.quote {
                i += 1
                var out: [UInt8] = []
                while i < n, b[i] != Byte.quote {
                    if b[i] == Byte.backslash, i + 1 < n { i += 1 }
                    out.append(b[i])
                    i += 1
                }
                i += 1   // closing quote (or past the end when unterminated)
                paramValue = headerText(out)
                while i < n, b[i] != Byte.semicolon { i += 1 }   // junk after the quoted string
            } else {
                let start = i
                while i < n, b[i] != Byte.semicolon { i += 1 }
                paramValue = trimmed(b, start, i)
            }
            if !name.isEmpty, params[name] == nil { params[name] = paramValue }
        }
        return (value, params)
    }

    private static func trimmed(_ b: [UInt8], _ lo: Int, _ hi: Int) -> String {
        var lo = lo, hi = hi
        while lo < hi, Byte.isTrim(b[lo]) { lo += 1 }
        while hi > lo, Byte.isTrim(b[hi - 1]) { hi -= 1 }
        return b[lo..<hi].withUnsafeBytes { headerText($0) }
    }

    /// Case-insensitive parameter lookup (keys are stored lowercased, but callers may not be).
    static func lookup(_ parameters: [String: String], _ name: String) -> String? {
        parameters[name] ?? parameters[asciiLowercased(name)]
    }
}
