#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// The systemd notify protocol, without libsystemd: each message is one datagram of
/// newline-separated assignments (`READY=1`, `STATUS=…`, `WATCHDOG=1`, `STOPPING=1`,
/// `RELOADING=1`) sent to the `AF_UNIX` socket named in `$NOTIFY_SOCKET` (a leading `@` names
/// the abstract namespace).
///
/// Without a socket (kpid not started by systemd with `Type=notify`) every call is a no-op.
/// Sending never blocks (`MSG_DONTWAIT`) and a failure is reported, not thrown: supervision must
/// never stop ingest. Thread-safe: each send is one `sendto` on a socket opened once.
public final class SystemdNotifier: Sendable {
    /// The socket path as given (`/run/systemd/notify`, `@abstract`), or nil when disabled.
    public let socketPath: String?
    /// Half of `$WATCHDOG_USEC` in milliseconds when systemd expects keep-alives, else nil.
    public let watchdogIntervalMillis: Int64?
    private let fd: Int32

    /// A notifier for `socketPath` (nil disables it); `watchdogMicros` is `$WATCHDOG_USEC`.
    public init(socketPath: String?, watchdogMicros: Int64? = nil) {
        self.socketPath = socketPath.flatMap { $0.isEmpty ? nil : $0 }
        if let us = watchdogMicros, us > 0 { watchdogIntervalMillis = max(1, us / 2_000) } else { watchdogIntervalMillis = nil }
        fd = self.socketPath == nil ? -1 : socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    /// The notifier systemd asked for through `$NOTIFY_SOCKET` and `$WATCHDOG_USEC` (honouring
    /// `$WATCHDOG_PID`: keep-alives only when it names this process or is unset).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> SystemdNotifier {
        var watchdog = env["WATCHDOG_USEC"].flatMap { Int64($0) }
        if let pid = env["WATCHDOG_PID"].flatMap({ Int32($0) }), pid != getpid() { watchdog = nil }
        return SystemdNotifier(socketPath: env["NOTIFY_SOCKET"], watchdogMicros: watchdog)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// True when a notify socket is configured.
    public var isEnabled: Bool { socketPath != nil && fd >= 0 }

    /// Sends `state` (e.g. `"READY=1\nSTATUS=ready"`); returns false when it could not be sent.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let path = socketPath, fd >= 0 else { return false }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { dst in
            dst.copyBytes(from: bytes)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let payload = Array(state.utf8)
        let sent = payload.withUnsafeBytes { buf in
            withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    sendto(fd, buf.baseAddress, buf.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), sa, length)
                }
            }
        }
        return sent == payload.count
    }

    /// `READY=1` with a status line.
    @discardableResult public func ready(status: String) -> Bool { notify("READY=1\nSTATUS=\(status)") }
    /// A `STATUS=` line (shown by `systemctl status`).
    @discardableResult public func status(_ s: String) -> Bool { notify("STATUS=\(s)") }
    /// The watchdog keep-alive.
    @discardableResult public func watchdog() -> Bool { notify("WATCHDOG=1") }
    /// `RELOADING=1` at the start of a reload, with `MONOTONIC_USEC=` (CLOCK_MONOTONIC, which
    /// systemd ≥ 253 requires for `Type=notify-reload`); `READY=1` ends the reload.
    @discardableResult public func reloading() -> Bool {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let micros = Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
        return notify("RELOADING=1\nMONOTONIC_USEC=\(micros)\nSTATUS=reloading the config")
    }
    /// `STOPPING=1` at the start of a graceful shutdown.
    @discardableResult public func stopping() -> Bool { notify("STOPPING=1\nSTATUS=stopping") }
}
