import COpenSSL

/// OpenSSL keeps failure reasons on a per-thread queue. Every FluxCrypto operation is synchronous
/// (no `await` between the C call and the drain), so the queue read is the one the call filled.
enum OpenSSLErrorQueue {
    /// Discards stale entries before an operation whose failure we will report.
    static func clear() {
        ERR_clear_error()
    }

    /// Removes and renders every queued error, oldest first, with its extra data
    /// (e.g. "Verify error:certificate has expired").
    static func drain() -> [String] {
        var reasons: [String] = []
        while true {
            var data: UnsafePointer<CChar>?
            var flags: Int32 = 0
            let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            let text = buffer.withUnsafeMutableBufferPointer { buf -> String in
                ERR_error_string_n(code, buf.baseAddress, buf.count)
                return String(cString: buf.baseAddress!)
            }
            if let data, flags & ERR_TXT_STRING != 0, data.pointee != 0 {
                reasons.append("\(text) (\(String(cString: data)))")
            } else {
                reasons.append(text)
            }
        }
        return reasons
    }
}
