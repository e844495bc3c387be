// Shared by every fuzz target (compiled into each binary next to the target's own file).
import Foundation

/// The fuzzer's input as an array (libFuzzer passes NULL with size 0 for the empty input).
func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// FNV-1a: a cheap hash of the input, so that choices derived from it (split points, names)
/// are the same every time the same input is replayed.
func fuzzHash(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes {
        h ^= UInt64(b)
        h = h &* 0x0000_0100_0000_01B3
    }
    return h
}

/// SplitMix64, seeded from the input: deterministic "random" split points.
struct FuzzRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Cuts `bytes` into consecutive chunks: whole, or pieces of 1...maxPiece bytes chosen by `rng`
/// (small pieces most of the time, so every state of a byte-at-a-time reader gets a turn).
func fuzzChunks(_ bytes: [UInt8], rng: inout FuzzRNG, maxPiece: Int = 64) -> [ArraySlice<UInt8>] {
    if rng.below(4) == 0 { return [bytes[...]] }
    var out: [ArraySlice<UInt8>] = []
    var i = 0
    while i < bytes.count {
        let cap = rng.below(8) == 0 ? bytes.count - i : min(maxPiece, bytes.count - i)
        let n = 1 + rng.below(cap)
        out.append(bytes[i..<(i + n)])
        i += n
    }
    return out
}

/// A property the code under test promises was broken: this is a finding, not a harness error,
/// so it crashes like any other bug (libFuzzer keeps the input).
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #file, line: UInt = #line) {
    if !condition { fatalError("fuzz invariant violated: \(message())", file: file, line: line) }
}

/// A private scratch directory for the process, created on first use: under $FUZZ_SCRATCH (which
/// FuzzTesting/run creates in /dev/shm and removes afterwards, also after a crash), else under
/// /dev/shm when available (a target that writes files per input would otherwise wear a disk).
func fuzzScratchDirectory(_ tag: String) -> String {
    let env = ProcessInfo.processInfo.environment["FUZZ_SCRATCH"].flatMap { $0.isEmpty ? nil : $0 }
    let base = env ?? (FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
    var template = Array("\(base)/flux-fuzz-\(tag)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed under \(base)")
    let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // Best effort: the directory goes away with the process when the run ends normally.
    fuzzCleanupPaths.append(path)
    if fuzzCleanupPaths.count == 1 { atexit { for p in fuzzCleanupPaths { try? FileManager.default.removeItem(atPath: p) } } }
    return path
}

nonisolated(unsafe) var fuzzCleanupPaths: [String] = []
