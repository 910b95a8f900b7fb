import ArgumentParser
import Foundation
import ZeroMQ

/// `kpictl sink`: a null subscriber that binds like kpid, receives, counts events and does
/// nothing else. It is the baseline of the end-to-end benchmark (`tools/bench-e2e.py`): kpid's
/// rate over the same loopback, publisher and machine is reported as a ratio of this one.
struct SinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sink",
        abstract: "Receive and count events without processing them (benchmark baseline)."
    )

    @Option(help: "Endpoint to bind.")
    var endpoint: String

    @Option(help: "Socket kind: pull or sub.")
    var socket: String = "pull"

    @Option(help: "ZMQ_RCVHWM of the socket (the benchmark passes kpid's receive_hwm, so both queue alike).")
    var receiveHwm: Int32 = 100_000

    @Option(help: "Stop after this many events (NDJSON lines).")
    var events: Int

    @Option(help: "Give up after this many seconds.")
    var timeout: Double = 120

    func run() throws {
        let context = try ZmqContext()
        let s = try ZmqSocket(context: context, kind: socket == "sub" ? .sub : .pull)
        try s.setReceiveHighWaterMark(receiveHwm)
        if socket == "sub" { try s.subscribe("") }
        try s.bind(endpoint)
        try s.setReceiveTimeout(200)
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        let message = ZmqMultipartMessage(maxFrames: 4)
        var count = 0
        var first: Date?
        let deadline = Date().addingTimeInterval(timeout)
        while count < events && Date() < deadline {
            guard try s.receive(into: message) else { continue }
            if first == nil { first = Date() }
            let payload = message.frame(message.frameCount - 1)
            var lines = payload.isEmpty ? 0 : 1
            for b in payload where b == 10 { lines += 1 }
            count += lines
        }
        let seconds = Date().timeIntervalSince(first ?? Date())
        FileHandle.standardOutput.write(Data(#"{"events":\#(count),"seconds":\#(seconds)}"#.utf8 + [10]))
        s.close()
        context.shutdown()
    }
}
