import ArgumentParser
import FluxCore
import FluxInvoice
import FluxStore
import Foundation

func printJSON<T: Encodable>(_ v: T) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    enc.keyEncodingStrategy = .convertToSnakeCase
    print(String(decoding: try enc.encode(v), as: UTF8.self))
}

func runQueueOp(_ body: () throws -> Void) throws {
    do { try body() } catch let e as FluxError {
        FileHandle.standardError.write(Data("\(e)\n".utf8))
        throw ExitCode(1)
    }
}

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue", abstract: "The processing queue of sealed batches.",
                                                    subcommands: [List.self, Claim.self, Fetch.self, Ack.self, Nack.self])

    struct List: ParsableCommand {
        @OptionGroup var options: ConfigOption
        @Option(name: .long, help: "open, ready, claimed or acked.") var status: String?
        func run() throws { try printJSON(try options.store(try options.load()).listBatches(status: status)) }
    }

    struct Claim: ParsableCommand {
        @OptionGroup var options: ConfigOption
        @Option(name: .long) var max: Int = 1
        @Option(name: .long, help: "Lease in seconds.") var lease: Double = 300
        @Option(name: .long) var consumer: String = "cli"
        func run() throws {
            guard (1...1000).contains(max), lease > 0 else { throw ValidationError("--max must be 1...1000 and --lease positive") }
            try printJSON(try options.store(try options.load()).claim(max: max, lease: lease, consumer: consumer))
        }
    }

    struct Fetch: ParsableCommand {
        @OptionGroup var options: ConfigOption
        @Argument var id: String
        @Option(name: .long, help: "Directory to write <id>.tar.gz into.") var out: String
        func run() throws {
            let c = try options.load()
            try runQueueOp {
                let content = try options.store(c).batchContent(batchID: id)
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                let path = (out as NSString).appendingPathComponent("\(id).tar.gz")
                try BatchArchiveWriter.write(content, spool: try Spool(root: c.spoolDir), to: path)
                print(path)
            }
        }
    }

    struct Ack: ParsableCommand {
        @OptionGroup var options: ConfigOption
        @Argument var id: String
        func run() throws { try runQueueOp { try printJSON(try options.store(try options.load()).ack(batchID: id)) } }
    }

    struct Nack: ParsableCommand {
        @OptionGroup var options: ConfigOption
        @Argument var id: String
        func run() throws { try runQueueOp { try printJSON(try options.store(try options.load()).nack(batchID: id)) } }
    }
}

struct PartnersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "partners", abstract: "The partner file.", subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        @OptionGroup var options: ConfigOption
        func run() throws {
            let c = try options.load()
            let file = (try? options.store(c).partnerFile()) ?? []
            for p in c.partners {
                let f = file.first { $0.id == p.id }
                print("\(p.id)\t\(p.name)\tSIREN \(p.siren ?? "-")\troles \(p.roles.joined(separator: ","))\tfirst exchange \(f?.firstExchangeAt ?? "-")")
            }
            for f in file where !c.partners.contains(where: { $0.id == f.id }) {
                print("\(f.id)\t\(f.name)\tSIREN \(f.siren ?? "-")\texited \(f.exitAt ?? "-")")
            }
        }
    }

    struct Show: ParsableCommand {
        @OptionGroup var options: ConfigOption
        @Argument var id: String
        func run() throws {
            let c = try options.load()
            guard let entry = try options.store(c).partnerFile().first(where: { $0.id == id }) else {
                FileHandle.standardError.write(Data("no partner \(id) in the partner file\n".utf8))
                throw ExitCode(1)
            }
            try printJSON(entry)
        }
    }
}

struct InvoiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "invoice", abstract: "Stored invoices.", subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An accepted or rejected invoice in plain language.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Invoice id or invoice number.") var id: String

        func run() throws {
            let c = try options.load()
            guard let r = try options.store(c).invoice(id: id) else {
                FileHandle.standardError.write(Data("no invoice \(id)\n".utf8))
                throw ExitCode(1)
            }
            // The original is re-read from the spool: what is shown is what was received.
            let original = try? Spool(root: c.spoolDir).path(for: r.sha256)
            if let path = original, let data = FileManager.default.contents(atPath: path),
               case .success(let item) = FluxInspector().understandFile(name: r.memberName, data: data), let model = item.model {
                print(InvoiceRenderer.render(model, anomalies: r.anomalies, status: r.status))
            } else {
                print("""
                    Invoice \(r.number ?? "(no number)") — \(r.status)
                      issued \(r.issueDate ?? "?"), type \(r.typeCode ?? "?"), syntax \(r.syntax)
                      seller \(r.sellerName ?? "?") (\(r.seller ?? "?"))
                      buyer  \(r.buyerName ?? "?") (\(r.buyer ?? "?"))
                      total without VAT \(r.totalWithoutVAT ?? "?") \(r.currency ?? ""), VAT \(r.totalVAT ?? "?"), total with VAT \(r.totalWithVAT ?? "?") \(r.currency ?? "")
                      (the original is not readable in the spool: only the recorded terms are shown)
                    """)
                for a in r.anomalies { print("  anomaly: \(a)") }
            }
            print("""

                Received from \(r.company) in message \(r.messageID) as \(r.memberName)
                  original sha256 \(r.sha256) (\(r.size) bytes), batch \(r.batchID ?? "none")
                """)
        }
    }
}
