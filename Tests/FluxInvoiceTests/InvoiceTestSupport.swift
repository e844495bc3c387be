import Foundation
import FluxTestSupport

/// The shared official test corpus (`/work/shared/corpus`, or `$FLUX_CORPUS`).
enum Corpus {
    static let root: String = ProcessInfo.processInfo.environment["FLUX_CORPUS"] ?? "/work/shared/corpus"

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func data(_ relative: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path(relative)))
    }

    /// Regular files of a corpus folder (not recursive), sorted, filtered by a name predicate.
    static func files(_ relative: String, where keep: (String) -> Bool = { _ in true }) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path(relative))
            .filter(keep)
            .sorted()
            .map { path(relative) + "/" + $0 }
    }

    static let frCII = "invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml"
    static let frUBL = "invoices/fr-generated/FR-UBL-EN16931-B2B-simple.xml"
}

/// A fresh directory under the system temporary directory, removed when the body returns.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("flux-invoice-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}


/// Runs a Python 3 script (standard library only) with `arguments` in `directory`.
@discardableResult
func python(_ script: String, _ arguments: [String] = [], in directory: URL) throws -> Data {
    try run("/usr/bin/python3", ["-c", script] + arguments, in: directory)
}

/// Copies corpus files into `directory` under the given names.
func stage(_ files: [(corpus: String, name: String)], in directory: URL) throws {
    for f in files {
        let dest = directory.appendingPathComponent(f.name)
        try FileManager.default.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Corpus.data(f.corpus).write(to: dest)
    }
}
