import Foundation
import ServiceLifecycle

/// The ingest loop as a swift-service-lifecycle `Service`: `run()` starts the loop on its own
/// thread and returns when the loop has drained and flushed after a graceful shutdown
/// (SIGTERM/SIGINT through the `ServiceGroup`) or a cancellation (the group cancels every service
/// when one of them fails, e.g. the status listener cannot bind its port: kpid then exits with
/// that error instead of running on without it).
public struct IngestService: Service {
    let loop: IngestLoop

    public init(loop: IngestLoop) { self.loop = loop }

    public func run() async throws {
        let loop = self.loop
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    let thread = Thread {
                        loop.run()
                        done.resume()
                    }
                    thread.name = "kpid-ingest"
                    thread.stackSize = 8 << 20
                    thread.start()
                }
            } onCancel: {
                loop.requestStop()
            }
        } onGracefulShutdown: {
            loop.notifier.stopping()
            loop.requestStop()
        }
        try Task.checkCancellation()
    }
}
