import FluxCrypto
import Foundation
import Testing

/// A Python with pyas2lib (the AS2 library under django-pyas2, built on asn1crypto and
/// oscrypto): `$FLUX_PYTHON`, else the repository's `.venv/bin/python`. Nil when neither can
/// import it, and the interop suite is then skipped.
enum PyAS2Lib {
    static let python: String? = {
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment["FLUX_PYTHON"], !configured.isEmpty {
            candidates.append(configured)
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".venv/bin/python").path)
        return candidates.first { path in
            guard FileManager.default.isExecutableFile(atPath: path) else { return false }
            return (try? runPython(path, ["-c", "import pyas2lib.cms, oscrypto.asymmetric"], in: FileManager.default.temporaryDirectory)) == 0
        }
    }()

    /// Runs `python` with `arguments` in `directory`; returns the exit status. Output goes to
    /// files in `directory` (never a pipe that could fill up).
    @discardableResult
    static func runPython(_ python: String, _ arguments: [String], in directory: URL) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = directory.appendingPathComponent("python-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        let handle = try FileHandle(forWritingTo: errors)
        defer { try? handle.close() }
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// For each `*.job` file (a JSON array: operation and arguments), writes `<name>.out` or
    /// `<name>.err`. Keys: alice.key.pem / alice.cert.pem in the working directory.
    static let script = #"""
        import json, glob, sys, traceback
        from oscrypto import asymmetric
        from pyas2lib import cms
        key = asymmetric.load_private_key(open("alice.key.pem", "rb").read())
        cert = asymmetric.load_certificate(open("alice.cert.pem", "rb").read())
        for job in sorted(glob.glob("*.job")):
            name = job[:-4]
            op, *args = json.load(open(job))
            try:
                if op == "encrypt":
                    out = cms.encrypt_message(open(args[0], "rb").read(), args[1], cert, args[2])
                elif op == "decrypt":
                    out = cms.decrypt_message(open(args[0], "rb").read(), (key, cert))[1]
                elif op == "sign":
                    out = cms.sign_message(open(args[0], "rb").read(), args[1], (key, cert), args[2], args[3] == "attrs")
                elif op == "verify":
                    out = cms.verify_message(open(args[0], "rb").read(), open(args[1], "rb").read(), cert).encode()
                elif op == "compress":
                    out = cms.compress_message(open(args[0], "rb").read())
                elif op == "decompress":
                    out = cms.decompress_message(open(args[0], "rb").read())
                open(name + ".out", "wb").write(out)
            except Exception:
                open(name + ".err", "w").write(traceback.format_exc())
        """#
}

@Suite(.enabled(if: PyAS2Lib.python != nil, "needs a Python with pyas2lib: set FLUX_PYTHON or create .venv"))
struct PyAS2LibInteropTests {
    let alice = TestIdentity.alice

    /// Writes the jobs, runs the script once, returns each job's output (or fails with its error).
    private func run(_ jobs: [String: [String]], in dir: URL) throws -> [String: Data] {
        try alice.write(to: dir, as: "alice")
        try PyAS2Lib.script.write(to: dir.file("interop.py"), atomically: true, encoding: .utf8)
        for (name, job) in jobs {
            try JSONSerialization.data(withJSONObject: job).write(to: dir.file("\(name).job"))
        }
        let python = try #require(PyAS2Lib.python)
        #expect(try PyAS2Lib.runPython(python, ["interop.py"], in: dir) == 0)
        var outputs: [String: Data] = [:]
        for name in jobs.keys {
            if let error = try? String(contentsOf: dir.file("\(name).err"), encoding: .utf8) {
                Issue.record("pyas2lib \(name): \(error)")
            } else {
                outputs[name] = try contents(of: "\(name).out", in: dir)
            }
        }
        return outputs
    }

    @Test func weReadWhatPyAS2LibWrites() throws {
        try withTemporaryDirectory { dir in
            try sampleContent.write(to: dir.file("content"))
            var jobs: [String: [String]] = ["compressed": ["compress", "content"]]
            let ciphers = ["tripledes_192_cbc": "des-ede3-cbc", "aes_128_cbc": "aes-128-cbc",
                           "aes_192_cbc": "aes-192-cbc", "aes_256_cbc": "aes-256-cbc"]
            for cipher in ciphers.keys {
                for keyTransport in ["rsaes_pkcs1v15", "rsaes_oaep"] {
                    jobs["enc-\(cipher)-\(keyTransport)"] = ["encrypt", "content", cipher, keyTransport]
                }
            }
            for digest in DigestAlgorithm.allCases {
                for signature in ["rsassa_pkcs1v15", "rsassa_pss"] {
                    for attributes in ["attrs", "noattrs"] {
                        jobs["sig-\(digest)-\(attributes)-\(signature)"] = ["sign", "content", digest.rawValue, signature, attributes]
                    }
                }
            }
            let outputs = try run(jobs, in: dir)

            #expect(try CMSCompression.decompress(der: #require(outputs["compressed"]), maxOutput: 1 << 20) == sampleContent)
            for (name, output) in outputs where name.hasPrefix("enc-") {
                // pyas2lib writes OAEP without parameters: our decryptor supplies the default.
                let opened = try CMSDecryptor.decrypt(der: output, keys: [alice.decryptionKey])
                #expect(opened.content == sampleContent, "\(name)")
                #expect(opened.cipher == ciphers[name.split(separator: "-")[1].description], "\(name)")
                #expect(opened.keyTransport == (name.hasSuffix("oaep") ? "rsaes-oaep" : "rsaes-pkcs1-v1_5"), "\(name)")
            }
            for (name, output) in outputs where name.hasPrefix("sig-") {
                // pyas2lib writes PSS without parameters: our verifier derives them from the digest.
                let info = try CMSVerifier.verifyDetached(signature: output, content: sampleContent, trusted: [alice.certificate])
                #expect(name.hasPrefix("sig-\(info.digest.rawValue)-"), "\(name)")
                #expect(info.signatureAlgorithm == (name.hasSuffix("pss") ? "rsassa-pss" : "rsa-pkcs1-v1_5"), "\(name)")
            }
            #expect(outputs.count == jobs.count)
        }
    }

    @Test func pyAS2LibReadsWhatWeWrite() throws {
        try withTemporaryDirectory { dir in
            try sampleContent.write(to: dir.file("content"))
            var jobs: [String: [String]] = [:]
            try CMSCompression.compress(sampleContent).write(to: dir.file("compressed.der"))
            jobs["decompressed"] = ["decompress", "compressed.der"]
            // pyas2lib reads EnvelopedData only (no AES-GCM), and OAEP with SHA-1.
            for cipher in ["des-ede3-cbc", "aes-128-cbc", "aes-192-cbc", "aes-256-cbc"] {
                for oaep in [false, true] {
                    let name = "dec-\(cipher)-\(oaep)"
                    try CMSEncryptor.encrypt(sampleContent, for: alice.certificate, cipher: cipher, oaep: oaep).write(to: dir.file("\(name).der"))
                    jobs[name] = ["decrypt", "\(name).der"]
                }
            }
            let signer = CMSSigner(key: alice.key, certificate: alice.certificate)
            for digest in DigestAlgorithm.allCases {
                try signer.signDetached(sampleContent, digest: digest).write(to: dir.file("\(digest).p7s"))
                jobs["verify-\(digest)"] = ["verify", "content", "\(digest).p7s"]
            }
            let outputs = try run(jobs, in: dir)
            #expect(outputs.count == jobs.count)
            for (name, output) in outputs {
                if name.hasPrefix("verify-") {
                    // pyas2lib reports the digest it verified with, e.g. "sha256".
                    #expect(String(decoding: output, as: UTF8.self) == name.dropFirst("verify-".count).description)
                } else {
                    #expect(output == sampleContent, "\(name)")
                }
            }
        }
    }
}
