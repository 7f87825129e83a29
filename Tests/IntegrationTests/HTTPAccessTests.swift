// http_auth and http_token against the real camd, with curl and ffprobe as the clients; and /snapshot
// before the first frame.
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport

extension CamdIntegrationTests {
    @Test(.enabled(if: which("curl") != nil || ProcessInfo.processInfo.environment["CI"] != nil, "needs curl"))
    func httpAuthAndTokenGuardEveryEndpointAndFailuresAreLoggedWithThePeer() throws {
        let hash = try #require(PasswordHash.make("s3cret"))
        let token = "0123456789abcdef0123"
        let config = NSTemporaryDirectory() + "auth-\(UUID().uuidString).toml"
        try "http_auth = \"admin:\(hash)\"\nhttp_token = \"\(token)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let camd = try CamdProcess(["--config", config, "--width", "320", "--height", "240"])
        let base = "http://127.0.0.1:\(camd.httpPort)"
        func status(_ url: String, _ extra: [String] = []) throws -> String {
            try runCommand(which("curl")!, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3"] + extra + [url]).stdout
        }
        for path in ["/", "/stream", "/snapshot", "/state", "/?action=snapshot", "/nothing"] {
            #expect(try status(base + path) == "401", "\(path) without credentials")
        }
        let challenge = try runCommand(which("curl")!, ["-s", "-D", "-", "-o", "/dev/null", base + "/state"]).stdout
        #expect(challenge.contains("WWW-Authenticate: Basic realm=\"camd\""))
        #expect(try status(base + "/snapshot", ["-u", "admin:wrong"]) == "401")
        #expect(try camd.waitForLog(containing: "authentication failed (user \"admin\") for GET /snapshot", timeout: 3)?
            .contains("http 127.0.0.1:") == true, "the failure is logged with the peer address")
        #expect(try status(base + "/snapshot?token=0123456789abcdef0124") == "401")

        // Right credentials: Basic, or the token as a parameter or a bearer header.
        let path = NSTemporaryDirectory() + "auth-snap-\(UUID().uuidString).jpg"
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try runCommand(which("curl")!, ["-s", "-f", "-u", "admin:s3cret", "-o", path, base + "/snapshot"]).status == 0)
        let decoded = try JPEGDecoder().decodeRGB([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(decoded.info == JPEGInfo(width: 320, height: 240))
        #expect(try status(base + "/state?token=\(token)") == "200")
        #expect(try status(base + "/?action=snapshot&token=\(token)") == "200")
        #expect(try status(base + "/state", ["-H", "Authorization: Bearer \(token)"]) == "200")
        let page = try runCommand(which("curl")!, ["-s", base + "/?token=\(token)"]).stdout
        #expect(page.contains("'?token=' + encodeURIComponent(token)"), "the page passes its token on to /stream and /state")
        if let ffprobe = which("ffprobe") {
            let probe = try runCommand(ffprobe, ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0",
                                                 "http://admin:s3cret@127.0.0.1:\(camd.httpPort)/stream"], timeout: 20)
            #expect(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "mjpeg,320,240", "\(probe.stderr)")
        }
        #expect(!camd.log.contains(hash) && !camd.log.contains(token), "secrets never reach the log")
        #expect(camd.log.contains("http_access=basic+token"))
        #expect(camd.stop() == 0)
    }

    @Test func snapshotBeforeTheFirstFrameIs503WithRetryAfter() throws {
        let camera = try FakeCamera()
        camera.set("stall")
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--device-timeout", "3"], environment: camera.environment())
        let text = try httpExchange(port: camd.httpPort, "GET /snapshot HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n")
        #expect(text.hasPrefix("HTTP/1.1 503 Service Unavailable") && text.contains("Retry-After: 1\r\n"), "\(text)")
        // Once the camera counts as lost, the NO SIGNAL placeholder is the snapshot, marked as such.
        _ = try camd.waitForLog(containing: "no frame", timeout: 6)
        var placeholder = ""
        _ = try waitUntil(timeout: 6, interval: 0.2) {
            placeholder = try httpExchange(port: camd.httpPort, "HEAD /snapshot HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n")
            return placeholder.hasPrefix("HTTP/1.1 200")
        }
        #expect(placeholder.hasPrefix("HTTP/1.1 200 OK") && placeholder.contains("X-Placeholder: 1"), "\(placeholder)")
        #expect(camd.stop() == 0)
    }
}
