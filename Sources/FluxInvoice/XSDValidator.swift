import CFluxShims
import FluxCore
import Foundation
import Synchronization

/// XSD validation with libxml2 against schemas in a configured directory laid out like the
/// shared corpus (`ubl-2.1/maindoc/…`, `cii-d16b-uncoupled/…`, `cdar-d22b-uncoupled/…`).
///
/// Compiled schemas are loaded once per process and shared read-only between threads (each
/// validation gets its own context). Imports can only come from local files.
public final class XSDValidator: Sendable {
    /// Paths relative to the schema directory, per syntax. CII uses D16B, the EN 16931 binding.
    public static let layout: [InvoiceSyntax: String] = [
        .ublInvoice: "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
        .ublCreditNote: "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
        .cii: "cii-d16b-uncoupled/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd",
        .cdar: "cdar-d22b-uncoupled/CrossDomainAcknowledgementAndResponse_100pD22B.xsd",
    ]

    public let directory: String
    /// Owned compiled schemas (xmlSchemaPtr as raw addresses: freed in deinit, never mutated).
    private let schemas: Mutex<[InvoiceSyntax: UInt]> = Mutex([:])
    private let failures: Mutex<[InvoiceSyntax: String]> = Mutex([:])

    public init(directory: String) {
        self.directory = directory
    }

    deinit {
        for (_, p) in schemas.withLock({ $0 }) { flux_xml_schema_free(UnsafeMutableRawPointer(bitPattern: p)) }
    }

    /// Checks that every schema of the layout exists and compiles; returns the problems.
    public func preload() -> [String] {
        InvoiceSyntax.allCases.compactMap { syntax -> String? in
            do throws(FluxError) { _ = try schema(for: syntax); return nil } catch { return error.message }
        }
    }

    /// Validates a parsed document; returns the findings (empty when valid).
    public func validate(_ doc: XMLDoc, syntax: InvoiceSyntax) -> [Anomaly] {
        let schema: UnsafeMutableRawPointer
        do { schema = try self.schema(for: syntax) } catch {
            return [Anomaly(rule: "XSD", reasonCode: "REJ_SEMAN", message: "XSD validation unavailable: \(error.message)")]
        }
        var buf = [CChar](repeating: 0, count: 4096)
        let r = flux_xml_schema_validate(schema, UnsafeMutableRawPointer(doc.doc), &buf, Int32(buf.count), 5)
        if r == 0 { return [] }
        let text = String(cString: buf)
        let lines = text.isEmpty ? ["the document does not match the schema"] : text.split(separator: "\n").map(String.init)
        return lines.map { Anomaly(rule: "XSD", reasonCode: "REJ_SEMAN", message: "XSD (\(Self.layout[syntax] ?? "")): \($0)") }
    }

    private func schema(for syntax: InvoiceSyntax) throws(FluxError) -> UnsafeMutableRawPointer {
        if let p = schemas.withLock({ $0[syntax] }) { return UnsafeMutableRawPointer(bitPattern: p)! }
        if let f = failures.withLock({ $0[syntax] }) { throw FluxError("xsd-load", f) }
        guard let rel = Self.layout[syntax] else { throw FluxError("xsd-load", "no schema for \(syntax.rawValue)") }
        let path = (directory as NSString).appendingPathComponent(rel)
        guard FileManager.default.fileExists(atPath: path) else {
            let msg = "schema \(path) is missing"
            failures.withLock { $0[syntax] = msg }
            throw FluxError("xsd-load", msg)
        }
        var buf = [CChar](repeating: 0, count: 2048)
        guard let s = flux_xml_schema_load(path, &buf, Int32(buf.count)) else {
            let msg = "schema \(path) does not compile: \(String(cString: buf))"
            failures.withLock { $0[syntax] = msg }
            throw FluxError("xsd-load", msg)
        }
        // Two threads may compile the same schema at once; keep one, free the other.
        let kept = schemas.withLock { d -> UInt in
            if let existing = d[syntax] { return existing }
            d[syntax] = UInt(bitPattern: s)
            return UInt(bitPattern: s)
        }
        if kept != UInt(bitPattern: s) { flux_xml_schema_free(s) }
        return UnsafeMutableRawPointer(bitPattern: kept)!
    }
}
