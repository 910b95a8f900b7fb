import Foundation
import KPIConfig
import KPICore
import ZeroMQ

/// A reload's new socket set, prepared but not committed: the sockets of added and changed sources
/// are open, bound and connected, while the running sockets are all still open.
///
/// ``cancel()`` closes the new sockets and leaves the running set as it was. ``finish()`` closes
/// the retired sockets (removed and changed sources), then binds the endpoints that one of them
/// held (a changed source that keeps an endpoint cannot bind it while the old socket still
/// listens) and connects to the endpoints one of them was connected to (two SUB sockets on one
/// publisher would both receive, and count, what it publishes meanwhile; a PUSH peer would hand
/// messages to the old socket). Kept sources move over with their socket, so nothing queued in
/// them is lost.
struct SourceRebind {
    /// The sockets of the new config, in its order.
    let next: SourceSockets
    /// Running sockets of removed and changed sources, still open until ``finish()``.
    let retired: [SourceSocket]
    /// Sockets opened for added and changed sources.
    let opened: [SourceSocket]
    /// Endpoints a retired socket binds or connects to, bound or connected by ``finish()``.
    let deferred: [(socket: SourceSocket, endpoint: String, bind: Bool)]

    /// Closes the sockets opened for the reload; the running set is untouched.
    func cancel() {
        for s in opened { s.close() }
    }

    /// Closes the retired sockets, then binds (retrying for up to about a second: libzmq closes a
    /// listener asynchronously) and connects the deferred endpoints. Returns the endpoints that
    /// could not be bound or connected.
    func finish() -> [SourceError] {
        for s in retired { s.close() }
        guard !deferred.isEmpty else { return [] }
        // An ipc:// listener unlinks its path when its close completes: let that happen first.
        if deferred.contains(where: { $0.bind && $0.endpoint.hasPrefix("ipc://") }) { Thread.sleep(forTimeInterval: 0.1) }
        var failures: [SourceError] = []
        for (socket, endpoint, bind) in deferred {
            guard bind else {
                do { try socket.connect(endpoint) } catch let e as SourceError { failures.append(e) } catch {}
                continue
            }
            var attempt = 0
            while true {
                do {
                    try socket.bind(endpoint)
                    break
                } catch let e as SourceError {
                    attempt += 1
                    if attempt >= 20 {
                        failures.append(e)
                        break
                    }
                    Thread.sleep(forTimeInterval: 0.05)
                } catch {
                    break
                }
            }
        }
        return failures
    }
}

extension SourceSockets {
    /// Prepares the sockets of `config` after `change`: kept sources reuse their socket (with the
    /// new `max_message_bytes`, which applies to new connections), added and changed sources get a
    /// new socket, bound and connected, except for endpoints a retired socket binds or connects
    /// to. On a failure nothing changes: the new sockets are closed and ``SourceError`` is thrown.
    func prepareRebind(to config: KpidConfig, change: ConfigChange) throws -> SourceRebind {
        let running = Dictionary(sources.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let kept = Set(change.sourcesKept)
        let retired = sources.filter { !kept.contains($0.name) }
        let held = Set(retired.flatMap(\.config.bind))
        let connected = Set(retired.flatMap(\.config.connect))
        var opened: [SourceSocket] = []
        var deferred: [(socket: SourceSocket, endpoint: String, bind: Bool)] = []
        var next: [SourceSocket] = []
        do {
            for source in config.sources {
                if kept.contains(source.name), let s = running[source.name] {
                    next.append(s)
                    continue
                }
                let s = try SourceSocket(source: source, limits: config.limits, context: context)
                opened.append(s)
                next.append(s)
                for endpoint in source.bind {
                    if held.contains(endpoint) { deferred.append((s, endpoint, true)) } else { try s.bind(endpoint) }
                }
                for endpoint in source.connect {
                    if connected.contains(endpoint) { deferred.append((s, endpoint, false)) } else { try s.connect(endpoint) }
                }
            }
        } catch {
            for s in opened { s.close() }
            throw error
        }
        for s in next where kept.contains(s.name) {
            try? s.socket.setMaxMessageSize(Int64(config.limits.maxMessageBytes))
        }
        return SourceRebind(next: SourceSockets(context: context, sources: next), retired: retired, opened: opened,
                            deferred: deferred)
    }
}
