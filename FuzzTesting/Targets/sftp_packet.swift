// Fuzz target: the SFTP v3 layer of the embedded server (Sources/FluxSFTP, SFTP*.swift only: no
// libssh). The input is the byte stream a client sends on the "sftp" subsystem channel; it is
// fed to a fresh SFTPSession serving a real SFTPChrootFileSystem (inbox / outbox / staging
// under a scratch directory in /dev/shm), cut into chunks at points derived from the input, as
// the SSH layer delivers them. If the input does not start with SSH_FXP_INIT, one is sent first
// so that mutations are spent on requests.
//
// Handles are random 64-bit keys on the wire, which a fuzzer cannot guess, so the input refers to
// them by placeholder: the 16 bytes "FUZZ-HANDLE-000k" are replaced by the k-th handle the
// session has returned so far (modulo their number), just before the packet holding them is fed.
// The stream is cut at the packet boundaries its length fields claim, and each packet into
// random pieces; replies are read after every piece, so a WRITE can use the handle its OPEN got.
//
// Checked besides memory safety: the reply stream is a sequence of well-formed packets, the
// split-packet buffer never exceeds maxPacket + 4, open handles stay within maxOpenHandles,
// a closed session leaves no staging file behind, and an error is always SFTPProtocolError
// and is final.
import Foundation
@testable import FluxSFTP

/// Accepts uploads (deleting the staging file, as the gateway moves it away), but refuses names
/// containing "reject" so that the refusal path runs too.
final class FuzzUploadHandler: SFTPUploadHandler {
    func uploadCompleted(stagingPath: String, name: String) -> String? {
        unlink(stagingPath)
        return name.contains("reject") ? "refused by the fuzz handler" : nil
    }
    func uploadAborted(name: String, bytes: Int64) {}
    func event(_ what: String, path: String, detail: String?) {}
}

let sftpLimits = SFTPLimits(maxPacket: 40_000, maxReadLength: 4096, maxOpenHandles: 8, maxReaddirBatch: 4,
                            maxReplyBytesPerReceive: 1 << 20)
let sftpQuota = SFTPQuota(maxFileBytes: 256 * 1024, maxPendingBytes: 1 << 20, maxPendingFiles: 4, minFreeDiskBytes: 0)
let sftpRoot: String = {
    let root = fuzzScratchDirectory("sftp")
    for d in ["inbox", "outbox", "staging"] { mkdir(root + "/" + d, 0o700) }
    return root
}()
let outboxFiles: [(String, String)] = [
    ("R1.cdar.xml", "<rsm:CrossDomainAcknowledgementAndResponse/>\n"),
    ("invoice-42.0001.cdar.xml.p7s", String(repeating: "p7s", count: 700)),
]

/// Puts the outbox back as it was (the fuzzer may delete receipts) so every input starts alike.
func resetOutbox() {
    for (name, content) in outboxFiles {
        let path = sftpRoot + "/outbox/" + name
        if access(path, F_OK) != 0 { _ = FileManager.default.createFile(atPath: path, contents: Data(content.utf8)) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSFTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    var rng = FuzzRNG(seed: fuzzHash(input))
    resetOutbox()
    let fs = SFTPChrootFileSystem(
        inbox: sftpRoot + "/inbox", outbox: sftpRoot + "/outbox", staging: sftpRoot + "/staging",
        quota: sftpQuota, uploads: FuzzUploadHandler(), freeSpace: { _ in 1 << 40 })
    let session = SFTPSession(fileSystem: fs, limits: sftpLimits)

    let startsWithInit = input.count >= 5 && input[4] == 1
    if !startsWithInit {
        let initPacket: [UInt8] = [0, 0, 0, 5, 1, 0, 0, 0, 3]
        let reply = (try? session.receive(initPacket)) ?? []
        var none: [[UInt8]] = []
        fuzzCheck(checkReplies(reply, handles: &none) == 1, "INIT was not answered with one VERSION packet")
    }
    var handles: [[UInt8]] = []
    stream: for var frame in frames(input) {
        substituteHandles(&frame, handles)
        for piece in fuzzChunks(frame, rng: &rng, maxPiece: 512) {
            do {
                let reply = try session.receive(Array(piece))
                checkReplies(reply, handles: &handles)
            } catch let e as SFTPProtocolError {
                // Errors are final: the next call throws again, and nothing stays buffered.
                fuzzCheck(session.bufferedByteCount == 0, "bytes stay buffered after \(e)")
                fuzzCheck((try? session.receive([0, 0, 0, 1, 200])) == nil, "the session went on after \(e)")
                break stream
            } catch {
                fuzzCheck(false, "receive threw \(type(of: error)): \(error)")
            }
            fuzzCheck(session.bufferedByteCount <= sftpLimits.maxPacket + 4, "\(session.bufferedByteCount) bytes buffered")
            fuzzCheck(session.openHandleCount <= sftpLimits.maxOpenHandles, "\(session.openHandleCount) handles open")
        }
    }
    session.close()
    session.close()  // idempotent
    let left = (try? FileManager.default.contentsOfDirectory(atPath: sftpRoot + "/staging")) ?? []
    fuzzCheck(left.isEmpty, "staging files left behind after close: \(left)")
    // The handler never moves anything into the inbox, and the layer must not write there.
    let inbox = (try? FileManager.default.contentsOfDirectory(atPath: sftpRoot + "/inbox")) ?? []
    fuzzCheck(inbox.isEmpty, "files appeared in the inbox directory: \(inbox)")
    return 0
}

/// The input cut where its own length fields say packets end (the rest in one piece when a length
/// runs past the end).
func frames(_ input: [UInt8]) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var i = 0
    while i < input.count {
        var end = input.count
        if input.count - i >= 4 {
            let len = Int(input[i..<(i + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            if len <= input.count - i - 4 { end = i + 4 + len }
        }
        out.append(Array(input[i..<end]))
        i = end
    }
    return out
}

let placeholder = Array("FUZZ-HANDLE-000".utf8)
/// FUZZ_DEBUG=1 prints every reply (for replaying one input by hand).
let sftpDebug = ProcessInfo.processInfo.environment["FUZZ_DEBUG"] != nil

/// Replaces each "FUZZ-HANDLE-000k" by a handle the session returned (k-th, modulo their count).
func substituteHandles(_ frame: inout [UInt8], _ handles: [[UInt8]]) {
    guard !handles.isEmpty, frame.count >= 16 else { return }
    var i = 0
    while i + 16 <= frame.count {
        if frame[i] == placeholder[0], frame[i..<(i + 15)].elementsEqual(placeholder) {
            let h = handles[Int(frame[i + 15] &- 0x30) % handles.count]
            if h.count == 16 { frame.replaceSubrange(i..<(i + 16), with: h) }
            i += 16
        } else {
            i += 1
        }
    }
}

/// Splits a reply stream into packets; crashes if it is not exactly a sequence of packets.
/// Collects the handles of HANDLE replies. Returns the number of packets.
@discardableResult
func checkReplies(_ bytes: [UInt8], handles: inout [[UInt8]]) -> Int {
    var i = 0
    var count = 0
    while i < bytes.count {
        fuzzCheck(i + 5 <= bytes.count, "dangling reply bytes")
        let len = Int(bytes[i..<(i + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        fuzzCheck(len >= 1 && i + 4 + len <= bytes.count, "truncated reply packet")
        fuzzCheck(len <= SFTPWire.openSSHMessageCeiling, "reply packet of \(len) bytes over OpenSSH's ceiling")
        let type = bytes[i + 4]
        fuzzCheck([2, 101, 102, 103, 104, 105, 201].contains(type), "reply of type \(type)")
        if sftpDebug {
            let id = len >= 5 ? bytes[(i + 5)..<(i + 9)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } : 0
            let code = type == 101 && len >= 9 ? bytes[(i + 9)..<(i + 13)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } : 0
            let text = type == 101 && len >= 13 ? String(decoding: bytes[(i + 17)..<(i + 4 + len)], as: UTF8.self) : ""
            print("reply type \(type) id \(id)" + (type == 101 ? " status \(code) \(text)" : ""))
        }
        if type == 102 {
            fuzzCheck(len == 1 + 4 + 4 + 16, "a HANDLE reply of \(len) bytes")
            handles.append(Array(bytes[(i + 13)..<(i + 29)]))
            if handles.count > 8 { handles.removeFirst() }
        }
        i += 4 + len
        count += 1
    }
    return count
}
