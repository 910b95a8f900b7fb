import Foundation
import Hummingbird
import KPICore
import Logging
import NIOCore
import ServiceLifecycle

/// The HTTP status listener (Hummingbird), on loopback by default:
///
/// - `GET /metrics`: ``SelfMetrics`` in the Prometheus text format;
/// - `GET /healthz`: `200 ok` while the ingest loop goes round and no flush waits for a retry,
///   `503` with the reasons otherwise (see ``DaemonHealth``).
///
/// It is a swift-service-lifecycle `Service` (Hummingbird's `Application`), run in the daemon's
/// `ServiceGroup` and stopped gracefully with it. Nothing it does touches the ingest thread.
enum StatusServer {
    /// The application for `config`; `onRunning` receives the bound port (useful with port 0).
    static func make(config: StatusConfig, metrics: SelfMetrics, health: DaemonHealth, logger: Logger,
                     onRunning: @escaping @Sendable (Int) -> Void) -> some Service {
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            let body = metrics.exposition()
            return Response(status: .ok,
                            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("healthz") { _, _ -> Response in
            let (healthy, problems) = health.check(now: MonotonicClock.millis())
            let text = healthy ? "ok\n" : problems.joined(separator: "\n") + "\n"
            return Response(status: healthy ? .ok : .serviceUnavailable,
                            headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .notice) // no access log per request
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "kpid"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? config.port) },
            logger: serverLogger
        )
        return Listener(app: app, address: "\(config.host):\(config.port)")
    }

    /// The application, with its failures (such as a port already in use) named by address.
    struct Listener<App: Service>: Service {
        let app: App
        let address: String
        func run() async throws {
            do { try await app.run() } catch { throw StatusListenerError(address: address, underlying: error) }
        }
    }
}

/// The status listener failed (kpid exits 69 with this message).
struct StatusListenerError: Error, CustomStringConvertible {
    var address: String
    var underlying: any Error
    var description: String { "status listener [status] \(address): \(underlying)" }
}
