import FluxAS2
import FluxCore
import FluxCrypto
import FluxStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The AS2 listener (HTTP, or HTTPS when `[as2] tls_cert` is set): NIO event loops read and
/// write, a bounded worker pool does the blocking part (fsync, RSA, SQLite). On shutdown it
/// stops accepting, lets requests in flight finish, then closes.
public final class AS2Server: Service, Sendable {
    let settings: AS2Settings
    let processor: AS2Processor
    /// The TLS context new connections get; replaced on SIGHUP (certificate renewal), while
    /// connections already open keep the one they started with.
    let sslContext: Mutex<NIOSSLContext?>
    let tls: Bool
    let verifyClientCerts: Bool
    let logger: Logger
    let connections = Atomic<Int>(0)
    let inFlight = Atomic<Int>(0)
    /// The bound port (tests bind port 0).
    let boundPort = Atomic<Int>(0)

    public init(settings: AS2Settings, processor: AS2Processor, requestClientCertificates: Bool, logger: Logger) throws {
        self.settings = settings
        self.processor = processor
        self.logger = logger
        self.verifyClientCerts = requestClientCertificates
        if let certPath = settings.tlsCert, let keyPath = settings.tlsKey {
            sslContext = Mutex(try Self.tlsContext(cert: certPath, key: keyPath, requestClientCertificates: requestClientCertificates))
            tls = true
        } else {
            sslContext = Mutex(nil)
            tls = false
        }
    }

    /// TLS 1.2 and 1.3 only; for 1.2, ECDHE key exchange with AEAD ciphers only (no RSA key
    /// transport, no CBC, no SHA-1 MACs): what current guidance (ANSSI, BSI TR-02102-2) keeps.
    static let tls12Ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:"
        + "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    static func tlsContext(cert certPath: String, key keyPath: String, requestClientCertificates: Bool) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certPath).map { NIOSSLCertificateSource.certificate($0) }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        tls.cipherSuites = tls12Ciphers
        // Ask for a client certificate only when some partner is pinned to one; which
        // certificate belongs to whom is checked per partner once the request names it.
        tls.certificateVerification = requestClientCertificates ? .optionalVerification : .none
        return try NIOSSLContext(configuration: tls)
    }

    /// Loads a renewed certificate and key (SIGHUP). Throws, keeping the current ones, when they
    /// cannot be used; a listener started without TLS stays without (a restart changes that).
    public func reloadTLS(cert: String?, key: String?) throws {
        guard tls else { return }
        guard let cert, let key else { throw FluxError("as2-tls", "the AS2 listener was started with TLS; tls_cert and tls_key cannot be removed by a reload") }
        let fresh = try Self.tlsContext(cert: cert, key: key, requestClientCertificates: verifyClientCerts)
        sslContext.withLock { $0 = fresh }
        logger.notice("AS2 TLS certificate reloaded", metadata: ["cert": "\(cert)"])
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let pool = NIOThreadPool(numberOfThreads: settings.workers)
        pool.start()
        let settings = self.settings
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    if let ssl = self.sslContext.withLock({ $0 }) {
                        if self.verifyClientCerts {
                            // Accept any presented certificate at the TLS layer: partners pin theirs.
                            try ops.addHandler(NIOSSLServerHandler(context: ssl, customVerificationCallback: { _, promise in
                                promise.succeed(.certificateVerified)
                            }))
                        } else {
                            try ops.addHandler(NIOSSLServerHandler(context: ssl))
                        }
                    }
                    try ops.addHandler(IdleStateHandler(readTimeout: .milliseconds(Int64(settings.idleTimeout * 1000))))
                    try ops.addHandler(AS2ConnectionHandler(server: self, pool: pool, tls: self.tls))
                }
            }
        let channel = try await bootstrap.bind(host: settings.listen.host, port: settings.listen.port).get()
        boundPort.store(channel.localAddress?.port ?? 0, ordering: .releasing)
        logger.notice("AS2 listener ready", metadata: [
            "listen": "\(settings.listen)", "path": "\(settings.path)", "tls": "\(tls)", "as2_ids": "\(settings.as2IDs.joined(separator: ","))",
        ])
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        // Let requests already being processed finish (their MDN depends on it), bounded.
        let deadline = Date().addingTimeInterval(30)
        while inFlight.load(ordering: .acquiring) > 0 && Date() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        try? await pool.shutdownGracefully()
        logger.notice("AS2 listener stopped")
    }
}

/// One connection: feeds the request parser, streams the body into the spool, hands complete
/// requests to the worker pool and writes each answer in one write.
final class AS2ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Bodies up to this size are kept in memory (written to the spool by the worker, and
    /// unwrapped without a read-back); larger ones stream into the spool as they arrive.
    static let memoryLimit = 4 << 20

    let server: AS2Server
    let pool: NIOThreadPool
    let tls: Bool
    var parser: HTTPRequestParser
    var head: HTTPRequestHead?
    var writer: SpoolWriter?
    var memory: Data?
    var processing = false
    var closing = false
    var requestTimer: Scheduled<Void>?
    var counted = false

    init(server: AS2Server, pool: NIOThreadPool, tls: Bool) {
        self.server = server
        self.pool = pool
        self.tls = tls
        parser = HTTPRequestParser(limits: HTTPLimits(maxHeaderBytes: server.settings.maxHeaderBytes, maxHeaderCount: 100,
                                                      maxBodyBytes: server.settings.maxBodyBytes))
    }

    func channelActive(context: ChannelHandlerContext) {
        let n = server.connections.wrappingAdd(1, ordering: .relaxed).newValue
        counted = true
        if n > server.settings.maxConnections {
            server.logger.warning("AS2 connection refused: too many connections", metadata: ["limit": "\(server.settings.maxConnections)"])
            send(context, AS2Response.text(503, "too many connections; retry later"), keepAlive: false)
            return
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if counted { server.connections.wrappingSubtract(1, ordering: .relaxed); counted = false }
        requestTimer?.cancel()
        writer?.abort()
        writer = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, !processing, head == nil {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        server.logger.debug("AS2 connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        var buffer = unwrapInboundIn(data)
        if head == nil && requestTimer == nil && !processing {
            startTimer(context)
        }
        let events: [HTTPRequestParser.Event]
        do {
            events = try buffer.withUnsafeReadableBytes { try parser.feed($0) }
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        } catch let e as HTTPParseError {
            fail(context, e)
            return
        } catch {
            fail(context, HTTPParseError(400, "\(error)"))
            return
        }
        handle(events, context: context)
    }

    func handle(_ events: [HTTPRequestParser.Event], context: ChannelHandlerContext) {
        for event in events {
            guard !closing else { return }
            switch event {
            case .head(let box):
                let h = box.head
                if let refusal = server.processor.precheck(h, tlsFingerprint: tlsFingerprint(context)) {
                    // Refused before the body is read: answer and close (the body is not drained).
                    send(context, refusal, keepAlive: false)
                    return
                }
                // Small bodies stay in memory and reach the disk from the worker (creating a
                // file can stall for milliseconds on a busy ext4, which must not block the event
                // loop); past `memoryLimit` the body streams into the spool as it arrives.
                head = h
                memory = Data()
                memory?.reserveCapacity(Int(min(h.contentLength ?? 16384, Int64(Self.memoryLimit))))
                if h.expectContinue {
                    var b = context.channel.allocator.buffer(capacity: 25)
                    b.writeString("HTTP/1.1 100 Continue\r\n\r\n")
                    context.writeAndFlush(wrapOutboundOut(b), promise: nil)
                }
            case .body(let bytes):
                if writer == nil, let m = memory, m.count + bytes.count <= Self.memoryLimit {
                    memory!.append(contentsOf: bytes)
                    continue
                }
                do {
                    if writer == nil, let h = head {
                        let w = try SpoolWriter(spool: server.processor.spool, maxBytes: Int64(h.raw.count) + server.settings.maxBodyBytes)
                        try h.raw.withUnsafeBytes { try w.write($0) }
                        if let m = memory { try w.write(m) }
                        memory = nil
                        writer = w
                    }
                    try bytes.withUnsafeBytes { try writer?.write($0) }
                } catch {
                    send(context, .text(500, "cannot store the request: \(error)"), keepAlive: false)
                    return
                }
            case .end:
                requestTimer?.cancel()
                requestTimer = nil
                guard let h = head else { return }
                let body = AS2Body(head: h.raw, writer: writer, memory: writer == nil ? (memory ?? Data()) : nil)
                head = nil
                writer = nil
                memory = nil
                processing = true
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
                dispatch(h, body: body, context: context)
                return
            }
        }
    }

    func dispatch(_ h: HTTPRequestHead, body: AS2Body, context: ChannelHandlerContext) {
        let processor = server.processor
        let fingerprint = tlsFingerprint(context)
        server.inFlight.wrappingAdd(1, ordering: .relaxed)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let server = self.server
        pool.runIfActive(eventLoop: context.eventLoop) {
            processor.handle(h, body: body, tlsFingerprint: fingerprint)
        }.whenComplete { result in
            server.inFlight.wrappingSubtract(1, ordering: .relaxed)
            let (handler, context) = bound.value
            handler.processing = false
            switch result {
            case .success(let response):
                handler.finish(context, response, keepAlive: h.keepAlive)
            case .failure(let error):
                body.writer?.abort()
                handler.send(context, .text(503, "shutting down: \(error)"), keepAlive: false)
            }
        }
    }

    /// Writes the answer; on a kept-alive connection, goes on with what is already buffered.
    func finish(_ context: ChannelHandlerContext, _ response: AS2Response, keepAlive: Bool) {
        send(context, response, keepAlive: keepAlive)
        guard keepAlive, !closing else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        do {
            let events = try parser.nextRequest()
            if !events.isEmpty { startTimer(context) }
            handle(events, context: context)
        } catch let e as HTTPParseError {
            fail(context, e)
        } catch {
            fail(context, HTTPParseError(400, "\(error)"))
        }
    }

    func fail(_ context: ChannelHandlerContext, _ e: HTTPParseError) {
        server.logger.info("AS2 request refused", metadata: ["status": "\(e.status)", "reason": "\(e.reason)"])
        writer?.abort()
        writer = nil
        send(context, .text(e.status, e.reason), keepAlive: false)
    }

    func send(_ context: ChannelHandlerContext, _ r: AS2Response, keepAlive: Bool) {
        guard !closing else { return }
        var text = "HTTP/1.1 \(r.status) \(Self.reason(r.status))\r\n"
        for (n, v) in r.headers where !n.caseInsensitiveEqual("content-length") && !n.caseInsensitiveEqual("connection") {
            text += "\(n): \(v)\r\n"
        }
        text += "Content-Length: \(r.body.count)\r\n"
        text += keepAlive ? "\r\n" : "Connection: close\r\n\r\n"
        var b = context.channel.allocator.buffer(capacity: text.utf8.count + r.body.count)
        b.writeString(text)
        b.writeBytes(r.body)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(b), promise: nil)
        } else {
            closing = true
            requestTimer?.cancel()
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(b)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func startTimer(_ context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        requestTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(server.settings.requestTimeout * 1000))) {
            let (handler, context) = bound.value
            guard !handler.processing else { return }
            handler.writer?.abort()
            handler.writer = nil
            handler.send(context, .text(408, "the request took longer than \(handler.server.settings.requestTimeout) s"), keepAlive: false)
        }
    }

    func tlsFingerprint(_ context: ChannelHandlerContext) -> String? {
        guard tls, let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
              let cert = handler.peerCertificate, let der = try? cert.toDERBytes() else { return nil }
        return Digest.hex(Digest.sha256(Data(der)))
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 417: return "Expectation Failed"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status"
        }
    }
}

extension String {
    func caseInsensitiveEqual(_ o: String) -> Bool { lowercased() == o.lowercased() }
}
