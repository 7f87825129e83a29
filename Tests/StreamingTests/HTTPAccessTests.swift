// HTTP access control: Basic against a crypt hash, tokens, the verdict cache and the hashing budget.
import CamdSystem
import FoundationEssentials
@testable import Streaming
import Wire
import Testing

struct HTTPAccessTests {
    static let hash = PasswordHash.make("s3cret")!

    func request(_ target: String, authorization: String? = nil) -> HTTPRequest {
        var head = "GET \(target) HTTP/1.1\r\nHost: cam\r\n"
        if let authorization { head += "Authorization: \(authorization)\r\n" }
        guard case .request(let request, _) = HTTPRequestParser().parse(Array((head + "\r\n").utf8)) else {
            fatalError("test request did not parse")
        }
        return request
    }

    func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test func anOpenPolicyAllowsEverything() {
        var control = HTTPAccessControl(policy: .open)
        #expect(control.check(request("/stream"), now: 0) == .allowed)
        #expect(control.challenge == "")
    }

    @Test func basicAuthChecksUserAndPassword() {
        var control = HTTPAccessControl(policy: HTTPAccessPolicy(basic: ("admin", Self.hash)))
        #expect(control.check(request("/stream"), now: 0) == .missing)
        #expect(control.check(request("/stream", authorization: basic("admin", "s3cret")), now: 0) == .allowed)
        #expect(control.check(request("/stream", authorization: basic("admin", "wrong")), now: 0) == .denied(who: "user \"admin\""))
        #expect(control.check(request("/stream", authorization: basic("root", "s3cret")), now: 0) == .denied(who: "user \"root\""))
        #expect(control.check(request("/stream", authorization: "Basic !!notbase64"), now: 0) == .denied(who: "malformed Basic"))
        // A password containing ":" splits at the first colon only.
        #expect(HTTPAccessControl.decodeBasic(Data("u:a:b".utf8).base64EncodedString())! == ("u", "a:b"))
        #expect(control.challenge.hasPrefix("WWW-Authenticate: Basic realm=\"camd\""))
    }

    @Test func aTokenWorksAsQueryParameterOrBearer() {
        var control = HTTPAccessControl(policy: HTTPAccessPolicy(token: "abcdefghijklmnop"))
        #expect(control.check(request("/snapshot?token=abcdefghijklmnop"), now: 0) == .allowed)
        #expect(control.check(request("/?action=stream&token=abcdefghijklmnop"), now: 0) == .allowed)
        #expect(control.check(request("/snapshot", authorization: "Bearer abcdefghijklmnop"), now: 0) == .allowed)
        #expect(control.check(request("/snapshot?token=abcdefghijklmnoq"), now: 0) == .denied(who: "token"))
        #expect(control.check(request("/snapshot?token=abcdefghijklmno"), now: 0) == .denied(who: "token"))
        #expect(control.check(request("/snapshot"), now: 0) == .missing)
        // Without Basic configured there is no challenge: a browser should not pop up a password box.
        #expect(control.challenge == "")
    }

    @Test func eitherCredentialIsEnoughWhenBothAreConfigured() {
        var control = HTTPAccessControl(policy: HTTPAccessPolicy(basic: ("admin", Self.hash), token: "abcdefghijklmnop"))
        #expect(control.check(request("/state?token=abcdefghijklmnop"), now: 0) == .allowed)
        #expect(control.check(request("/state", authorization: basic("admin", "s3cret")), now: 0) == .allowed)
        #expect(control.check(request("/state?token=nope"), now: 0) == .denied(who: "token"))
    }

    @Test func newCredentialsAreHashedAtMostTwentyTimesPerSecond() {
        var control = HTTPAccessControl(policy: HTTPAccessPolicy(basic: ("admin", Self.hash)))
        let good = request("/stream", authorization: basic("admin", "s3cret"))
        #expect(control.check(good, now: 0) == .allowed)
        for guess in 0..<19 {
            #expect(control.check(request("/", authorization: basic("admin", "guess\(guess)")), now: 1) == .denied(who: "user \"admin\""))
        }
        // Budget spent: a new guess is refused unchecked, but a cached good credential still works.
        #expect(control.check(request("/", authorization: basic("admin", "guess-more")), now: 2) == .throttled)
        #expect(control.check(good, now: 3) == .allowed)
        // A second later the budget is back.
        #expect(control.check(request("/", authorization: basic("admin", "guess-more")), now: 1_000_000_001) == .denied(who: "user \"admin\""))
    }

    @Test func comparisonIsExactAndLengthAware() {
        #expect(HTTPAccessControl.constantTimeEqual("abc", "abc"))
        #expect(!HTTPAccessControl.constantTimeEqual("abc", "abd"))
        #expect(!HTTPAccessControl.constantTimeEqual("abc", "abcd"))
        #expect(!HTTPAccessControl.constantTimeEqual("", "a"))
    }
}
