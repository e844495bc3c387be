import Foundation

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

struct ToolFailure: Error, CustomStringConvertible {
    var command: String
    var status: Int32
    var stderr: String
    var description: String { "\(command) exited \(status): \(stderr)" }
}

/// Runs an external tool (tar, python3) in `directory`; throws when it exits non-zero.
/// Output goes to temporary files, so a chatty child can never block on a full pipe.
@discardableResult
func run(_ executable: String, _ arguments: [String], in directory: URL) throws -> Data {
    let tmp = FileManager.default.temporaryDirectory
    let outURL = tmp.appendingPathComponent("flux-tool-out-\(UUID().uuidString)")
    let errURL = tmp.appendingPathComponent("flux-tool-err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    defer { try? out.close(); try? err.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let output = (try? Data(contentsOf: outURL)) ?? Data()
    guard process.terminationStatus == 0 else {
        let stderr = (try? Data(contentsOf: errURL)) ?? Data()
        throw ToolFailure(command: ([executable] + arguments).joined(separator: " "), status: process.terminationStatus,
                          stderr: String(decoding: stderr, as: UTF8.self))
    }
    return output
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
