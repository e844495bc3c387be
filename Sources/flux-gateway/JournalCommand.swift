import ArgumentParser
import FluxStore
import Foundation

struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "journal", abstract: "The sequential journal of every message sent and received.",
                                                    subcommands: [Tail.self, Verify.self, Export.self])

    struct Tail: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the latest entries; -f follows new ones.")
        @OptionGroup var options: ConfigOption
        @Flag(name: .shortAndLong, help: "Keep printing new entries.") var follow = false
        @Option(name: .long, help: "Only this company (partner id).") var company: String?
        @Flag(name: .long, help: "One JSON object per line.") var json = false
        @Option(name: .short, help: "How many entries to show first.") var n: Int = 20

        func run() throws {
            let store = try options.store(try options.load())
            var last: [String: Int64] = [:]
            var entries = try store.journalEntries(company: company, last: n)
            while true {
                for e in entries {
                    print(json ? JournalFormat.json(e) : JournalFormat.line(e))
                    last[e.company] = max(last[e.company] ?? 0, e.seq)
                }
                fflush(nil)
                if !follow { return }
                Thread.sleep(forTimeInterval: 0.5)
                if last.isEmpty {
                    entries = try store.journalEntries(company: company)
                } else {
                    let all = try store.journalEntries(company: company, afterSeq: last)
                    entries = all
                    // companies seen for the first time start from their beginning
                }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every hash chain; exit 1 naming the first bad entry.")
        @OptionGroup var options: ConfigOption
        @Option(name: .long, help: "Only this company.") var company: String?

        func run() throws {
            let store = try options.store(try options.load())
            let (checked, breaks) = try store.verifyJournal(company: company)
            if breaks.isEmpty {
                print("journal OK: \(checked) entries verified")
                return
            }
            for b in breaks { print("journal BROKEN: \(b)") }
            throw ExitCode(1)
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export a company's journal in plain language for an auditor.")
        @OptionGroup var options: ConfigOption
        @Option(name: .long) var company: String
        @Option(name: .long, help: "From this date (YYYY-MM-DD, inclusive).") var from: String?
        @Option(name: .long, help: "To this date (YYYY-MM-DD, exclusive).") var to: String?
        @Option(name: .long, help: "csv or json.") var format: String = "csv"

        func run() throws {
            guard format == "csv" || format == "json" else { throw ValidationError("--format must be csv or json") }
            let store = try options.store(try options.load())
            let entries = try store.journalEntries(company: company, from: from, to: to)
            if format == "json" {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                enc.keyEncodingStrategy = .convertToSnakeCase
                print(String(decoding: try enc.encode(entries), as: UTF8.self))
                return
            }
            print(JournalFormat.csvHeader)
            for e in entries { print(JournalFormat.csv(e)) }
        }
    }
}

enum JournalFormat {
    static func line(_ e: JournalEntry) -> String {
        var s = "\(e.at) \(e.company) #\(e.seq) \(e.direction) \(e.channel) \(e.kind) \(e.status) \(e.fileName)"
        if let n = e.invoiceNumber { s += " invoice=\(n)" }
        if let d = e.invoiceDate { s += " date=\(d)" }
        if let a = e.amountWithVAT { s += " total=\(a)\(e.currency.map { " " + $0 } ?? "")" }
        if !e.anomalies.isEmpty { s += " anomalies=\"\(e.anomalies.joined(separator: "; "))\"" }
        if let d = e.detail { s += " detail=\"\(d)\"" }
        return s
    }

    static func json(_ e: JournalEntry) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        enc.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? enc.encode(e)) ?? Data(), as: UTF8.self)
    }

    static let csvHeader = "sequence,date_time,direction,channel,kind,message_id,file_name,sha256,size,invoice_number,invoice_date,amount_without_vat,amount_with_vat,currency,sender_code,sender_name,sender_siren,sender_address,sender_role,receiver_code,receiver_name,receiver_siren,receiver_address,receiver_role,software,status,anomalies,detail,hash"

    static func csv(_ e: JournalEntry) -> String {
        let fields: [String?] = [String(e.seq), e.at, e.direction, e.channel, e.kind, e.messageID, e.fileName, e.sha256, String(e.size),
                                 e.invoiceNumber, e.invoiceDate, e.amountWithoutVAT, e.amountWithVAT, e.currency,
                                 e.sender.code, e.sender.name, e.sender.siren, e.sender.address, e.sender.role,
                                 e.receiver.code, e.receiver.name, e.receiver.siren, e.receiver.address, e.receiver.role,
                                 e.software, e.status, e.anomalies.joined(separator: "; "), e.detail, e.hash]
        return fields.map { f in
            let v = f ?? ""
            return v.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) ? "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : v
        }.joined(separator: ",")
    }
}
