import FluxAS2
import XCTest

final class HTTPRequestParserTests: XCTestCase {
    /// Feeds `text` split at every position into one or two pieces and checks the result is the same.
    func parseAllSplits(_ text: String, limits: HTTPLimits = HTTPLimits()) throws -> (HTTPRequestHead, [UInt8]) {
        let bytes = Array(text.utf8)
        var reference: (HTTPRequestHead, [UInt8])?
        for cut in 0...bytes.count {
            var p = HTTPRequestParser(limits: limits)
            var events = try p.feed(Array(bytes[0..<cut]))
            events += try p.feed(Array(bytes[cut...]))
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            var ended = false
            for e in events {
                switch e {
                case .head(let h): head = h.head
                case .body(let b): body += b
                case .end: ended = true
                }
            }
            XCTAssertTrue(ended, "no end at cut \(cut)")
            let h = try XCTUnwrap(head)
            if let r = reference {
                XCTAssertEqual(r.0.raw, h.raw); XCTAssertEqual(r.1, body, "cut \(cut)")
            } else {
                reference = (h, body)
            }
        }
        return reference!
    }

    func testContentLengthBodyAndRawHeadKeptByteForByte() throws {
        let req = "POST /as2 HTTP/1.1\r\nHost: x\r\nAS2-From:   \"ACME\"  \r\nContent-Length: 5\r\n\r\nhello"
        let (head, body) = try parseAllSplits(req)
        XCTAssertEqual(head.method, "POST")
        XCTAssertEqual(head.path, "/as2")
        XCTAssertEqual(head.header("as2-from"), "\"ACME\"")
        XCTAssertEqual(String(decoding: head.raw, as: UTF8.self), "POST /as2 HTTP/1.1\r\nHost: x\r\nAS2-From:   \"ACME\"  \r\nContent-Length: 5\r\n\r\n")
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "hello")
        XCTAssertTrue(head.keepAlive)
    }

    func testChunkedWithExtensionsAndTrailers() throws {
        let req = "POST /as2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n"
        let (head, body) = try parseAllSplits(req)
        XCTAssertTrue(head.chunked)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "hello world")
    }

    func testExpectContinueAndConnectionClose() throws {
        var p = HTTPRequestParser()
        let events = try p.feed(Array("POST /as2 HTTP/1.1\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: 3\r\n\r\n".utf8))
        guard case .head(let h) = events.first else { return XCTFail("no head") }
        XCTAssertTrue(h.head.expectContinue)
        XCTAssertFalse(h.head.keepAlive)
        XCTAssertEqual(events.count, 1, "the body has not arrived yet")
    }

    func testPipelinedRequestsWaitForNextRequest() throws {
        var p = HTTPRequestParser()
        let two = "POST /a HTTP/1.1\r\nContent-Length: 1\r\n\r\nAPOST /b HTTP/1.1\r\nContent-Length: 1\r\n\r\nB"
        let first = try p.feed(Array(two.utf8))
        XCTAssertEqual(first.count, 3)
        XCTAssertTrue(p.isComplete)
        let second = try p.nextRequest()
        guard case .head(let h) = second.first else { return XCTFail("no second head") }
        XCTAssertEqual(h.head.target, "/b")
        XCTAssertEqual(second.last, .end)
    }

    func expectError(_ text: String, status: Int, limits: HTTPLimits = HTTPLimits(), file: StaticString = #filePath, line: UInt = #line) {
        var p = HTTPRequestParser(limits: limits)
        XCTAssertThrowsError(try p.feed(Array(text.utf8)), file: file, line: line) { e in
            XCTAssertEqual((e as? HTTPParseError)?.status, status, "\(e)", file: file, line: line)
        }
    }

    func testAmbiguousFramingIsRefused() {
        expectError("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400)
        expectError("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", status: 400)
        expectError("POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", status: 400)
        expectError("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", status: 501)
        expectError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", status: 400)
        expectError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", status: 400)
    }

    func testLimits() {
        let small = HTTPLimits(maxHeaderBytes: 100, maxHeaderCount: 3, maxBodyBytes: 10)
        expectError("POST / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200) + "\r\n\r\n", status: 431, limits: small)
        expectError("POST / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200), status: 431, limits: small)  // never ends
        expectError("POST / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", status: 431, limits: small)
        expectError("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", status: 413, limits: small)
        expectError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\n", status: 413, limits: small)
    }

    func testMalformedHeads() {
        expectError("POST / HTTP/2.0\r\n\r\n", status: 505)
        expectError("POST  / HTTP/1.1\r\n\r\n", status: 400)
        expectError("post / HTTP/1.1\r\n\r\n", status: 400)
        expectError("POST / HTTP/1.1\r\nNo colon here\r\n\r\n", status: 400)
        expectError("POST / HTTP/1.1\r\nBad Name: x\r\n\r\n", status: 400)
        expectError("POST / HTTP/1.1\r\nExpect: something-else\r\n\r\n", status: 417)
    }

    func testFoldedHeaderIsJoinedAndLFOnlyHeadAccepted() throws {
        var p = HTTPRequestParser()
        let events = try p.feed(Array("POST /as2 HTTP/1.1\nContent-Type: multipart/signed;\n\tboundary=x\nContent-Length: 0\n\n".utf8))
        guard case .head(let h) = events.first else { return XCTFail("no head") }
        XCTAssertEqual(h.head.header("content-type"), "multipart/signed; boundary=x")
        XCTAssertEqual(events.last, .end)
    }

    /// Random garbage never crashes the parser nor makes it loop: it either waits for more,
    /// parses, or throws an HTTPParseError.
    func testRandomInputIsBounded() {
        var rng = SystemRandomNumberGenerator()
        let seeds = ["POST /as2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                     "POST /as2 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"]
        for i in 0..<3000 {
            var bytes = Array(seeds[i % 2].utf8)
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            var p = HTTPRequestParser(limits: HTTPLimits(maxHeaderBytes: 256, maxHeaderCount: 10, maxBodyBytes: 64))
            do { _ = try p.feed(bytes) } catch let e as HTTPParseError { XCTAssertTrue((400...505).contains(e.status)) } catch {
                XCTFail("unexpected error type \(error)")
            }
        }
    }
}
