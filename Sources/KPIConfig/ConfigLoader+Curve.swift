import Foundation
import KPICore
import TOMLKit

extension ConfigKeys {
    static let sourceCurve = ["curve_secret_key", "curve_public_key", "curve_clients"]
    static let publisher = ["name", "types", "tenants", "tenant_field"]
}

/// CURVE keys of a source (`curve_secret_key`, `curve_public_key`, `curve_clients`) and the
/// `[[publishers]]` permissions. Key files hold one Z85 key (40 characters, surrounding
/// whitespace ignored); relative paths are taken from the config file's directory.
extension ConfigCompiler {
    /// Reads the CURVE keys of the source at `prefix`; `.absent` when it has none.
    mutating func curve(_ t: TOMLTable, prefix: String) -> Read<CurveSourceConfig> {
        let secret = string(t, "curve_secret_key", prefix: prefix, nonEmpty: true)
        let publicKey = string(t, "curve_public_key", prefix: prefix, nonEmpty: true)
        let clients = string(t, "curve_clients", prefix: prefix, nonEmpty: true)
        if case .absent = secret, case .absent = publicKey, case .absent = clients { return .absent }
        if secret.isInvalid || publicKey.isInvalid || clients.isInvalid { return .invalid }
        guard let secretPath = secret.value else {
            fail("\(prefix).curve_secret_key", "CURVE needs the server's secret key",
                 hint: "add curve_secret_key = \"keys/server.key_secret\" (create it with kpictl keygen server)")
            return .invalid
        }
        guard let clientsPath = clients.value else {
            fail("\(prefix).curve_clients", "CURVE needs the directory of admitted client keys",
                 hint: "add curve_clients = \"keys/clients\" holding one NAME.key per publisher")
            return .invalid
        }
        if Z85Text.isCurveKey(secretPath), !FileManager.default.fileExists(atPath: resolve(secretPath)) {
            // A key pasted into the config: refuse, and never echo it (messages reach logs).
            fail("\(prefix).curve_secret_key", "holds what looks like a literal CURVE secret key (40 Z85 characters); "
                 + "secrets are read only from files, and this one is now exposed in the config file",
                 hint: "generate a new pair with kpictl keygen NAME --dir DIR and set curve_secret_key to the path of NAME.key_secret")
            return .invalid
        }
        let secretFile = resolve(secretPath)
        var ok = true
        let secretKey = keyFile(secretFile, key: "\(prefix).curve_secret_key", secret: true)
        if secretKey == nil { ok = false }
        var pub: (key: String, file: String)?
        if let p = publicKey.value {
            let file = resolve(p)
            if let k = keyFile(file, key: "\(prefix).curve_public_key", secret: false) { pub = (k, file) } else { ok = false }
        }
        let dir = resolve(clientsPath)
        let clientKeys = clientKeys(directory: dir, key: "\(prefix).curve_clients")
        if clientKeys == nil { ok = false }
        guard ok, let secretKey, let clientKeys else { return .invalid }
        return .value(CurveSourceConfig(secretKey: secretKey, secretKeyFile: secretFile, publicKey: pub?.key,
                                        publicKeyFile: pub?.file, clientsDirectory: dir, clients: clientKeys))
    }

    /// `path` made absolute against the config file's directory.
    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: configDirectory).appendingPathComponent(path).path
    }

    /// Reads one Z85 key file; a secret key file must not be accessible by group or others.
    mutating func keyFile(_ file: String, key: String, secret: Bool) -> String? {
        let what = secret ? "secret key" : "public key"
        if secret, !isPrivateFile(file, key: key, what: what, missingHint: "create it with kpictl keygen NAME --dir DIR") {
            return nil
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            fail(key, "cannot read the \(what) file \(file)", hint: "create it with kpictl keygen NAME --dir DIR")
            return nil
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard Z85Text.isCurveKey(text) else {
            fail(key, "the \(what) file \(file) does not hold a CURVE key (40 Z85 characters)",
                 hint: "write it with kpictl keygen NAME")
            return nil
        }
        return text
    }

    /// Every `NAME.key` in `directory`, sorted by name; nil after reporting an error.
    mutating func clientKeys(directory: String, key: String) -> [CurveClientKey]? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            fail(key, "cannot read the client key directory \(directory)",
                 hint: "create it and put one NAME.key per publisher in it (kpictl keygen NAME --dir \(directory))")
            return nil
        }
        var out: [CurveClientKey] = []
        var ok = true
        var byKey: [String: String] = [:]
        for entry in entries.sorted() where entry.hasSuffix(".key") {
            let name = String(entry.dropLast(4))
            let file = URL(fileURLWithPath: directory).appendingPathComponent(entry).path
            guard !name.isEmpty, name.allSatisfy({ !$0.isWhitespace && !$0.isNewline }) else {
                fail(key, "client key file \(file) needs a publisher name before .key", hint: "name it NAME.key")
                ok = false
                continue
            }
            guard let k = keyFile(file, key: key, secret: false) else { ok = false; continue }
            if let other = byKey[k] {
                fail(key, "client key files \(other).key and \(entry) hold the same key",
                     hint: "one key per publisher: generate a new pair with kpictl keygen \(name)")
                ok = false
                continue
            }
            byKey[k] = name
            out.append(CurveClientKey(publisher: name, publicKey: k, file: file))
        }
        if ok && out.isEmpty {
            fail(key, "the client key directory \(directory) has no NAME.key files; no publisher could connect",
                 hint: "kpictl keygen NAME --dir \(directory), or remove the curve_* keys to accept plain connections")
            return nil
        }
        return ok ? out : nil
    }

    /// `[[publishers]]`: permissions of CURVE publishers. Every entry must name a client key of
    /// some source, so that a typo cannot leave a publisher unrestricted.
    mutating func publishers(_ root: TOMLTable, sources: [SourceConfig]) -> [PublisherConfig] {
        guard case .value(let tables) = tableArray(root, "publishers") else { return [] }
        let known = Set(sources.flatMap { $0.curve?.clients.map(\.publisher) ?? [] })
        let anyCurve = sources.contains { $0.curve != nil }
        var out: [PublisherConfig] = []
        var seen: [String: Int] = [:]
        for (i, t) in tables.enumerated() {
            let prefix = "publishers[\(i)]"
            checkKeys(t, allowed: ConfigKeys.publisher, prefix: prefix)
            var ok = true
            let name = string(t, "name", prefix: prefix, nonEmpty: true)
            if case .absent = name {
                fail("\(prefix).name", "missing name", hint: "the publisher's key name, e.g. name = \"scraper\" for scraper.key")
            }
            if let n = name.value {
                if let first = seen[n] {
                    fail("\(prefix).name", "duplicate publisher \(quoted(n)) (first defined at line \(first))",
                         hint: "list each publisher once")
                    ok = false
                } else {
                    seen[n] = locator.nearestLine(of: "\(prefix).name") ?? 0
                }
                if anyCurve && !known.contains(n) {
                    let hint = Suggest.closest(n, in: Array(known)).map { "did you mean \(quoted($0))?" }
                        ?? "publishers are the NAME.key files of the curve_clients directories"
                    fail("\(prefix).name", "no client key is named \(quoted(n))", hint: hint)
                    ok = false
                }
            }
            let types = stringList(t, "types", prefix: prefix)
            if let list = types.value {
                for (j, p) in list.enumerated() where p.dropLast().contains("*") {
                    fail("\(prefix).types[\(j)]", "\(quoted(p)): * may only end a pattern",
                         hint: "write an exact type or a prefix such as \"scrape.*\"")
                    ok = false
                }
            }
            let tenants = stringList(t, "tenants", prefix: prefix)
            let field = string(t, "tenant_field", prefix: prefix, nonEmpty: true)
            if types.isInvalid || tenants.isInvalid || field.isInvalid { ok = false }
            guard ok, let n = name.value else { continue }
            out.append(PublisherConfig(name: n, types: types.value, tenants: tenants.value,
                                       tenantField: field.value ?? "tenant"))
        }
        return out
    }

    /// `[kpid] unlisted_publishers = "allow" | "deny"`.
    mutating func unlistedPublishers(_ kpid: TOMLTable) -> UnlistedPublisherPolicy? {
        oneOf(kpid, "unlisted_publishers", prefix: "kpid", what: "policy").value
    }
}
