import Foundation
import GRDB
import Testing

/// Runs the real `flux-gateway` executable on a temporary state directory, with loopback
/// listeners on free ports, and gives tests the paths and helpers they need.
final class GatewayHarness: @unchecked Sendable {  // used from one test at a time
    let root: URL
    let adminPort: Int
    /// AS2 listener port, and the port the async-MDN receiver of the tests may use (0 = no AS2).
    var as2Port = 0
    var mdnPort = 0
    var sftpPort = 0
    var process: Process?
    let logFile: URL

    static var repoRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
    static var shared: URL { URL(fileURLWithPath: ProcessInfo.processInfo.environment["FLUX_SHARED"] ?? repoRoot.appendingPathComponent("../shared").standardized.path) }
    static var corpus: URL { shared.appendingPathComponent("corpus") }

    /// The built executable: next to the test bundle, or FLUX_GATEWAY_BIN.
    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["FLUX_GATEWAY_BIN"] { return b }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("flux-gateway").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return repoRoot.appendingPathComponent(".build/debug/flux-gateway").path
    }

    init(maxInvoices: Int = 500, maxAge: String = "5m", quiet: String = "300ms", acmeCompletion: String = "close", schemas: Bool = false,
         as2: Bool = false, as2Extra: String = "", as2RequestTimeout: String = "10s", sftp: Bool = false, sftpExtra: String = "",
         acmeSFTPExtra: String = "", adminExtra: String = "") throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("flux-it-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc/partners.d"), withIntermediateDirectories: true)
        adminPort = try Self.freePort()
        logFile = root.appendingPathComponent("gateway.log")
        try """
            [gateway]
            state_dir = "../var"
            name = "flux-gateway test"
            [admin]
            listen = "127.0.0.1:\(adminPort)"
            \(adminExtra)
            [batching]
            max_invoices = \(maxInvoices)
            max_bytes = "64MiB"
            max_age = "\(maxAge)"
            [intake]
            quiet_period = "\(quiet)"
            concurrency = 2
            \(schemas ? "[validation]\nschemas_dir = \"\(Self.corpus.appendingPathComponent("schemas").path)\"" : "")
            """.write(to: root.appendingPathComponent("etc/gateway.toml"), atomically: true, encoding: .utf8)
        var acmeAS2 = ""
        var globexAS2 = ""
        var acmeSFTP = ""
        var globexSFTP = ""
        if sftp {
            sftpPort = try Self.freePort()
            let keys = root.appendingPathComponent("clientkeys")
            try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
            for (name, type) in [("acme_ed25519", "ed25519"), ("acme_rsa", "rsa"), ("globex_ed25519", "ed25519"), ("stranger_ed25519", "ed25519")] {
                var args = ["-q", "-t", type, "-N", "", "-C", name, "-f", keys.appendingPathComponent(name).path]
                if type == "rsa" { args += ["-b", "3072", "-m", "PEM"] }
                let r = try Self.run("/usr/bin/ssh-keygen", args)
                guard r.status == 0 else { throw HarnessError(message: "ssh-keygen: \(r.out)") }
            }
            func pub(_ n: String) throws -> String {
                try String(contentsOf: keys.appendingPathComponent(n + ".pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            try appendConfig("""

                [sftp]
                listen = "127.0.0.1:\(sftpPort)"
                pre_auth_timeout = "5s"
                min_free_disk = "1MiB"
                \(sftpExtra)

                """)
            acmeSFTP = """
                [sftp]
                authorized_keys = ["\(try pub("acme_ed25519"))", "\(try pub("acme_rsa"))"]
                \(acmeSFTPExtra)
                """
            globexSFTP = """
                [sftp]
                authorized_keys = ["\(try pub("globex_ed25519"))"]
                reject_on_close = true
                """
        }
        if as2 {
            as2Port = try Self.freePort()
            mdnPort = try Self.freePort()
            let certs = root.appendingPathComponent("etc/partners.d/certs")
            try FileManager.default.createDirectory(at: certs, withIntermediateDirectories: true)
            for name in ["acme", "globex", "stranger"] {
                let r = try Self.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=\(name.uppercased())",
                                                         "-keyout", certs.appendingPathComponent("\(name).key.pem").path,
                                                         "-out", certs.appendingPathComponent("\(name).cert.pem").path])
                guard r.status == 0 else { throw HarnessError(message: "openssl req: \(r.out)") }
            }
            try appendConfig("""

                [as2]
                listen = "127.0.0.1:\(as2Port)"
                path = "/as2"
                as2_id = "GATEWAY"
                allow_http_mdn_urls = true
                async_mdn_retry = "200ms"
                async_mdn_timeout = "2s"
                max_body_size = "2MiB"
                request_timeout = "\(as2RequestTimeout)"
                \(as2Extra)

                """)
            // acme: lenient (any combination may be sent); globex: signed and encrypted with modern algorithms only.
            acmeAS2 = """
                [as2]
                as2_id = "ACME"
                certificates = ["certs/acme.cert.pem"]
                require_signature = false
                require_encryption = false
                async_mdn_urls = ["http://127.0.0.1:\(mdnPort)/mdn"]
                """
            globexAS2 = """
                [as2]
                as2_id = "GLOBEX"
                certificates = ["certs/globex.cert.pem"]
                require_signature = true
                require_encryption = true
                allowed_algorithms = ["aes-256-cbc", "aes-128-gcm", "aes-256-gcm", "sha256", "sha512"]
                """
        }
        try """
            name = "VENDEUR EXEMPLE SAS"
            address = "1 rue de l'Exemple, 75001 Paris, FR"
            siren = "100000009"
            roles = ["supplier"]
            [dropzone]
            completion = "\(acmeCompletion)"
            \(acmeAS2)
            \(acmeSFTP)
            """.write(to: root.appendingPathComponent("etc/partners.d/acme.toml"), atomically: true, encoding: .utf8)
        try """
            name = "ACHETEUR EXEMPLE SA"
            address = "2 avenue du Test, 69001 Lyon, FR"
            siren = "200000008"
            [dropzone]
            completion = "rename"
            \(globexAS2)
            \(globexSFTP)
            """.write(to: root.appendingPathComponent("etc/partners.d/globex.toml"), atomically: true, encoding: .utf8)
    }

    /// Adds a section to gateway.toml (the listeners a test asked for).
    func appendConfig(_ text: String) throws {
        let handle = try FileHandle(forWritingTo: root.appendingPathComponent("etc/gateway.toml"))
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
    }

    deinit {
        if let p = process, p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        try? FileManager.default.removeItem(at: root)
    }

    var config: String { root.appendingPathComponent("etc/gateway.toml").path }
    var state: URL { root.appendingPathComponent("var") }
    func inbox(_ p: String = "acme") -> URL { state.appendingPathComponent("dropzones/\(p)/inbox") }
    func outbox(_ p: String = "acme") -> URL { state.appendingPathComponent("dropzones/\(p)/outbox") }
    var token: String { (try? String(contentsOf: state.appendingPathComponent("keys/admin.token"), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }
    var cert: String { state.appendingPathComponent("keys/gateway.cert.pem").path }

    /// Starts the daemon and waits until it is ready; with `orExit`, also returns when it exits
    /// first (a crash point armed for start-up recovery).
    func start(environment: [String: String] = [:], orExit: Bool = false) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["serve", "--config", config]
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if !FileManager.default.fileExists(atPath: logFile.path) { _ = FileManager.default.createFile(atPath: logFile.path, contents: nil) }
        let log = try FileHandle(forWritingTo: logFile)
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        process = p
        try waitUntil(timeout: 30, "the gateway answers /readyz") {
            (orExit && !p.isRunning) || (try? self.http("GET", "/readyz").status) == 200
        }
    }

    func signal(_ sig: Int32) {
        if let p = process { kill(p.processIdentifier, sig) }
    }

    func kill9() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    func stop() -> Int32 {
        guard let p = process else { return -1 }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        process = nil
        return p.terminationStatus
    }

    /// Deposits like a careful ERP in rename mode, or like `cp` in close mode.
    func deposit(_ data: Data, name: String, partner: String = "acme", viaRename: Bool = false) throws {
        let dir = inbox(partner)
        if viaRename {
            let tmp = dir.appendingPathComponent(name + ".part")
            try data.write(to: tmp)
            try FileManager.default.moveItem(at: tmp, to: dir.appendingPathComponent(name))
        } else {
            try data.write(to: dir.appendingPathComponent(name))
        }
    }

    /// Receipt files (CDAR documents) in an outbox whose name starts with `prefix`.
    func receipts(_ prefix: String, partner: String = "acme") -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outbox(partner).path)) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".cdar.xml") }.sorted().map { outbox(partner).appendingPathComponent($0) }
    }

    func waitForReceipts(_ prefix: String, count: Int, partner: String = "acme", timeout: Double = 20) throws -> [URL] {
        try waitUntil(timeout: timeout, "\(count) receipt(s) for \(prefix)") { self.receipts(prefix, partner: partner).count >= count }
        return receipts(prefix, partner: partner)
    }

    func cli(_ args: [String]) throws -> (status: Int32, out: String) {
        try Self.run(Self.binary, args + ["--config", config])
    }

    func db() throws -> DatabaseQueue {
        var c = Configuration()
        c.readonly = true
        c.busyMode = .timeout(10)
        return try DatabaseQueue(path: state.appendingPathComponent("gateway.sqlite").path, configuration: c)
    }

    /// The value of an unlabelled Prometheus sample (`NAME VALUE` line) in a `/metrics` text;
    /// nil when the metric is absent (a counter appears only once incremented).
    static func metric(_ name: String, in text: String) -> Double? {
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return (line?.split(separator: " ").last).flatMap { Double($0) }
    }

    struct HTTPResult { var status: Int; var body: Data }

    /// A minimal HTTP/1.1 client over loopback with curl (installed everywhere CI runs).
    func http(_ method: String, _ path: String, token: String? = nil, out: String? = nil) throws -> HTTPResult {
        var args = ["-s", "-X", method, "-o", out ?? "-", "-w", "\n%{http_code}", "--max-time", "10", "http://127.0.0.1:\(adminPort)\(path)"]
        if let token { args += ["-H", "Authorization: Bearer \(token)"] }
        let r = try Self.run("/usr/bin/curl", args)
        let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
        let code = Int(lines.last ?? "") ?? 0
        return HTTPResult(status: code, body: Data(lines.dropLast().joined(separator: "\n").utf8))
    }

    @discardableResult
    static func run(_ exe: String, _ args: [String], cwd: URL? = nil) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = cwd }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func waitUntil(timeout: Double, _ what: String, _ cond: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try cond() { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let log = String(decoding: (try? Data(contentsOf: logFile)) ?? Data(), as: UTF8.self)
        throw HarnessError(message: "timed out after \(timeout)s waiting for \(what); gateway log tail:\n\(log.suffix(3000))")
    }

    /// The French sample invoice with its number (and optionally issue date) changed.
    static func invoice(number: String, issueDate: String = "20260915") throws -> Data {
        var s = try String(contentsOf: corpus.appendingPathComponent("invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml"), encoding: .utf8)
        s = s.replacingOccurrences(of: "FA-2026-000123", with: number)
        s = s.replacingOccurrences(of: "<udt:DateTimeString format=\"102\">20260915</udt:DateTimeString>",
                                   with: "<udt:DateTimeString format=\"102\">\(issueDate)</udt:DateTimeString>")
        return Data(s.utf8)
    }

    /// Checks a receipt's detached signature with the openssl command.
    func opensslVerify(_ cdar: URL) throws -> Bool {
        try Self.run("/usr/bin/openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", cdar.path + ".p7s",
                                          "-content", cdar.path, "-CAfile", cert, "-out", "/dev/null"]).status == 0
    }

    /// Runs the official CDAR XSD + CDV Schematron oracle (saxonche in the project venv).
    static func cdarOracle(_ files: [URL]) throws -> (ok: Bool, out: String) {
        let python = ProcessInfo.processInfo.environment["FLUX_PYTHON"] ?? repoRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw HarnessError(message: "the oracle venv is missing at \(python): run scripts/setup-venv (or bash .ci/run)")
        }
        let r = try run(python, [repoRoot.appendingPathComponent("scripts/oracle/cdar_check.py").path] + files.map(\.path))
        return (r.status == 0, r.out)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
