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
    static let configuration = CommandConfiguration(abstract: "Detect and check invoice files offline.")
    @Flag(name: .long, help: "One JSON object per file.") var json = false
    @Argument(help: "Files to check (XML, tar.gz, zip).") var files: [String]

    func run() throws {
        let inspector = FluxInspector()
        var failed = false
        for f in files {
            let report = inspector.inspect(path: f, fileName: (f as NSString).lastPathComponent)
            var rules = report.fluxAnomalies.map(\.rule)
            for i in report.items { rules += i.anomalies.map(\.rule) }
            var seen = Set<String>()
            rules = rules.filter { seen.insert($0).inserted }
            if !rules.isEmpty { failed = true }
            if json {
                let obj: [String: Any] = [
                    "path": f, "ok": rules.isEmpty, "format": report.format, "rules": rules,
                    "flux_anomalies": report.fluxAnomalies.map { ["rule": $0.rule, "reason": $0.reasonCode, "message": $0.message] },
                    "items": report.items.map { i in [
                        "name": i.name, "syntax": i.facts.syntax.rawValue, "number": i.facts.number ?? NSNull(),
                        "issue_date": i.facts.issueDate ?? NSNull(), "seller": i.facts.seller?.description ?? NSNull(),
                        "buyer": i.facts.buyer?.description ?? NSNull(), "total_with_vat": i.facts.totalWithVAT ?? NSNull(),
                        "currency": i.facts.currency ?? NSNull(),
                        "anomalies": i.anomalies.map { ["rule": $0.rule, "reason": $0.reasonCode, "message": $0.message] },
                    ] as [String: Any] },
                ]
                let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(rules.isEmpty ? "\(f): OK" : "\(f): FAIL \(rules.joined(separator: ","))")
            }
        }
        if failed { throw ExitCode(1) }
    }
}
