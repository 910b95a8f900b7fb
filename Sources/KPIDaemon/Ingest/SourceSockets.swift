import KPICore
import ZeroMQ

/// Errors raised while opening the configured sources, naming the source and endpoint.
public struct SourceError: Error, CustomStringConvertible {
    public var source: String
    public var endpoint: String
    public var underlying: ZmqError
    public var description: String { "source \(source): \(endpoint): \(underlying.message)" }
}

/// The ZeroMQ socket of one source: a SUB or PULL socket with its options and monitor.
///
/// Options: `ZMQ_RCVHWM` from the config, `ZMQ_MAXMSGSIZE` from `limits.max_message_bytes`
/// (libzmq disconnects a peer that sends more), `ZMQ_LINGER` 0 so that closing never blocks, and
/// the SUB prefixes. A source with `curve_*` keys is a CURVE server (its secret key, ZAP domain =
/// the source name, see ``ZapHandler``) and gets a socket monitor that reports refused
/// handshakes; every source has a monitor that reports dropped connections (``ConnectionEvents``).
/// Cost: one socket and one monitor socket.
final class SourceSocket {
    let config: SourceConfig
    let socket: ZmqSocket
    let monitor: ZmqMonitor?

    var name: String { config.name }

    /// Creates the socket with its options and monitor, neither bound nor connected yet.
    init(source: SourceConfig, limits: LimitsConfig, context: ZmqContext) throws {
        config = source
        socket = try ZmqSocket(context: context, kind: source.kind == .sub ? .sub : .pull, lingerMilliseconds: 0)
        do {
            try socket.setReceiveHighWaterMark(Int32(clamping: source.receiveHighWaterMark))
            try socket.setMaxMessageSize(Int64(limits.maxMessageBytes))
            if source.kind == .sub {
                for prefix in source.subscribe { try socket.subscribe(prefix) }
            }
            if let curve = source.curve {
                do {
                    try socket.setCurveServer(true)
                    try socket.setCurveSecretKey(curve.secretKey)
                    try socket.setZapDomain(source.name)
                } catch let e as ZmqError {
                    throw SourceError(source: source.name, endpoint: "CURVE \(curve.secretKeyFile)", underlying: e)
                }
                monitor = try ZmqMonitor(socket, events: ConnectionEvents.curveEvents)
            } else {
                monitor = try ZmqMonitor(socket, events: ConnectionEvents.plainEvents)
            }
        } catch {
            socket.close()
            throw error
        }
    }

    /// Binds one endpoint. Throws ``SourceError``.
    func bind(_ endpoint: String) throws {
        do { try socket.bind(endpoint) } catch let e as ZmqError {
            throw SourceError(source: config.name, endpoint: "bind \(endpoint)", underlying: e)
        }
    }

    /// Connects one endpoint (libzmq connects in the background). Throws ``SourceError``.
    func connect(_ endpoint: String) throws {
        do { try socket.connect(endpoint) } catch let e as ZmqError {
            throw SourceError(source: config.name, endpoint: "connect \(endpoint)", underlying: e)
        }
    }

    /// Opens the socket, binds and connects every endpoint of `source`.
    static func open(_ source: SourceConfig, limits: LimitsConfig, context: ZmqContext) throws -> SourceSocket {
        let s = try SourceSocket(source: source, limits: limits, context: context)
        do {
            for endpoint in source.bind { try s.bind(endpoint) }
            for endpoint in source.connect { try s.connect(endpoint) }
        } catch {
            s.close()
            throw error
        }
        return s
    }

    /// Stops the monitor and closes the socket (messages still queued in it are dropped).
    func close() {
        monitor?.stop()
        socket.close()
    }
}

/// The sockets of the configured sources, in the config's order (the index is the pipeline's
/// `source` argument). The parallel arrays are what the receive loop reads.
final class SourceSockets {
    let context: ZmqContext
    let sources: [SourceSocket]
    let sockets: [ZmqSocket]
    let names: [String]
    /// Per source: the monitor of disconnects (and, for CURVE sources, handshake failures).
    let monitors: [ZmqMonitor?]
    /// Per source: whether it is a CURVE source (its messages carry a ZAP user id).
    let curve: [Bool]
    /// Per source: `journal = true`.
    let journaled: [Bool]

    /// Opens, binds and connects every source of `config`; on a failure, closes what it opened
    /// and throws ``SourceError`` (or the ``ZmqError`` of socket creation).
    convenience init(config: KpidConfig, context: ZmqContext) throws {
        var opened: [SourceSocket] = []
        do {
            for source in config.sources { opened.append(try SourceSocket.open(source, limits: config.limits, context: context)) }
        } catch {
            for s in opened { s.close() }
            throw error
        }
        self.init(context: context, sources: opened)
    }

    init(context: ZmqContext, sources: [SourceSocket]) {
        self.context = context
        self.sources = sources
        sockets = sources.map(\.socket)
        names = sources.map(\.name)
        monitors = sources.map(\.monitor)
        curve = sources.map { $0.config.curve != nil }
        journaled = sources.map(\.config.journal)
    }

    func close() {
        for s in sources { s.close() }
    }
}
