import ArgumentParser
import Foundation

extension SenderSocketKind: ExpressibleByArgument {}

/// `kpictl publish`: sends NDJSON events from a file or stdin.
struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Send NDJSON events (one JSON object per line) from a file or stdin to a kpid endpoint."
    )

    @Option(help: "Endpoint to connect to, e.g. tcp://127.0.0.1:5556.")
    var endpoint: String = "tcp://127.0.0.1:5556"

    @Option(help: "Socket kind: push (to a pull source) or pub (to a sub source).")
    var socket: SenderSocketKind = .push

    @Option(help: "Topic frame to send before each payload (the event type when events carry none).")
    var topic: String?

    @Option(help: "NDJSON file to read; stdin when absent.")
    var file: String?

    @Option(help: "Events per second; 0 sends as fast as possible.")
    var rate: Double = 0

    @Option(help: "Events per message (an NDJSON batch).")
    var batch: Int = 1

    @Option(help: "Milliseconds to wait after connecting a pub socket, so the subscriber joins first.")
    var joinDelay: Int = 500

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard rate >= 0 else { throw ValidationError("--rate must not be negative") }
    }

    @OptionGroup var curve: CurveClientOptions
    @OptionGroup var sequence: SequenceOptions

    func run() throws {
        let sender = try EventSender(endpoint: endpoint, kind: socket, topic: topic, rate: rate,
                                     joinDelayMillis: socket == .pub ? joinDelay : 0,
                                     curve: try curve.keys(), source: sequence.source)
        defer { sender.close() }
        var pending: [Substring] = []
        pending.reserveCapacity(batch)
        func handle(_ line: Substring) throws {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { return }
            pending.append(Substring(trimmed))
            if pending.count >= batch {
                try sender.send(lines: pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true) {
                try handle(line)
            }
        } else {
            while let line = readLine(strippingNewline: true) { try handle(Substring(line)) }
        }
        try sender.send(lines: pending)
        FileHandle.standardError.write(Data("kpictl: sent \(sender.eventsSent) events to \(endpoint)\n".utf8))
    }
}
