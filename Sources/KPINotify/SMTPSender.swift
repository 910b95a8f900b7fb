import Foundation
import KPICore
import NIOCore
import NIOPosix
import NIOSSL

/// Why an SMTP receiver cannot be set up (at kpid start or in `kpictl notify-test`).
public enum SMTPSetupError: Error, CustomStringConvertible {
    /// The password file cannot be read.
    case passwordFile(path: String, reason: String)
    /// The CA file holds no usable PEM certificate, or TLS cannot be configured.
    case tls(caFile: String?, reason: String)

    public var description: String {
        switch self {
        case .passwordFile(let path, let reason): return "cannot read the SMTP password file \(path): \(reason)"
        case .tls(let ca?, let reason): return "cannot use the SMTP CA file \(ca): \(reason)"
        case .tls(nil, let reason): return "cannot configure TLS for SMTP: \(reason)"
        }
    }
}

/// Submits the notification's RFC 5322 message (``EmailMessage``, the same message as the
/// sendmail path) straight to an SMTP server, over SwiftNIO with NIOSSL: STARTTLS or implicit
/// TLS, the server certificate verified (against ``SMTPSettings/caFile`` when set, else the
/// system's CAs) and its name checked, then AUTH when a user name is set (see ``SMTPDialogue``).
///
/// The whole submission (connect, TLS, dialogue) is bounded by the receiver's timeout. A 5xx
/// reply is a permanent failure; a 4xx reply, a refused or dropped connection, a TLS failure and
/// the timeout are retried by the outbox. One connection per notification; nothing is pooled.
public struct SMTPSender: NotificationSender {
    public let receiver: ReceiverConfig
    let settings: SMTPSettings
    let password: String?
    let tls: NIOSSLContext?
    let group: any EventLoopGroup
    let helloName: String

    /// Reads the password file and the CA file now; throws ``SMTPSetupError`` when either cannot
    /// be used.
    public init(receiver: ReceiverConfig, settings: SMTPSettings,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws(SMTPSetupError) {
        self.receiver = receiver
        self.settings = settings
        self.group = group
        helloName = Self.localHostName()
        if let file = settings.passwordFile {
            do {
                var text = try String(contentsOfFile: file, encoding: .utf8)
                while let last = text.last, last.isNewline { text.removeLast() }
                password = text
            } catch {
                throw .passwordFile(path: file, reason: "\(error)")
            }
        } else {
            password = nil
        }
        if settings.security == .none {
            tls = nil
        } else {
            var config = TLSConfiguration.makeClientConfiguration()
            config.minimumTLSVersion = .tlsv12
            if let ca = settings.caFile {
                let certificates: [NIOSSLCertificate]
                do { certificates = try NIOSSLCertificate.fromPEMFile(ca) } catch { throw .tls(caFile: ca, reason: "\(error)") }
                if certificates.isEmpty { throw .tls(caFile: ca, reason: "no PEM certificate in it") }
                config.trustRoots = .certificates(certificates)
            }
            do { tls = try NIOSSLContext(configuration: config) } catch { throw .tls(caFile: settings.caFile, reason: "\(error)") }
        }
    }

    public func send(payload: String, idempotencyKey: String) async -> DeliveryOutcome {
        let message: String
        do { message = try EmailMessage.render(payload: payload, receiver: receiver, idempotencyKey: idempotencyKey, date: Date()) } catch {
            return .permanent("cannot render the message: \(error)")
        }
        let dialogue = SMTPDialogue(helloName: helloName, security: settings.security,
                                    credentials: settings.username.map { (username: $0, password: password ?? "") },
                                    sender: receiver.from, recipients: receiver.to, message: message)
        let loop = group.next()
        let promise = loop.makePromise(of: DeliveryOutcome.self)
        let timeout = TimeAmount.milliseconds(receiver.timeoutMillis)
        // SNI and name checks take a host name; for an address literal NIOSSL checks the
        // certificate against the peer's address instead.
        let serverName = Self.isAddressLiteral(settings.host) ? nil : settings.host
        let (tls, implicitTLS, endpoint) = (self.tls, settings.security == .tls, "\(settings.host):\(settings.port)")
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if implicitTLS, let tls { try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try sync.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                    try sync.addHandler(SMTPClientHandler(dialogue: dialogue, promise: promise, tls: tls, serverName: serverName,
                                                          timeout: timeout, endpoint: endpoint))
                }
            }
        do {
            _ = try await bootstrap.connect(host: settings.host, port: settings.port).get()
        } catch {
            let outcome = DeliveryOutcome.retry("cannot connect to \(endpoint): \(error)")
            promise.succeed(outcome) // a no-op when the handler already ended it
            return outcome
        }
        return (try? await promise.futureResult.get()) ?? .retry("no outcome")
    }

    static func isAddressLiteral(_ host: String) -> Bool {
        host.contains(":") || (host.split(separator: ".").count == 4 && host.allSatisfy { $0 == "." || $0.isNumber })
    }

    /// This host's name for `EHLO` (`localhost` when it has none).
    static func localHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, 255) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}

/// Splits the byte stream into lines and assembles SMTP replies (``SMTPReply/Assembler``).
/// A line longer than 4 KiB is a protocol error.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply
    var assembler = SMTPReply.Assembler()
    static let maxLine = 4_096

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let lf = buffer.readableBytesView.firstIndex(of: 0x0A) else {
            if buffer.readableBytes > Self.maxLine { throw SMTPProtocolError(message: "a reply line longer than \(Self.maxLine) bytes") }
            return .needMoreData
        }
        var line = buffer.readBytes(length: lf - buffer.readerIndex) ?? []
        buffer.moveReaderIndex(forwardBy: 1)
        if line.last == 0x0D { line.removeLast() }
        if let reply = try assembler.feed(line) { context.fireChannelRead(wrapInboundOut(reply)) }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// Drives one ``SMTPDialogue`` on a channel and ends `promise` exactly once: with the
/// dialogue's outcome, or a retry when the connection fails, closes early or times out.
final class SMTPClientHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = SMTPReply
    typealias OutboundOut = ByteBuffer

    private var dialogue: SMTPDialogue
    private let promise: EventLoopPromise<DeliveryOutcome>
    private let tls: NIOSSLContext?
    private let serverName: String?
    private let timeout: TimeAmount
    private let endpoint: String
    private var timer: Scheduled<Void>?
    private var ended = false

    init(dialogue: SMTPDialogue, promise: EventLoopPromise<DeliveryOutcome>, tls: NIOSSLContext?, serverName: String?,
         timeout: TimeAmount, endpoint: String) {
        self.dialogue = dialogue
        self.promise = promise
        self.tls = tls
        self.serverName = serverName
        self.timeout = timeout
        self.endpoint = endpoint
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timeout = self.timeout
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.end(context, .retry("timed out after \(timeout.nanoseconds / 1_000_000) ms"), quit: false)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        if !ended {
            ended = true
            promise.succeed(.retry("the connection to \(endpoint) closed before the dialogue ended"))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !ended else { return }
        switch dialogue.receive(unwrapInboundIn(data)) {
        case .send(let command):
            write(context, Array((command + "\r\n").utf8))
        case .startTLS(let command):
            guard let tls else { return end(context, .permanent("STARTTLS without a TLS configuration"), quit: true) }
            do {
                let handler = try NIOSSLClientHandler(context: tls, serverHostname: serverName)
                try context.pipeline.syncOperations.addHandler(handler, position: .first)
            } catch {
                return end(context, .retry("cannot start TLS: \(error)"), quit: false)
            }
            write(context, Array((command + "\r\n").utf8))
        case .sendMessage:
            write(context, dialogue.message)
        case .finish(let outcome):
            end(context, outcome, quit: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !ended { end(context, .retry("\(endpoint) closed the connection"), quit: false) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !ended { end(context, .retry("\(endpoint): \(error)"), quit: false) }
    }

    private func write(_ context: ChannelHandlerContext, _ bytes: [UInt8]) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    /// Ends the promise once, then says `QUIT` when the connection is healthy, and closes.
    private func end(_ context: ChannelHandlerContext, _ outcome: DeliveryOutcome, quit: Bool) {
        guard !ended else { return }
        ended = true
        timer?.cancel()
        promise.succeed(outcome)
        let channel = context.channel
        if quit {
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(string: "QUIT\r\n"))).whenComplete { _ in
                channel.close(promise: nil)
            }
        } else {
            channel.close(promise: nil)
        }
    }
}
