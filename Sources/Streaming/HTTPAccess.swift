// HTTPAccess: optional access control for every HTTP endpoint — HTTP Basic against a crypt(3) hash
// and/or an access token (?token=… or "Authorization: Bearer …"). Sans-IO apart from crypt itself.
import CamdSystem
import FoundationEssentials
import Wire

/// Who may use the HTTP endpoints. Both nil: anyone (the default).
public struct HTTPAccessPolicy: Sendable, Equatable {
    /// HTTP Basic: the user name and a crypt(3) hash of the password ("$6$…", "$y$…").
    public var basic: (user: String, hash: String)?
    /// An access token accepted as `?token=` or `Authorization: Bearer`.
    public var token: String?

    public init(basic: (user: String, hash: String)? = nil, token: String? = nil) {
        self.basic = basic
        self.token = token
    }

    public static let open = HTTPAccessPolicy()
    public var isOpen: Bool { basic == nil && token == nil }

    public static func == (a: Self, b: Self) -> Bool {
        a.basic?.user == b.basic?.user && a.basic?.hash == b.basic?.hash && a.token == b.token
    }
}

/// Checks requests against an HTTPAccessPolicy. crypt runs on the reactor thread, so its cost is bounded:
/// verdicts are cached per Authorization value (a browser repeats the same header on every request), and
/// at most `verificationsPerSecond` new values are hashed per second; beyond that a request is refused
/// without hashing (a password-guessing flood cannot stall the stream). Public so that the RTSP server, which
/// shares HTTP's access rules (Basic and the token in the URL), checks its requests with the same instance.
public struct HTTPAccessControl {
    public enum Decision: Equatable, Sendable {
        case allowed
        /// No credentials were presented (a browser's first request): 401, not worth a log line.
        case missing
        /// Credentials were presented and are wrong; `who` names the user tried, if any.
        case denied(who: String)
        /// Too many new credentials this second; refused without checking.
        case throttled
    }

    public let policy: HTTPAccessPolicy
    public static let verificationsPerSecond = 20
    static let cacheLimit = 64
    private var verdicts: [String: Bool] = [:]
    private var windowStart: UInt64 = 0
    private var verificationsInWindow = 0

    public init(policy: HTTPAccessPolicy) { self.policy = policy }

    mutating func check(_ request: HTTPRequest, now: UInt64) -> Decision {
        check(authorization: request.headers["authorization"], token: request.parameter("token"), now: now)
    }

    /// Any protocol's request: its Authorization header's value and its URL's `token` parameter, if present.
    public mutating func check(authorization: String?, token given: String?, now: UInt64) -> Decision {
        if policy.isOpen { return .allowed }
        if let token = policy.token {
            if let given, Self.constantTimeEqual(given, token) { return .allowed }
            if let auth = authorization, auth.lowercased().hasPrefix("bearer "),
               Self.constantTimeEqual(auth.dropFirst(7).trimmingWhitespace(), token) { return .allowed }
        }
        let presented = given != nil || authorization != nil
        guard let basic = policy.basic, let auth = authorization, auth.lowercased().hasPrefix("basic ") else {
            return presented ? .denied(who: given != nil ? "token" : "credentials") : .missing
        }
        guard let (user, password) = Self.decodeBasic(String(auth.dropFirst(6))) else { return .denied(who: "malformed Basic") }
        if let verdict = verdicts[auth] { return verdict ? .allowed : .denied(who: "user \"\(user)\"") }
        if now >= windowStart + 1_000_000_000 {
            windowStart = now
            verificationsInWindow = 0
        }
        guard verificationsInWindow < Self.verificationsPerSecond else { return .throttled }
        verificationsInWindow += 1
        let ok = Self.constantTimeEqual(user, basic.user) && PasswordHash.matches(password, hash: basic.hash)
        if verdicts.count >= Self.cacheLimit { verdicts.removeAll(keepingCapacity: true) }
        verdicts[auth] = ok
        return ok ? .allowed : .denied(who: "user \"\(user)\"")
    }

    /// "dXNlcjpwYXNz" → ("user", "pass"); nil unless base64 of "user:password" in UTF-8.
    static func decodeBasic(_ encoded: String) -> (String, String)? {
        guard let data = Data(base64Encoded: encoded.trimmingWhitespace()),
              let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// Compares without stopping at the first difference, so timing does not reveal a token's prefix.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }

    /// The WWW-Authenticate header a 401 carries when Basic is configured (browsers then ask for a password).
    public var challenge: String {
        policy.basic != nil ? "WWW-Authenticate: Basic realm=\"camd\", charset=\"UTF-8\"\r\n" : ""
    }
}
