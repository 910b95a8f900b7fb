import Foundation

/// Files that hold secrets (a CURVE secret key, an SMTP password): they must exist and must not
/// be readable, writable or executable by group or others, as ssh and msmtp demand.
extension ConfigCompiler {
    /// True when `file` exists and its mode gives group and others no access; otherwise reports
    /// an error on `key` naming the file (and its mode) and returns false.
    mutating func isPrivateFile(_ file: String, key: String, what: String, missingHint: String) -> Bool {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
              let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue else {
            fail(key, "cannot read the \(what) file \(file)", hint: missingHint)
            return false
        }
        if mode & 0o077 != 0 {
            fail(key, "the \(what) file \(file) has mode \(String(format: "%04o", mode)); group and others must have no access",
                 hint: "chmod 600 \(file)")
            return false
        }
        return true
    }
}
