import Foundation
import KPICore
import Logging
import Synchronization
import ZeroMQ

/// The ZeroMQ Authentication Protocol handler (ZAP, RFC 27) of kpid's CURVE sources.
///
/// libzmq asks it, over a REP socket bound to `inproc://zeromq.zap.01` in the daemon's context,
/// whether a client completing a CURVE handshake may connect. Each CURVE source sets its name as
/// the ZAP domain; the handler admits exactly the client public keys of that source's
/// `curve_clients` directory and answers with the key's publisher name as the user id, which
/// libzmq attaches to every message of the connection (`User-Id`). Anything else gets status
/// 400: an unknown key, another mechanism, an unknown domain, a malformed request.
///
/// It must be started before any CURVE socket binds: libzmq admits every client when no handler
/// is bound. It runs on its own thread; ``stop()`` ends it and closes its socket (linger 0) and
/// must be called before the context is shut down. Cost: one socket, one thread; per handshake a
/// few small allocations (cold path).
final class ZapHandler: @unchecked Sendable {
    static let endpoint = "inproc://zeromq.zap.01"
    private let socket: ZmqSocket
    private let logger: Logger
    /// Per ZAP domain (source name): raw 32-byte client key → publisher name.
    private let clients: [String: [[UInt8]: String]]
    private let stopFlag = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?
    /// Requests denied, per domain; only the 1st, 10th, 100th… denial of a domain is logged, so a
    /// flood of handshakes cannot flood the log (the counters come from the socket monitors).
    private var denials: [String: Int] = [:]

    /// Binds the handler socket for the CURVE sources of `config`. Throws a ``ZmqError`` when the
    /// endpoint is taken (another handler in the context) or a client key is not Z85.
    init(config: KpidConfig, context: ZmqContext, logger: Logger) throws {
        var clients: [String: [[UInt8]: String]] = [:]
        for source in config.sources {
            guard let curve = source.curve else { continue }
            var keys: [[UInt8]: String] = [:]
            for c in curve.clients { keys[try ZmqCurve.z85Decode(c.publicKey)] = c.publisher }
            clients[source.name] = keys
        }
        self.clients = clients
        self.logger = logger
        socket = try ZmqSocket(context: context, kind: .rep, lingerMilliseconds: 0)
        do {
            try socket.setReceiveTimeout(100)
            try socket.bind(Self.endpoint)
        } catch {
            socket.close()
            throw error
        }
    }

    /// Starts answering on a dedicated thread.
    func start() {
        let t = Thread { [self] in
            run()
            finished.signal()
        }
        t.name = "kpid-zap"
        thread = t
        t.start()
    }

    /// Stops the thread (within its 100 ms receive timeout) and closes the socket. Idempotent.
    func stop() {
        guard !stopFlag.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if thread != nil { finished.wait() } else { socket.close() }
    }

    private func run() {
        while !stopFlag.load(ordering: .acquiring) {
            let request: [[UInt8]]?
            do { request = try socket.receiveMultipart() } catch let e as ZmqError where e.isInterrupted {
                continue
            } catch {
                if (error as? ZmqError)?.isTerminated != true {
                    logger.error("ZAP handler receive failed", metadata: ["error": "\(error)"])
                }
                break
            }
            guard let request else { continue }
            let reply = answer(request)
            do { _ = try socket.sendMultipart(reply) } catch {
                logger.error("ZAP handler reply failed", metadata: ["error": "\(error)"])
            }
        }
        socket.close()
    }

    /// The reply frames to one request: version, request id, status code, status text, user id, metadata.
    func answer(_ frames: [[UInt8]]) -> [[UInt8]] {
        let requestID = frames.count > 1 ? frames[1] : []
        func reply(_ code: String, _ text: String, user: String = "") -> [[UInt8]] {
            [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), Array(user.utf8), []]
        }
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else {
            return reply("400", "malformed ZAP request")
        }
        let domain = String(decoding: frames[2], as: UTF8.self)
        let address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        func deny(_ text: String) -> [[UInt8]] {
            let n = denials[domain, default: 0] + 1
            denials[domain] = n
            if String(n).dropFirst().allSatisfy({ $0 == "0" }) && String(n).hasPrefix("1") {
                logger.warning("CURVE client refused", metadata: ["source": "\(domain)", "address": "\(address)",
                                                                   "reason": "\(text)", "refused_so_far": "\(n)"])
            }
            return reply("400", text)
        }
        guard mechanism == "CURVE", frames.count == 7, frames[6].count == 32 else {
            return deny("mechanism \(mechanism) is not accepted")
        }
        guard let keys = clients[domain] else { return deny("unknown ZAP domain") }
        guard let publisher = keys[frames[6]] else { return deny("unknown client key") }
        return reply("200", "OK", user: publisher)
    }
}
