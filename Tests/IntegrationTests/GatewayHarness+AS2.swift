import FluxCrypto
import FluxMIME
import Foundation

/// AS2 helpers: the independent peer (pyas2lib + `openssl cms`, scripts/as2peer) and raw HTTP.
extension GatewayHarness {
    static var python: String { repoRoot.appendingPathComponent(".venv/bin/python").path }
    static var as2peer: String { repoRoot.appendingPathComponent("scripts/as2peer/as2peer.py").path }
    var as2URL: String { "http://127.0.0.1:\(as2Port)/as2" }
    var partnerCerts: URL { root.appendingPathComponent("etc/partners.d/certs") }

    /// The arguments every send needs, for partner `name` (acme, globex, stranger).
    func peerArgs(from as2From: String = "ACME", key name: String = "acme", serverCert: String? = nil) -> [String] {
        ["--url", as2URL, "--from", as2From, "--to", "GATEWAY",
         "--partner-key", partnerCerts.appendingPathComponent("\(name).key.pem").path,
         "--partner-cert", partnerCerts.appendingPathComponent("\(name).cert.pem").path,
         "--server-cert", serverCert ?? cert]
    }

    /// Runs as2peer and decodes its JSON.
    func peer(_ args: [String]) throws -> Any {
        let r = try Self.run(Self.python, [Self.as2peer] + args)
        guard let json = try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) else {
            throw HarnessError(message: "as2peer printed no JSON (exit \(r.status)): \(r.out.suffix(2000))")
        }
        return json
    }

    func send(_ args: [String]) throws -> [String: Any] {
        guard let d = try peer(["send"] + args) as? [String: Any] else { throw HarnessError(message: "as2peer send: not an object") }
        if let e = d["error"] as? String { throw HarnessError(message: "as2peer send failed: \(e)") }
        return d
    }

    /// Runs many sends in one pyas2lib process.
    func batch(_ cases: [(name: String, args: [String])]) throws -> [[String: Any]] {
        let file = root.appendingPathComponent("batch-\(UUID().uuidString.prefix(6)).json")
        let json = try JSONSerialization.data(withJSONObject: cases.map { ["name": $0.name, "args": $0.args] as [String: Any] })
        try json.write(to: file)
        guard let list = try peer(["batch", file.path]) as? [[String: Any]] else { throw HarnessError(message: "as2peer batch: not a list") }
        return list
    }

    /// Builds a request without sending it: the raw HTTP bytes.
    func buildRequest(_ args: [String]) throws -> Data {
        let out = root.appendingPathComponent("req-\(UUID().uuidString.prefix(6)).http")
        let meta = try peer(["build", "--out", out.path] + args)
        if let d = meta as? [String: Any], let e = d["error"] { throw HarnessError(message: "as2peer build: \(e)") }
        return try Data(contentsOf: out)
    }

    struct RawResponse {
        var status: Int
        var headers: [(String, String)]
        var body: Data
        func header(_ n: String) -> String? { headers.first { $0.0.lowercased() == n.lowercased() }?.1 }
    }

    /// Sends raw request bytes on a fresh loopback connection and reads the whole answer
    /// (the request should say `Connection: close`, or the answer must carry Content-Length).
    func rawHTTP(_ request: Data, port: Int? = nil, timeout: Double = 20) throws -> RawResponse {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError(message: "socket failed") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port ?? as2Port).bigEndian
        let c = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard c == 0 else { throw HarnessError(message: "connect to \(port ?? as2Port) failed") }
        _ = request.withUnsafeBytes { raw -> Int in
            var off = 0
            while off < raw.count {
                let n = Foundation.send(fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n <= 0 { break }  // the server may answer early and close (413, 403)
                off += n
            }
            return off
        }
        var data = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            data.append(contentsOf: buf[0..<n])
            if let r = Self.parseResponse(data), r.complete { return r.response }
        }
        guard let r = Self.parseResponse(data) else { throw HarnessError(message: "no HTTP answer: \(String(decoding: data.prefix(500), as: UTF8.self))") }
        return r.response
    }

    static func parseResponse(_ data: Data) -> (response: RawResponse, complete: Bool)? {
        guard let sep = data.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        var lines = String(decoding: data[..<sep.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        // skip interim 100 Continue answers
        while let first = lines.first, first.hasPrefix("HTTP/1.1 100") {
            let rest = data[sep.upperBound...]
            return parseResponse(Data(rest))
        }
        let status = Int(lines.removeFirst().split(separator: " ").dropFirst().first ?? "") ?? 0
        let headers = lines.compactMap { l -> (String, String)? in
            guard let c = l.firstIndex(of: ":") else { return nil }
            return (String(l[..<c]), l[l.index(after: c)...].trimmingCharacters(in: .whitespaces))
        }
        let body = Data(data[sep.upperBound...])
        let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) }
        return (RawResponse(status: status, headers: headers, body: length.map { Data(body.prefix($0)) } ?? body),
                length.map { body.count >= $0 } ?? false)
    }

    /// Parses an MDN answer and verifies its signature with the gateway certificate.
    func mdn(_ r: RawResponse) throws -> (fields: MDNFields, signatureOK: Bool) {
        let parsed = try MDNParser.parse(contentType: r.header("Content-Type") ?? "", body: r.body)
        var ok = false
        if let sig = parsed.signatureDER, let content = parsed.signedEntity {
            ok = (try? CMSVerifier.verifyDetached(signature: sig, content: content, trusted: [try Certificate(pemFile: cert)])) != nil
        }
        return (parsed.fields, ok)
    }
}
