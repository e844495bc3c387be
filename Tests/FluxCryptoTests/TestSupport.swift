import Foundation
import FluxCrypto
import Testing

/// Runs `body` with a fresh directory under the system temporary directory, removed afterwards.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("flux-crypto-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// Result of running the reference `openssl` command line tool.
struct ToolResult {
    var status: Int32
    var stderr: String
}

/// Runs /usr/bin/openssl with `arguments` in `directory`: an independent implementation to check
/// our output against, not just our own verifier.
func openssl(_ arguments: [String], in directory: URL) throws -> ToolResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain before waiting so a chatty child cannot block on a full pipe.
    let stderr = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ToolResult(status: process.terminationStatus, stderr: String(decoding: stderr, as: UTF8.self))
}

/// Runs /usr/bin/openssl like `openssl(_:in:)` and requires it to succeed.
@discardableResult
func mustRunOpenSSL(_ arguments: [String], in directory: URL, sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
    let result = try openssl(arguments, in: directory)
    try #require(result.status == 0, "openssl \(arguments.joined(separator: " ")): \(result.stderr)", sourceLocation: sourceLocation)
    return result
}

extension URL {
    /// The file `name` in this directory.
    func file(_ name: String) -> URL { appendingPathComponent(name) }
}

/// Reads the file `name` in `directory`.
func contents(of name: String, in directory: URL) throws -> Data {
    try Data(contentsOf: directory.file(name))
}

/// An RSA-2048 key and its self-signed certificate, shared by the CMS suites (key generation is
/// the slow part, so there are three for the whole run).
struct TestIdentity: Sendable {
    let key: PrivateKey
    let certificate: Certificate

    var decryptionKey: DecryptionKey { DecryptionKey(key: key, certificate: certificate) }

    /// Writes `<name>.key.pem` and `<name>.cert.pem` into `directory` for the openssl command.
    func write(to directory: URL, as name: String) throws {
        try key.pemData().write(to: directory.file("\(name).key.pem"))
        try certificate.pemData().write(to: directory.file("\(name).cert.pem"))
    }

    static let alice = make("Alice AS2")
    static let bob = make("Bob AS2")
    static let carol = make("Carol AS2")

    private static func make(_ commonName: String) -> TestIdentity {
        do {
            let key = try PrivateKey.generateRSA()
            let certificate = try Certificate.selfSigned(key: key, commonName: commonName, organization: "Flux Tests", days: 30)
            return TestIdentity(key: key, certificate: certificate)
        } catch {
            fatalError("test identity \(commonName): \(error)")
        }
    }
}
