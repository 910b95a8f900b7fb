import KPICore
import ZeroMQ

/// Errors raised while opening the configured sources, naming the source and endpoint.
public struct SourceError: Error, CustomStringConvertible {
    public var source: String
    public var endpoint: String
    public var underlying: ZmqError
    public var description: String { "source \(source): \(endpoint): \(underlying.message)" }
}

/// The ZeroMQ sockets of the configured sources: one SUB or PULL socket per source, bound and
/// connected to every endpoint the source lists.
///
/// Options set on every socket: `ZMQ_RCVHWM` from the config, `ZMQ_MAXMSGSIZE` from
/// `limits.max_message_bytes` (libzmq disconnects a peer that sends more), `ZMQ_LINGER` 0 so that
/// shutdown never blocks, and the SUB prefixes. A source with `curve_*` keys is a CURVE server
/// (its secret key, ZAP domain = the source name, see ``ZapHandler``) and gets a socket monitor
/// that reports refused handshakes; every source has a monitor that reports dropped connections
/// (``ConnectionEvents``).
final class SourceSockets {
    let context: ZmqContext
    let sockets: [ZmqSocket]
    let names: [String]
    /// Per source: the monitor of disconnects (and, for CURVE sources, handshake failures).
    let monitors: [ZmqMonitor?]
    /// Per source: whether it is a CURVE source (its messages carry a ZAP user id).
    let curve: [Bool]

    init(config: KpidConfig, context: ZmqContext) throws {
        self.context = context
        var sockets: [ZmqSocket] = []
        var monitors: [ZmqMonitor?] = []
        do {
            for source in config.sources {
                let socket = try ZmqSocket(context: context, kind: source.kind == .sub ? .sub : .pull, lingerMilliseconds: 0)
                sockets.append(socket)
                try socket.setReceiveHighWaterMark(Int32(clamping: source.receiveHighWaterMark))
                try socket.setMaxMessageSize(Int64(config.limits.maxMessageBytes))
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
                    monitors.append(try ZmqMonitor(socket, events: ConnectionEvents.curveEvents))
                } else {
                    monitors.append(try ZmqMonitor(socket, events: ConnectionEvents.plainEvents))
                }
                for endpoint in source.bind {
                    do { try socket.bind(endpoint) } catch let e as ZmqError {
                        throw SourceError(source: source.name, endpoint: "bind \(endpoint)", underlying: e)
                    }
                }
                for endpoint in source.connect {
                    do { try socket.connect(endpoint) } catch let e as ZmqError {
                        throw SourceError(source: source.name, endpoint: "connect \(endpoint)", underlying: e)
                    }
                }
            }
        } catch {
            for m in monitors { m?.stop() }
            for s in sockets { s.close() }
            throw error
        }
        self.monitors = monitors
        self.curve = config.sources.map { $0.curve != nil }
        self.sockets = sockets
        self.names = config.sources.map(\.name)
    }

    func close() {
        for m in monitors { m?.stop() }
        for s in sockets { s.close() }
    }
}
