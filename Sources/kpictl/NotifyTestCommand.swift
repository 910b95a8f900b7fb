import ArgumentParser
import Foundation
import KPIConfig
import KPICore
import KPINotify

/// `kpictl notify-test RECEIVER --config F`: sends a test notification to one receiver through
/// the same sender kpid's outbox uses (webhook with signature and idempotency key, or email
/// through the sendmail program), and reports the outcome.
struct NotifyTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify-test",
        abstract: "Send a test notification to a receiver of the config."
    )

    @Argument(help: "Receiver name ([[receivers]] name).")
    var receiver: String

    @Option(help: "kpid configuration file.")
    var config: String = "kpid.toml"

    func run() throws {
        let c: KpidConfig
        do { c = try ConfigLoader.load(contentsOf: config) } catch {
            throw ValidationError("\(error)")
        }
        guard let r = c.receivers.first(where: { $0.name == receiver }) else {
            throw ValidationError("no receiver \(receiver) in \(config); known: \(c.receivers.map(\.name).joined(separator: ", "))")
        }
        let now = EpochMillis(Date().timeIntervalSince1970 * 1000)
        let alert = DispatchAlert(rule: "kpid_notify_test", labels: ["alertname": "kpid_notify_test", "severity": "info", "receiver": r.name],
                                  annotations: ["summary": "kpid test notification to \(r.name)", "value": "0"],
                                  startsAt: now, endsAt: nil, severity: "info", receivers: [r.name], value: 0)
        let key = "notify-test-\(now)-\(r.name)"
        let n = AlertNotification(idempotencyKey: key, receiver: r.name, groupKey: "{}:{alertname=\"kpid_notify_test\"}",
                                  status: "firing", groupLabels: ["alertname": "kpid_notify_test"],
                                  commonLabels: alert.labels, commonAnnotations: alert.annotations, alerts: [alert], createdAt: now)
        let payload = AlertmanagerPayload.json(n, externalURL: c.alerting.externalURL)
        let sender = try OutboxDelivery.senders(for: [r])[r.name]!
        let box = OutcomeBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.value = await sender.send(payload: payload, idempotencyKey: key)
            done.signal()
        }
        done.wait()
        switch box.value {
        case .delivered?: print("delivered to \(r.name) (idempotency key \(key))")
        case .retry(let e)?: throw ValidationError("not delivered to \(r.name) (would be retried): \(e)")
        case .permanent(let e)?: throw ValidationError("not delivered to \(r.name) (permanent failure): \(e)")
        case nil: throw ValidationError("no outcome")
        }
    }
}

final class OutcomeBox: @unchecked Sendable {
    var value: DeliveryOutcome?
}
