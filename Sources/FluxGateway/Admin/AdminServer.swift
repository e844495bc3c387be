import FluxCore
import FluxStore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// The admin HTTP listener: health, readiness, Prometheus metrics and the queue API.
public enum AdminServer {
    public static func build(address: ListenAddress, token: String, store: SQLiteStore, spool: Spool, maxConnections: Int = 64,
                             requestTimeout: Double = 30, ready: @escaping @Sendable () -> Bool, logger: Logger) -> some Service {
        let router = Router()
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            ready() ? json(["status": "ready"]) : json(["status": "starting"], status: .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            if let depth = try? store.queueDepth() { Metrics.queueDepth(depth) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: Metrics.render())))
        }
        let v1 = router.group("v1").add(middleware: BearerTokenMiddleware(token: Array(token.utf8), logger: logger))
        v1.get("batches") { request, _ in
            let status = request.uri.queryParameters.get("status")
            return try encode(store.listBatches(status: status))
        }
        v1.post("batches/claim") { request, _ in
            let max = request.uri.queryParameters.get("max").flatMap(Int.init) ?? 1
            let lease = request.uri.queryParameters.get("lease").flatMap(Double.init) ?? 300
            let consumer = request.uri.queryParameters.get("consumer") ?? "api"
            guard (1...1000).contains(max), (1...86400).contains(lease) else {
                return json(["error": "bad-request", "message": "max must be 1...1000 and lease 1...86400 seconds"], status: .badRequest)
            }
            let claimed = try store.claim(max: max, lease: lease, consumer: consumer)
            if !claimed.isEmpty { CrashPoint.hit("queue.claimed") }
            return try encode(claimed)
        }
        v1.get("batches/:id/archive") { _, context in
            let id = try context.parameters.require("id")
            do {
                let content = try store.batchContent(batchID: id)
                let tmp = NSTemporaryDirectory() + "flux-archive-\(UUID().uuidString).tar.gz"
                defer { unlink(tmp) }
                try BatchArchiveWriter.write(content, spool: spool, to: tmp)
                let data = try Data(contentsOf: URL(fileURLWithPath: tmp))
                return Response(status: .ok, headers: [.contentType: "application/gzip",
                                                       .contentDisposition: "attachment; filename=\"\(id).tar.gz\""],
                                body: .init(byteBuffer: ByteBuffer(bytes: data)))
            } catch let e as FluxError {
                return errorResponse(e)
            }
        }
        v1.post("batches/:id/ack") { _, context in
            do {
                let acked = try store.ack(batchID: try context.parameters.require("id"))
                CrashPoint.hit("queue.acked")
                return try encode(acked)
            } catch let e as FluxError { return errorResponse(e) }
        }
        v1.post("batches/:id/nack") { _, context in
            do { return try encode(store.nack(batchID: try context.parameters.require("id"))) } catch let e as FluxError { return errorResponse(e) }
        }
        var config = ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: "flux-gateway")
        config.serverName = "flux-gateway"
        let count = AdminConnectionCount()
        let server = HTTPServerBuilder.http1(configuration: .init(
            additionalChannelHandlers: [AdminConnectionGuard(count: count, max: maxConnections, timeout: requestTimeout, logger: logger)]))
        return Application(router: router, server: server, configuration: config, logger: logger)
    }

    static func errorResponse(_ e: FluxError) -> Response {
        let status: HTTPResponse.Status = e.code == "not-found" ? .notFound : e.code == "not-claimed" || e.code == "not-sealed" ? .conflict : .internalServerError
        return json(["error": e.code, "message": e.message], status: status)
    }

    static func json(_ obj: [String: String], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data + Data("\n".utf8))))
    }

    static func encode<T: Encodable>(_ value: T) throws -> Response {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        enc.keyEncodingStrategy = .convertToSnakeCase
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try enc.encode(value) + Data("\n".utf8))))
    }
}
