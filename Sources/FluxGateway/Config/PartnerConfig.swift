import FluxCore
import FluxStore
import Foundation

/// How the watcher decides that a file dropped in a directory is complete (SFTP.md, last part).
public enum CompletionMode: String, Sendable, Equatable, CaseIterable {
    /// A file renamed into the directory from a temp name (IN_MOVED_TO). The default.
    case rename
    /// A `NAME.ok` trigger written after the data names the complete file.
    case trigger
    /// IN_CLOSE_WRITE, then a quiet period, then no writer holds the file open.
    case close
}

/// A watched directory and its completion mode.
public struct WatchedDirectory: Sendable, Equatable {
    public var path: String
    public var completion: CompletionMode
}

/// One partner (a company), from `partners.d/<id>.toml`.
public struct PartnerConfig: Sendable, Equatable {
    public var id: String
    public var file: String
    public var name: String
    public var address: String
    public var siren: String?
    public var roles: [String]
    public var completion: CompletionMode
    public var extraDirectories: [WatchedDirectory]
    public var sftp: PartnerSFTPConfig?
    public var sftpAuthorizedKeys: [String] { sftp?.authorizedKeys ?? [] }
    public var as2: PartnerAS2Config?
    public var as2ID: String? { as2?.as2ID }

    public var identity: PartnerIdentity {
        PartnerIdentity(id: id, name: name, address: address, siren: siren, roles: roles)
    }
}

extension PartnerConfig {
    static let knownKeys: Set<String> = ["name", "address", "siren", "siret", "roles", "sftp", "dropzone", "as2"]
    static let knownRoles: Set<String> = ["supplier", "client", "platform"]

    static func load(file: String, reader r: TOMLReader) -> PartnerConfig? {
        let id = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            r.issue("(file)", "cannot be read as UTF-8 text"); return nil
        }
        guard let t = r.parse(text) else { return nil }
        r.checkKnown(t, prefix: "", known: knownKeys)
        if id.isEmpty || !id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) || id.hasPrefix(".") {
            r.issue("(file name)", "the partner id '\(id)' (file name without .toml) may hold only letters, digits, '-' and '_'")
        }
        let name = r.string(t, "name", required: true) ?? ""
        let address = r.string(t, "address", required: true) ?? ""
        let siren = r.string(t, "siren")
        if let s = siren, !Identifiers.isValidSIREN(s) {
            r.issue("siren", "'\(s)' is not a valid SIREN (9 digits with a Luhn check digit)")
        }
        if let siret = r.string(t, "siret") {
            if !Identifiers.isValidSIRET(siret) { r.issue("siret", "'\(siret)' is not a valid SIRET (14 digits with a valid check digit)") }
            if let s = siren, !siret.hasPrefix(s) { r.issue("siret", "'\(siret)' does not start with the SIREN \(s)") }
        }
        let roles = r.strings(t, "roles") ?? ["supplier"]
        for role in roles where !knownRoles.contains(role) {
            r.issue("roles", "unknown role '\(role)' (known: \(knownRoles.sorted().joined(separator: ", ")))")
        }
        var completion = CompletionMode.rename
        var extra: [WatchedDirectory] = []
        if let dz = r.table(t, "dropzone") {
            r.checkKnown(dz, prefix: "dropzone", known: ["completion", "extra_dirs"])
            if let c = r.string(dz, "completion", prefix: "dropzone") {
                if let m = CompletionMode(rawValue: c) { completion = m } else {
                    r.issue("dropzone.completion", "'\(c)' is not one of rename, trigger, close")
                }
            }
            if let v = dz["extra_dirs"] {
                if let a = v.array {
                    for (i, e) in a.enumerated() {
                        if let s = e.string {
                            extra.append(WatchedDirectory(path: s, completion: completion))
                        } else if let et = e.table {
                            let key = "dropzone.extra_dirs[\(i)]"
                            r.checkKnown(et, prefix: key, known: ["path", "completion"])
                            guard let p = r.string(et, "path", prefix: key, required: true) else { continue }
                            var m = completion
                            if let c = r.string(et, "completion", prefix: key) {
                                if let mm = CompletionMode(rawValue: c) { m = mm } else { r.issue("\(key).completion", "'\(c)' is not one of rename, trigger, close") }
                            }
                            extra.append(WatchedDirectory(path: p, completion: m))
                        } else {
                            r.issue("dropzone.extra_dirs[\(i)]", "must be a path or { path = ..., completion = ... }")
                        }
                    }
                } else {
                    r.issue("dropzone.extra_dirs", "must be an array")
                }
            }
            for d in extra where !d.path.hasPrefix("/") {
                r.issue("dropzone.extra_dirs", "'\(d.path)' must be an absolute path")
            }
        }
        var sftp: PartnerSFTPConfig?
        if let st = r.table(t, "sftp") {
            sftp = PartnerSFTPConfig.load(st, reader: r)
        }
        var as2: PartnerAS2Config?
        if let t = r.table(t, "as2") {
            as2 = PartnerAS2Config.load(t, reader: r, partnersDir: (file as NSString).deletingLastPathComponent)
        }
        return PartnerConfig(id: id, file: file, name: name, address: address, siren: siren, roles: roles,
                             completion: completion, extraDirectories: extra, sftp: sftp, as2: as2)
    }
}
