import ArgumentParser
import FluxCore
import FluxGateway
import FluxInvoice
import FluxStore
import Foundation
import Logging

@main
struct FluxGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flux-gateway",
        abstract: "E-invoicing flux gateway: SFTP, AS2 and drop-zone intake, journal, batches and queue.",
        version: FluxVersion.string,
        subcommands: [Serve.self, CheckConfig.self, Validate.self, JournalCommand.self, PartnersCommand.self, QueueCommand.self, InvoiceCommand.self])

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// `--config`, shared by every command but `serve` (where it is required).
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The gateway configuration file.")
    var config: String = "/etc/flux-gateway/gateway.toml"

    func load() throws -> GatewayConfig {
        do { return try GatewayConfig.load(file: config) } catch let e as ConfigError {
            FileHandle.standardError.write(Data((e.description + "\n").utf8))
            throw ExitCode(2)
        }
    }

    /// Opens the store read-write without a signing key: the CLI never seals batches.
    func store(_ c: GatewayConfig) throws -> SQLiteStore {
        guard FileManager.default.fileExists(atPath: c.databasePath) else {
            FileHandle.standardError.write(Data("no database at \(c.databasePath): has the gateway run yet?\n".utf8))
            throw ExitCode(1)
        }
        return try SQLiteStore(path: c.databasePath, policy: c.batching) { _ in
            throw FluxError("no-signer", "the command line does not seal batches")
        }
    }
}

func makeLogger(level: String) -> Logger {
    let sink = LogSink()
    let lvl = Logger.Level(rawValue: level) ?? .info
    LoggingSystem.bootstrap { label in FluxLogHandler(label: label, level: lvl, sink: sink) }
    return Logger(label: "flux-gateway")
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon.")
    @Option(name: .long, help: "The gateway configuration file.") var config: String

    func run() async throws {
        let cfg: GatewayConfig
        do { cfg = try GatewayConfig.load(file: config) } catch let e as ConfigError {
            FileHandle.standardError.write(Data(("configuration is invalid, not starting:\n" + e.description + "\n").utf8))
            throw ExitCode(2)
        }
        let logger = makeLogger(level: cfg.logLevel)
        Metrics.bootstrap()
        do {
            try await GatewayRuntime.serve(configFile: config, logger: logger)
        } catch let e as ConfigError {
            FileHandle.standardError.write(Data(("configuration is invalid, not starting:\n" + e.description + "\n").utf8))
            throw ExitCode(2)
        } catch {
            logger.critical("the gateway stopped on an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate the configuration; every problem names its file and key.")
    @OptionGroup var options: ConfigOption

    func run() throws {
        let c = try options.load()
        print("\(c.file): OK (\(c.partners.count) partner\(c.partners.count == 1 ? "" : "s"), state in \(c.stateDir))")
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Detect and check invoice files offline (XML, Factur-X PDF, tar.gz, zip).",
        discussion: "Prints `PATH: OK` or `PATH: FAIL RULE-ID[,RULE-ID...]` per file; exit 1 if any fails. No configuration or daemon needed.")
    @Flag(name: .long, help: "One JSON object per file, with messages and locations.") var json = false
    @Option(name: .long, help: "XSD directory laid out like shared/corpus/schemas (default: $FLUX_SCHEMAS_DIR; none = no XSD).")
    var schemas: String?
    @Option(name: .customLong("repeat"), help: "Benchmarking: check the files this many times and print the rate (files/s) on stderr.")
    var repeatCount: Int = 1
    @Flag(name: .long, help: "List the rule ids the native checks implement, and exit.") var listRules = false
    @Argument(help: "Files to check.") var files: [String] = []

    func validate() throws {
        if !listRules && files.isEmpty { throw ValidationError("give at least one file (or --list-rules)") }
    }

    func run() throws {
        if listRules {
            for id in RuleCatalog.implemented { print(id) }
            return
        }
        let dir = schemas ?? ProcessInfo.processInfo.environment["FLUX_SCHEMAS_DIR"]
        let inspector = FluxInspector(xsd: dir.map(XSDValidator.init(directory:)))
        guard (1...1_000_000).contains(repeatCount) else { throw ValidationError("--repeat must be 1...1000000") }
        if repeatCount > 1 {
            let names = files.map { ($0 as NSString).lastPathComponent }
            let start = Date()
            for _ in 0..<repeatCount {
                for (f, name) in zip(files, names) { _ = try inspector.inspect(path: f, fileName: name, keepItems: false) { _ in } }
            }
            let s = Date().timeIntervalSince(start)
            let n = files.count * repeatCount
            FileHandle.standardError.write(Data("validated \(n) files in \(String(format: "%.3f", s)) s: \(String(format: "%.1f", Double(n) / s)) files/s\n".utf8))
        }
        var failed = false
        for f in files {
            // No item is kept: the rule ids are gathered as the members are read, and with --json
            // each item is rendered then (its JSON text is what is kept, not the item), so memory
            // stays flat without --json and small with it, however many members an archive has.
            var itemRules: [String] = []
            var seenItemRules = Set<String>()
            var itemJSON: [String] = []
            let report = try inspector.inspect(path: f, fileName: (f as NSString).lastPathComponent, keepItems: false) { item in
                for a in item.anomalies where seenItemRules.insert(a.rule).inserted { itemRules.append(a.rule) }
                if json { itemJSON.append(ValidateJSON.render(item: item)) }
            }
            var seen = Set<String>()
            // A flux refused as a whole has no items: what its members said does not count.
            var rules = report.fluxAnomalies.map(\.rule) + (report.fluxAccepted ? itemRules : [])
            rules = rules.filter { seen.insert($0).inserted }
            if !rules.isEmpty { failed = true }
            if json {
                print(ValidateJSON.render(path: f, report: report, rules: rules, items: report.fluxAccepted ? itemJSON : []))
            } else {
                print(rules.isEmpty ? "\(f): OK" : "\(f): FAIL \(rules.joined(separator: ","))")
            }
        }
        if failed { throw ExitCode(1) }
    }
}

/// The `validate --json` shape: one object per file.
enum ValidateJSON {
    static func anomaly(_ a: Anomaly) -> [String: Any] {
        var o: [String: Any] = ["rule": a.rule, "reason": a.reasonCode, "message": a.message]
        if let l = a.location { o["location"] = l }
        return o
    }

    /// One file's object, keys sorted; `items` are the members' objects already rendered.
    static func render(path: String, report: FluxReport, rules: [String], items: [String]) -> String {
        var fields: [(String, Any)] = [
            ("flux_anomalies", report.fluxAnomalies.map(anomaly)), ("format", report.format),
            ("ok", rules.isEmpty), ("path", path), ("rules", rules),
        ]
        if let e = report.envelope {
            fields.insert(("envelope", ["interface": e.interface, "application_code": e.applicationCode, "flux_id": e.fluxID, "label": e.label]), at: 0)
        }
        // Assembled by hand so that the items need not be held as objects: the keys are fixed
        // ASCII words, every value goes through JSONSerialization.
        var parts = fields.map { "\"\($0.0)\":\(text($0.1))" }
        parts.insert("\"items\":[\(items.joined(separator: ","))]", at: parts.firstIndex { $0.hasPrefix("\"ok\":") }!)
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// One member's object, keys sorted.
    static func render(item i: FluxItem) -> String {
        var o: [String: Any] = [
            "name": i.name, "syntax": i.facts.syntax.rawValue, "accepted": i.accepted,
            "anomalies": i.anomalies.map(anomaly), "warnings": i.warnings.map(anomaly),
        ]
        let f = i.facts
        let optional: [(String, String?)] = [
            ("number", f.number), ("issue_date", f.issueDate), ("type_code", f.typeCode), ("currency", f.currency),
            ("seller", f.seller?.description), ("buyer", f.buyer?.description), ("total_without_vat", f.totalWithoutVAT),
            ("total_vat", f.totalVAT), ("total_with_vat", f.totalWithVAT), ("profile", f.profile), ("container", f.container),
        ]
        for (k, v) in optional { if let v { o[k] = v } }
        if let l = f.lifecycle {
            o["lifecycle"] = l.map { s -> [String: Any] in
                ["invoice_number": s.invoiceNumber ?? NSNull(), "status": s.code ?? NSNull(), "label": s.label ?? NSNull(), "reasons": s.reasons]
            }
        }
        return text(o)
    }

    static func text(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
