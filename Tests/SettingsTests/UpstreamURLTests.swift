// Network source URLs: parsed when the config is read, secrets never shown, bad ones one line naming `source`.
import CamdSystem
import Settings
import Testing

struct UpstreamURLTests {
    @Test func camdHTTPAndSnapshotURLs() throws {
        let camd = try #require(try UpstreamURL(configText: "camd://127.0.0.1"))
        #expect(camd.scheme == .camd && camd.port == 9999 && camd.description == "camd://127.0.0.1:9999")
        let http = try #require(try UpstreamURL(configText: "http://admin:p%40ss:w@192.0.2.7:8081/video.mjpg?action=stream&token=abc"))
        #expect(http.user == "admin" && http.password == "p@ss:w" && http.port == 8081 && http.target == "/video.mjpg?action=stream&token=abc")
        #expect(http.description == "http://admin:***@192.0.2.7:8081/video.mjpg?action=stream&token=***")
        #expect(http.basicAuthorization == "Basic YWRtaW46cEBzczp3")
        let snapshot = try #require(try UpstreamURL(configText: "http+snapshot://[::1]/snap.jpg"))
        #expect(snapshot.scheme == .httpSnapshot && snapshot.hostForURL == "[::1]" && snapshot.port == 80)
        #expect(try UpstreamURL(configText: "testpattern") == nil)
    }

    @Test func badURLsAreOneLineNamingSourceWithoutThePassword() {
        for (value, problem) in [("https://cam/stream", "https:// upstreams are not supported"),
                                 ("camd://host:99999", "port must be a number from 1 to 65535"),
                                 ("camd://10.0.0.1:9999/path", "camd:// takes HOST[:PORT] only"),
                                 ("http://user:hunter2@/x", "no host"),
                                 ("http://cam.invalid./x", "cannot resolve"),
                                 ("ftp://cam", "unknown source"), ("rtsp://admin:hunter2@cam/live", "unknown source")] {
            do {
                _ = try ConfigLoader.parse("source = \"\(value)\"\n")
                Issue.record("\(value) accepted")
            } catch {
                #expect(error.description.hasPrefix("source") && error.description.contains(problem), "\(error)")
                #expect(!error.description.contains("hunter2") && !error.description.contains("\n"))
            }
        }
    }
}
