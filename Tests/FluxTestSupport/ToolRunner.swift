import Foundation

/// The failure of an external tool run by a test: command, exit status and standard error.
public struct ToolFailure: Error, CustomStringConvertible {
    public var command: String
    public var status: Int32
    public var stderr: String
    public var description: String { "\(command) exited \(status): \(stderr)" }
}

/// Runs an external tool (tar, python3) in `directory`; throws when it exits non-zero.
/// Output goes to temporary files, so a chatty child can never block on a full pipe.
@discardableResult
public func run(_ executable: String, _ arguments: [String], in directory: URL) throws -> Data {
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
