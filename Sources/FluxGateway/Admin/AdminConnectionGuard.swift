import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Shared by every admin connection: how many are open.
final class AdminConnectionCount: Sendable {
    let open = Atomic<Int>(0)
}

/// Limits the admin listener the way the AS2 one is limited: connections beyond `max` are closed
/// at once, and a request that has not arrived whole `timeout` seconds after the connection
/// opened (or after the previous answer, on a kept-alive connection) closes the connection, so a
/// slowloris client holds nothing for long. Hummingbird's idle timeout alone would not do: a
/// client trickling one byte at a time is never idle.
final class AdminConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let count: AdminConnectionCount
    let max: Int
    let timeout: TimeAmount
    let logger: Logger
    var deadline: Scheduled<Void>?
    var counted = false

    init(count: AdminConnectionCount, max: Int, timeout: Double, logger: Logger) {
        self.count = count; self.max = max; self.timeout = .milliseconds(Int64(timeout * 1000)); self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        let n = count.open.add(1, ordering: .relaxed).newValue
        if n > max {
            logger.warning("admin connection refused: too many open", metadata: [
                "address": "\(context.channel.remoteAddress?.description ?? "?")", "max_connections": "\(max)"])
            context.close(promise: nil)
            return
        }
        arm(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        if counted { count.open.subtract(1, ordering: .relaxed); counted = false }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) { deadline?.cancel(); deadline = nil }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context) }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        let logger = self.logger
        let seconds = timeout
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            logger.warning("admin connection closed: no complete request in time", metadata: [
                "address": "\(channel.remoteAddress?.description ?? "?")", "request_timeout": "\(seconds)"])
            channel.close(promise: nil)
        }
    }
}
