/// The self-referrer filter: a click whose normalised referrer equals its own normalised URL is a
/// reload of the page it points to, not an outbound click, and is not qualified.
///
/// Both fields are normalised by ``URLNormalizer`` (lower-case scheme and host; no userinfo,
/// default port, fragment or trailing slash of the path; the query kept byte for byte) and compared
/// part by part over the decoded bytes, so a check allocates nothing.
///
/// A referrer or URL that is missing, not a string, or not an absolute URL with a host (empty,
/// garbage, relative) never matches: the click is *not* a self-referral on that account, and it is
/// never an error.
public enum SelfReferrerCheck {
    /// Whether the click with these `referrer` and `url` fields refers to itself.
    public static func isSelfReferral(referrer: FieldValue, url: FieldValue) -> Bool {
        guard referrer.kind == .string, url.kind == .string else { return false }
        return URLNormalizer.sameResource(referrer.string, url.string)
    }
}
