import FluxCore
import Foundation
import TOMLKit

/// A key and its certificate, as PEM file paths.
public struct KeyPairPaths: Sendable, Equatable {
    public var key: String
    public var cert: String
}

/// `[as2]`: the AS2 listener.
public struct AS2Settings: Sendable, Equatable {
    public var listen: ListenAddress
    public var path: String
    /// The AS2 names the gateway answers to (first = the main one).
    public var as2IDs: [String]
    public var tlsCert: String?
    public var tlsKey: String?
    /// Keys that may decrypt incoming messages (rollover: several at once). Empty = the
    /// gateway identity.
    public var decryptionKeys: [KeyPairPaths]
    public var maxBodyBytes: Int64
    public var maxHeaderBytes: Int
    public var maxConnections: Int
    /// Whole-request deadline: a client slower than this is cut off (slowloris).
    public var requestTimeout: Double
    /// Idle keep-alive connections are closed after this.
    public var idleTimeout: Double
    /// Requests unwrapped and recorded at once.
    public var workers: Int
    /// Async MDN delivery: first retry delay (doubling), attempts before giving up, per-try timeout.
    public var mdnRetryDelay: Double
    public var mdnMaxAttempts: Int
    /// The doubling of retry delays stops here.
    public var mdnMaxRetryDelay: Double
    public var mdnTimeout: Double
    /// Let async MDNs go to plain http:// URLs (tests, private links); https only otherwise.
    public var allowInsecureMDNURLs: Bool
    /// Below this much free space in the state directory, new messages get 503 + Retry-After
    /// before their body is read: a full disk must never be discovered half-way through a commit.
    public var minFreeDisk: Int64 = 1 << 30

    static let knownKeys: Set<String> = [
        "listen", "path", "as2_id", "as2_ids", "tls_cert", "tls_key", "decryption_keys", "enabled", "max_body_size", "max_header_size",
        "max_connections", "request_timeout", "idle_timeout", "workers", "async_mdn_retry", "async_mdn_attempts", "async_mdn_timeout",
        "async_mdn_max_retry_delay", "allow_http_mdn_urls", "min_free_disk",
    ]

    static func load(_ a: TOMLTable, reader r: TOMLReader, stateDir: String) -> AS2Settings? {
        r.checkKnown(a, prefix: "as2", known: knownKeys)
        var s = AS2Settings(listen: ListenAddress(host: "127.0.0.1", port: 4080), path: "/as2", as2IDs: ["GATEWAY"], tlsCert: nil, tlsKey: nil,
                            decryptionKeys: [], maxBodyBytes: 256 << 20, maxHeaderBytes: 64 << 10, maxConnections: 512,
                            requestTimeout: 300, idleTimeout: 60, workers: max(2, ProcessInfo.processInfo.activeProcessorCount * 2),
                            mdnRetryDelay: 30, mdnMaxAttempts: 10, mdnMaxRetryDelay: 3600, mdnTimeout: 30, allowInsecureMDNURLs: false)
        if let l = r.string(a, "listen", prefix: "as2") {
            if let p = ListenAddress.parse(l) { s.listen = p } else { r.issue("as2.listen", "'\(l)' is not host:port") }
        }
        if let p = r.string(a, "path", prefix: "as2") {
            if p.hasPrefix("/") && !p.contains(" ") { s.path = p } else { r.issue("as2.path", "'\(p)' must start with / and hold no spaces") }
        }
        var ids: [String] = []
        if let id = r.string(a, "as2_id", prefix: "as2") { ids.append(id) }
        ids += r.strings(a, "as2_ids", prefix: "as2") ?? []
        for id in ids where id.isEmpty || id.utf8.count > 128 || id.contains(where: { $0.isNewline }) {
            r.issue("as2.as2_id", "'\(id)' must be 1 to 128 characters on one line")
        }
        if !ids.isEmpty { s.as2IDs = ids }
        s.tlsCert = r.string(a, "tls_cert", prefix: "as2").map { GatewayConfig.absolute($0, relativeTo: stateDir) }
        s.tlsKey = r.string(a, "tls_key", prefix: "as2").map { GatewayConfig.absolute($0, relativeTo: stateDir) }
        if (s.tlsCert == nil) != (s.tlsKey == nil) { r.issue("as2.tls_cert", "tls_cert and tls_key go together") }
        for (k, v) in [("tls_cert", s.tlsCert), ("tls_key", s.tlsKey)] {
            if let v, !FileManager.default.fileExists(atPath: v) { r.issue("as2.\(k)", "\(v) does not exist") }
        }
        if let v = a["decryption_keys"] {
            if let arr = v.array {
                for (i, e) in arr.enumerated() {
                    let key = "as2.decryption_keys[\(i)]"
                    guard let t = e.table else { r.issue(key, "must be { key = \"...\", cert = \"...\" }"); continue }
                    r.checkKnown(t, prefix: key, known: ["key", "cert"])
                    guard let k = r.string(t, "key", prefix: key, required: true), let c = r.string(t, "cert", prefix: key, required: true) else { continue }
                    let pair = KeyPairPaths(key: GatewayConfig.absolute(k, relativeTo: stateDir), cert: GatewayConfig.absolute(c, relativeTo: stateDir))
                    if !FileManager.default.fileExists(atPath: pair.key) { r.issue("\(key).key", "\(pair.key) does not exist") }
                    if !FileManager.default.fileExists(atPath: pair.cert) { r.issue("\(key).cert", "\(pair.cert) does not exist") }
                    s.decryptionKeys.append(pair)
                }
            } else {
                r.issue("as2.decryption_keys", "must be an array of { key = ..., cert = ... }")
            }
        }
        if let b = r.bytes(a, "max_body_size", prefix: "as2") {
            if b < 1024 { r.issue("as2.max_body_size", "must be at least 1KiB") } else { s.maxBodyBytes = b }
        }
        if let b = r.bytes(a, "max_header_size", prefix: "as2") {
            if b < 1024 || b > 1 << 20 { r.issue("as2.max_header_size", "must be between 1KiB and 1MiB") } else { s.maxHeaderBytes = Int(b) }
        }
        s.minFreeDisk = r.bytes(a, "min_free_disk", prefix: "as2") ?? s.minFreeDisk
        s.maxConnections = r.int(a, "max_connections", prefix: "as2", range: 1...100_000) ?? s.maxConnections
        s.workers = r.int(a, "workers", prefix: "as2", range: 1...256) ?? s.workers
        for (k, keyPath) in [("request_timeout", \AS2Settings.requestTimeout), ("idle_timeout", \.idleTimeout),
                             ("async_mdn_retry", \.mdnRetryDelay), ("async_mdn_timeout", \.mdnTimeout),
                             ("async_mdn_max_retry_delay", \.mdnMaxRetryDelay)] {
            if let v = r.seconds(a, k, prefix: "as2") {
                if v < 0.05 || v > 86400 { r.issue("as2.\(k)", "must be between 50ms and 24h") } else { s[keyPath: keyPath] = v }
            }
        }
        s.mdnMaxAttempts = r.int(a, "async_mdn_attempts", prefix: "as2", range: 1...1000) ?? s.mdnMaxAttempts
        s.allowInsecureMDNURLs = r.bool(a, "allow_http_mdn_urls", prefix: "as2") ?? false
        if r.bool(a, "enabled", prefix: "as2") == false { return nil }
        return s
    }
}
