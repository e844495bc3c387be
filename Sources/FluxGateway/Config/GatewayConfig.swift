import FluxCore
import FluxInvoice
import FluxStore
import Foundation

/// A host:port pair for a listener.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func parse(_ s: String) -> ListenAddress? {
        var host: Substring
        var port: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return nil }
            host = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            port = rest.dropFirst()
        } else {
            guard let colon = s.lastIndex(of: ":") else { return nil }
            host = s[..<colon]
            port = s[s.index(after: colon)...]
        }
        guard let p = Int(port), (0...65535).contains(p), !host.isEmpty else { return nil }
        return ListenAddress(host: String(host), port: p)
    }
}

/// The whole configuration: `gateway.toml` plus `partners.d/*.toml` beside it.
public struct GatewayConfig: Sendable {
    public var file: String
    public var stateDir: String
    public var identityKey: String
    public var identityCert: String
    public var generateIdentity: Bool
    /// A separate key and certificate for the receipts' `.p7s` (nil: the identity signs them).
    /// Generated as ECDSA P-256 when missing and `generate_identity` holds.
    public var receiptKey: String?
    public var receiptCert: String?
    public var gatewayName: String
    public var gatewaySIREN: String?
    public var adminListen: ListenAddress?
    public var adminTokenFile: String
    /// Admin connections open at once; more are closed at accept.
    public var adminMaxConnections = 64
    /// A request must arrive whole within this (from the connection's start, or from the
    /// previous answer on a kept-alive connection): slowloris clients are cut off.
    public var adminRequestTimeout: Double = 30
    public var batching: BatchPolicy
    public var limits: FluxLimits
    /// How long a file must stay unwritten after IN_CLOSE_WRITE in `close` mode.
    public var quietPeriod: Double
    /// Deposits processed at once.
    public var intakeConcurrency: Int
    /// Bytes of XML parsed at once across all deposits (default: `max_file_size`, so one
    /// largest-allowed document, or many small ones).
    public var parseBudget: Int64 = 120_000_000
    public var logLevel: String
    /// XSD directory laid out like `shared/corpus/schemas`; nil = no XSD validation.
    public var schemasDir: String?
    public var partners: [PartnerConfig]
    /// The AS2 listener; nil when `[as2]` is absent or disabled.
    public var as2: AS2Settings?
    /// The SFTP server; nil when `[sftp]` is absent or disabled.
    public var sftp: SFTPSettings?

    public var databasePath: String { stateDir + "/gateway.sqlite" }
    public var spoolDir: String { stateDir + "/spool" }
    public var partnersDir: String { ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent("partners.d") }

    /// The drop-zone inbox and outbox of a partner.
    public func inbox(_ partner: String) -> String { "\(stateDir)/dropzones/\(partner)/inbox" }
    public func outbox(_ partner: String) -> String { "\(stateDir)/dropzones/\(partner)/outbox" }
    /// Where claimed files wait while they are processed (same filesystem as the inbox).
    public func claimDir(_ partner: String) -> String { "\(stateDir)/dropzones/\(partner)/.claimed" }
    /// Where SFTP uploads are written until they are complete (same filesystem as the claims).
    public func sftpStaging(_ partner: String) -> String { "\(stateDir)/dropzones/\(partner)/.sftp-staging" }

    public func partner(_ id: String) -> PartnerConfig? { partners.first { $0.id == id } }
    public func partner(as2ID: String) -> PartnerConfig? { partners.first { $0.as2?.as2ID == as2ID } }
}

extension GatewayConfig {
    static let topKeys: Set<String> = ["gateway", "sftp", "as2", "admin", "batching", "intake", "logging", "validation"]

    /// Loads and validates everything; throws a `ConfigError` listing every problem.
    public static func load(file: String) throws -> GatewayConfig {
        let abs = Self.absolute(file, relativeTo: FileManager.default.currentDirectoryPath)
        let r = TOMLReader(file: abs)
        guard let text = try? String(contentsOfFile: abs, encoding: .utf8) else {
            throw ConfigError(issues: [ConfigIssue(file: abs, key: "(file)", reason: "cannot be read (missing or not UTF-8)")])
        }
        guard let t = r.parse(text) else { throw ConfigError(issues: r.issues) }
        r.checkKnown(t, prefix: "", known: topKeys)
        let dir = (abs as NSString).deletingLastPathComponent

        let g = r.table(t, "gateway")
        if g == nil { r.issue("gateway", "the [gateway] table is required") }
        var stateDir = dir + "/var"
        var identityKey = "keys/gateway.key.pem"
        var identityCert = "keys/gateway.cert.pem"
        var generate = true
        var receiptKey: String?
        var receiptCert: String?
        var name = "flux-gateway"
        var siren: String?
        if let g {
            r.checkKnown(g, prefix: "gateway", known: ["state_dir", "identity_key", "identity_cert", "generate_identity",
                                                             "receipt_key", "receipt_cert", "name", "siren"])
            if let s = r.string(g, "state_dir", prefix: "gateway", required: true) { stateDir = absolute(s, relativeTo: dir) }
            identityKey = r.string(g, "identity_key", prefix: "gateway") ?? identityKey
            identityCert = r.string(g, "identity_cert", prefix: "gateway") ?? identityCert
            generate = r.bool(g, "generate_identity", prefix: "gateway") ?? true
            receiptKey = r.string(g, "receipt_key", prefix: "gateway")
            receiptCert = r.string(g, "receipt_cert", prefix: "gateway")
            if (receiptKey == nil) != (receiptCert == nil) {
                r.issue("gateway.receipt_key", "receipt_key and receipt_cert go together: set both or neither")
                receiptKey = nil; receiptCert = nil
            }
            name = r.string(g, "name", prefix: "gateway") ?? name
            siren = r.string(g, "siren", prefix: "gateway")
            if let s = siren, !Identifiers.isValidSIREN(s) { r.issue("gateway.siren", "'\(s)' is not a valid SIREN") }
        }
        identityKey = absolute(identityKey, relativeTo: stateDir)
        identityCert = absolute(identityCert, relativeTo: stateDir)
        receiptKey = receiptKey.map { absolute($0, relativeTo: stateDir) }
        receiptCert = receiptCert.map { absolute($0, relativeTo: stateDir) }
        if !generate {
            if !FileManager.default.fileExists(atPath: identityKey) { r.issue("gateway.identity_key", "\(identityKey) does not exist and generate_identity is false") }
            if !FileManager.default.fileExists(atPath: identityCert) { r.issue("gateway.identity_cert", "\(identityCert) does not exist and generate_identity is false") }
            for (key, path) in [("receipt_key", receiptKey), ("receipt_cert", receiptCert)] {
                if let path, !FileManager.default.fileExists(atPath: path) { r.issue("gateway.\(key)", "\(path) does not exist and generate_identity is false") }
            }
        }

        var adminListen: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 9090)
        var tokenFile = "keys/admin.token"
        var adminMaxConnections = 64
        var adminRequestTimeout: Double = 30
        if let a = r.table(t, "admin") {
            r.checkKnown(a, prefix: "admin", known: ["listen", "token_file", "enabled", "max_connections", "request_timeout"])
            adminMaxConnections = r.int(a, "max_connections", prefix: "admin", range: 1...10_000) ?? adminMaxConnections
            if let v = r.seconds(a, "request_timeout", prefix: "admin") {
                if v < 0.1 || v > 3600 { r.issue("admin.request_timeout", "must be between 100ms and 1h") } else { adminRequestTimeout = v }
            }
            if let l = r.string(a, "listen", prefix: "admin") {
                if let p = ListenAddress.parse(l) { adminListen = p } else { r.issue("admin.listen", "'\(l)' is not host:port") }
            }
            if r.bool(a, "enabled", prefix: "admin") == false { adminListen = nil }
            tokenFile = r.string(a, "token_file", prefix: "admin") ?? tokenFile
        }
        tokenFile = absolute(tokenFile, relativeTo: stateDir)

        var policy = BatchPolicy()
        if let b = r.table(t, "batching") {
            r.checkKnown(b, prefix: "batching", known: ["max_invoices", "max_bytes", "max_age"])
            policy.maxInvoices = r.int(b, "max_invoices", prefix: "batching", range: 1...1_000_000) ?? policy.maxInvoices
            if let v = r.bytes(b, "max_bytes", prefix: "batching") {
                if v < 1024 { r.issue("batching.max_bytes", "must be at least 1KiB") } else { policy.maxBytes = v }
            }
            if let v = r.seconds(b, "max_age", prefix: "batching") {
                if v < 0.1 || v > 31 * 86400 { r.issue("batching.max_age", "must be between 100ms and 31 days") } else { policy.maxAge = v }
            }
        }

        var limits = FluxLimits()
        var quiet = 2.0
        // 4, not more: 16 workers take the intake 15-25% further, but their fsyncs and file
        // creations slow the SFTP clients waiting on CLOSE (docs/performance.md, stop 18).
        var concurrency = 4
        var parseBudget: Int64?
        if let i = r.table(t, "intake") {
            r.checkKnown(i, prefix: "intake", known: ["max_flux_size", "max_file_size", "max_entries", "max_compression_ratio", "quiet_period",
                                                                 "concurrency", "parse_budget"])
            limits.maxFluxBytes = r.bytes(i, "max_flux_size", prefix: "intake") ?? limits.maxFluxBytes
            limits.maxFileBytes = r.bytes(i, "max_file_size", prefix: "intake") ?? limits.maxFileBytes
            limits.maxEntries = r.int(i, "max_entries", prefix: "intake", range: 1...1_000_000) ?? limits.maxEntries
            limits.maxCompressionRatio = Int64(r.int(i, "max_compression_ratio", prefix: "intake", range: 1...100_000) ?? Int(limits.maxCompressionRatio))
            if let q = r.seconds(i, "quiet_period", prefix: "intake") {
                if q > 3600 { r.issue("intake.quiet_period", "must be at most 1h") } else { quiet = q }
            }
            concurrency = r.int(i, "concurrency", prefix: "intake", range: 1...24) ?? concurrency
            if let b = r.bytes(i, "parse_budget", prefix: "intake") {
                if b < 1 << 20 { r.issue("intake.parse_budget", "must be at least 1MiB") } else { parseBudget = b }
            }
        }

        var schemasDir: String?
        if let v = r.table(t, "validation") {
            r.checkKnown(v, prefix: "validation", known: ["schemas_dir"])
            if let s = r.string(v, "schemas_dir", prefix: "validation") {
                let p = absolute(s, relativeTo: dir)
                var isDir: ObjCBool = false
                if !FileManager.default.fileExists(atPath: p, isDirectory: &isDir) || !isDir.boolValue {
                    r.issue("validation.schemas_dir", "\(p) is not a directory")
                } else {
                    for (syntax, rel) in XSDValidator.layout.sorted(by: { $0.key.rawValue < $1.key.rawValue })
                    where !FileManager.default.fileExists(atPath: (p as NSString).appendingPathComponent(rel)) {
                        r.issue("validation.schemas_dir", "\(p) has no \(rel) (the \(syntax.rawValue) schema)")
                    }
                    schemasDir = p
                }
            }
        }

        var logLevel = "info"
        if let l = r.table(t, "logging") {
            r.checkKnown(l, prefix: "logging", known: ["level"])
            if let lv = r.string(l, "level", prefix: "logging") {
                if ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(lv) { logLevel = lv } else {
                    r.issue("logging.level", "'\(lv)' is not one of trace, debug, info, notice, warning, error, critical")
                }
            }
        }
        var sftp: SFTPSettings?
        if let s = r.table(t, "sftp") {
            sftp = SFTPSettings.load(s, reader: r, stateDir: stateDir)
        }
        var as2: AS2Settings?
        if let a = r.table(t, "as2") {
            as2 = AS2Settings.load(a, reader: r, stateDir: stateDir)
        }

        var issues = r.issues
        var partners: [PartnerConfig] = []
        let pdir = (dir as NSString).appendingPathComponent("partners.d")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: pdir)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        var seenAS2: [String: String] = [:]
        for n in names {
            let pr = TOMLReader(file: (pdir as NSString).appendingPathComponent(n))
            if let p = PartnerConfig.load(file: pr.file, reader: pr) {
                if let a = p.as2ID {
                    if let other = seenAS2[a] { pr.issue("as2.as2_id", "'\(a)' is already used by partner \(other)") }
                    seenAS2[a] = p.id
                }
                partners.append(p)
            }
            issues += pr.issues
        }
        if !issues.isEmpty { throw ConfigError(issues: issues) }
        var config = GatewayConfig(file: abs, stateDir: stateDir, identityKey: identityKey, identityCert: identityCert, generateIdentity: generate,
                                   gatewayName: name, gatewaySIREN: siren, adminListen: adminListen, adminTokenFile: tokenFile,
                                   batching: policy, limits: limits, quietPeriod: quiet, intakeConcurrency: concurrency,
                                   logLevel: logLevel, schemasDir: schemasDir, partners: partners, as2: as2, sftp: sftp)
        config.adminMaxConnections = adminMaxConnections
        config.receiptKey = receiptKey
        config.receiptCert = receiptCert
        config.parseBudget = parseBudget ?? max(limits.maxFileBytes, 16 << 20)
        config.adminRequestTimeout = adminRequestTimeout
        return config
    }

    static func absolute(_ path: String, relativeTo base: String) -> String {
        let p = path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
        return (p as NSString).standardizingPath
    }
}
