/// The Alertmanager webhook payload, version "4", built by hand (no Foundation): tools that
/// accept Alertmanager webhooks accept it unchanged.
///
///     {"version":"4","groupKey":…,"truncatedAlerts":0,"status":"firing|resolved","receiver":…,
///      "groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":…,
///      "alerts":[{"status":…,"labels":{},"annotations":{},"startsAt":RFC3339,"endsAt":RFC3339,
///                 "generatorURL":…,"fingerprint":…}]}
///
/// A firing alert's `endsAt` is `0001-01-01T00:00:00Z`, as in Alertmanager.
public enum AlertmanagerPayload {
    public static let zeroTime = "0001-01-01T00:00:00Z"

    /// The JSON text of `n`.
    public static func json(_ n: AlertNotification, externalURL: String) -> String {
        var o = "{\"version\":\"4\",\"groupKey\":" + CanonicalLabels.quote(n.groupKey)
        o += ",\"truncatedAlerts\":0,\"status\":" + CanonicalLabels.quote(n.status)
        o += ",\"receiver\":" + CanonicalLabels.quote(n.receiver)
        o += ",\"groupLabels\":" + CanonicalLabels.json(n.groupLabels)
        o += ",\"commonLabels\":" + CanonicalLabels.json(n.commonLabels)
        o += ",\"commonAnnotations\":" + CanonicalLabels.json(n.commonAnnotations)
        o += ",\"externalURL\":" + CanonicalLabels.quote(externalURL)
        o += ",\"alerts\":["
        for (i, a) in n.alerts.enumerated() {
            if i > 0 { o += "," }
            o += "{\"status\":" + (a.isFiring ? "\"firing\"" : "\"resolved\"")
            o += ",\"labels\":" + CanonicalLabels.json(a.labels)
            o += ",\"annotations\":" + CanonicalLabels.json(a.annotations)
            o += ",\"startsAt\":" + CanonicalLabels.quote(Timestamp.formatRFC3339(a.startsAt))
            o += ",\"endsAt\":" + CanonicalLabels.quote(a.endsAt.map(Timestamp.formatRFC3339) ?? zeroTime)
            o += ",\"generatorURL\":" + CanonicalLabels.quote(externalURL + "/alerts?rule=" + a.rule)
            o += ",\"fingerprint\":" + CanonicalLabels.quote(a.fingerprint) + "}"
        }
        return o + "]}"
    }
}
