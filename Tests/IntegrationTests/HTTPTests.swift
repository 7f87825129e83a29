// HTTP MJPEG with real clients (curl, ffmpeg/ffprobe, OpenCV, GStreamer) and hostile inputs.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import JPEG
import Locking
import Testing
import TestSupport

private var clientsAvailable: Bool { which("curl") != nil && which("ffprobe") != nil && which("ffmpeg") != nil }

extension CamdIntegrationTests {
    @Test(.enabled(if: clientsAvailable || ProcessInfo.processInfo.environment["CI"] != nil, "needs curl and ffmpeg"))
    func curlAndFFmpegReadSnapshotAndStream() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240"])
        let base = "http://127.0.0.1:\(camd.httpPort)"
        let path = NSTemporaryDirectory() + "snap-\(UUID().uuidString).jpg"
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The listeners are up before the first frame: a snapshot asked at once may rightly get 503 (under load it did).
        #expect(waitUntil(timeout: 10) { (camd.state()?["sequence"] as? Int ?? 0) > 0 })
        let curl = try runCommand(which("curl")!, ["-s", "-D", "-", "-o", path, base + "/snapshot"])
        #expect(curl.status == 0)
        #expect(curl.stdout.hasPrefix("HTTP/1.1 200 OK") && curl.stdout.contains("Content-Type: image/jpeg"))
        #expect(curl.stdout.contains("X-Timestamp: ") && curl.stdout.contains("Cache-Control: no-store"))
        let decoded = try JPEGDecoder().decodeRGB([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(decoded.info == JPEGInfo(width: 320, height: 240))

        let probe = try runCommand(which("ffprobe")!, ["-v", "error", "-show_entries", "stream=codec_name,width,height",
                                                       "-of", "csv=p=0", base + "/stream"], timeout: 20)
        #expect(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "mjpeg,320,240", "\(probe.stdout) \(probe.stderr)")
        let frames = try runCommand(which("ffmpeg")!, ["-v", "error", "-i", base + "/?action=stream", "-frames:v", "30",
                                                       "-f", "framemd5", "-"], timeout: 30)
        #expect(frames.status == 0, "\(frames.stderr)")
        #expect(frames.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.count == 30)
        #expect(camd.stop() == 0)
    }

    @Test(.enabled(if: which("python3") != nil && (try? runCommand(which("python3")!, ["-c", "import cv2"]).status) == 0
                   || ProcessInfo.processInfo.environment["CI"] != nil, "needs OpenCV"))
    func openCVVideoCaptureReadsTheStream() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240"])
        let script = """
        import cv2, sys
        cap = cv2.VideoCapture(sys.argv[1])
        shapes = []
        for _ in range(5):
            ok, frame = cap.read()
            shapes.append(frame.shape if ok else None)
        print(shapes)
        """
        let result = try runCommand(which("python3")!, ["-c", script, "http://127.0.0.1:\(camd.httpPort)/stream"], timeout: 30)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[(240, 320, 3), (240, 320, 3), (240, 320, 3), (240, 320, 3), (240, 320, 3)]",
                "\(result.stdout) \(result.stderr)")
        #expect(camd.stop() == 0)
    }

    @Test(.enabled(if: which("gst-launch-1.0") != nil || ProcessInfo.processInfo.environment["CI"] != nil, "needs GStreamer"))
    func gstreamerDemuxesAndDecodesThreeSeconds() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240", "--fps", "30"])
        let start = Date()
        let result = try runCommand(which("gst-launch-1.0")!, ["-q", "souphttpsrc", "location=http://127.0.0.1:\(camd.httpPort)/stream",
                                                               "!", "multipartdemux", "!", "jpegdec", "!", "fakesink", "num-buffers=90"],
                                    timeout: 20)
        let elapsed = Date().timeIntervalSince(start)
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(elapsed > 2.5, "90 frames at 30 fps took \(elapsed) s")
        #expect(camd.stop() == 0)
    }

    @Test func stateSnapshotHeadAndThePageAnswer() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240"])
        let native = try NativeTestClient(port: camd.port)
        _ = try native.readFrame()
        // The measured frame rate needs a second or so of frames.
        #expect(waitUntil(timeout: 10, interval: 0.2) { (camd.state()?["fps"] as? Double ?? 0) > 20 }, "\(camd.state() ?? [:])")
        let state = try httpExchange(port: camd.httpPort, Array("GET /state HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n".utf8))
        #expect(state.hasPrefix("HTTP/1.1 200 OK") && state.contains("Content-Type: application/json"))
        let body = Data(state.components(separatedBy: "\r\n\r\n")[1].utf8)
        let json = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(json["source"] as? String == "testpattern" && json["source_state"] as? String == "streaming")
        #expect(json["width"] as? Int == 320 && json["height"] as? Int == 240)
        #expect(json["clients_native"] as? Int == 1 && (json["fps"] as? Double ?? 0) > 20)
        for key in ["uptime_seconds", "frames_dropped", "sequence", "frames_sent", "target_fps"] { #expect(json[key] != nil, "\(key)") }

        let head = try httpExchange(port: camd.httpPort, Array("HEAD /snapshot HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n".utf8))
        #expect(head.hasPrefix("HTTP/1.1 200 OK") && head.contains("Content-Length: ") && head.hasSuffix("\r\n\r\n"), "\(head)")
        let page = try httpExchange(port: camd.httpPort, Array("GET / HTTP/1.0\r\n\r\n".utf8))
        #expect(page.contains("text/html") && page.contains("<img id=\"live\" src=\"stream\"") && page.contains("fetch('state'"))
        #expect(!page.contains("http://") && !page.contains("https://"), "the page uses no external assets")
        // Keep-alive and pipelining: two requests in one write, two answers on one connection.
        let two = try httpExchange(port: camd.httpPort, Array("GET /state HTTP/1.1\r\nHost: cam\r\n\r\nGET /nothing HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n".utf8))
        #expect(two.components(separatedBy: "HTTP/1.1 200 OK").count == 2 && two.contains("HTTP/1.1 404 Not Found"), "\(two)")
        #expect(camd.stop() == 0)
    }

    @Test func hostileRequestsGetTheirStatusWhileAStreamContinuesWithoutAGap() throws {
        let camd = try CamdProcess(["--fps", "30", "--request-timeout", "1"])
        // Two viewers (native and HTTP are the same fan-out) read throughout, on their own threads.
        let watched = LockedValue<[ViewerResult]>([])
        let port = camd.port
        let watching = Thread {
            let results = runViewers(count: 2, port: port, seconds: 3.5, warmup: 0.2)
            watched.withLock { $0 = results }
        }
        watching.start()
        #expect(waitUntil(timeout: 10, interval: 0.05) { camd.state()?["clients_native"] as? Int == 2 }, "\(camd.state() ?? [:])")
        let cases: [(String, [UInt8])] = [
            ("HTTP/1.1 405 Method Not Allowed", Array("POST /stream HTTP/1.1\r\nHost: cam\r\nContent-Length: 0\r\n\r\n".utf8)),
            ("HTTP/1.1 400 Bad Request", (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 91) } + Array("\r\n\r\n".utf8)),
            ("HTTP/1.1 431 Request Header Fields Too Large", Array(("GET / HTTP/1.1\r\nX-A: " + String(repeating: "a", count: 10000)).utf8)),
            ("HTTP/1.1 404 Not Found", Array("GET /secret HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n".utf8)),
            ("HTTP/1.1 505 HTTP Version Not Supported", Array("GET / HTTP/3.0\r\n\r\n".utf8)),
        ]
        for (status, request) in cases {
            let answer = try httpExchange(port: camd.httpPort, request)
            #expect(answer.hasPrefix(status), "expected \(status), got \(answer.prefix(80))")
            if status.contains("405") { #expect(answer.contains("Allow: GET, HEAD")) }
        }
        // Slowloris: half a request, then silence: closed after request_timeout (1 s).
        let slow = try NativeTestClient(port: camd.httpPort, timeout: 5)
        try slow.send(Array("GET /stream HTTP/1.1\r\nHost: x\r\n".utf8))
        let start = Date()
        #expect(slow.drainUntilClosed(timeout: 4))
        #expect(Date().timeIntervalSince(start) < 2.5)
        #expect(waitUntil(timeout: 15, interval: 0.05) { !watched.withLock { $0.isEmpty } }, "the two viewers did not finish")
        for result in watched.withLock({ $0 }) {
            #expect(result.error == nil && result.frames >= 90, "\(result.frames) frames, \(result.error ?? "")")
            let gaps = zip(result.sequences, result.sequences.dropFirst()).filter { $1 != $0 + 1 }
            #expect(gaps.isEmpty, "the concurrent viewer missed frames: \(gaps.prefix(5))")
        }
        #expect(camd.process.isRunning)
        #expect(camd.stop() == 0)
    }

    @Test func httpViewersShareTheFanOutAndAStalledOneIsDropped() throws {
        let camd = try CamdProcess(["--fps", "30", "--client-timeout", "2", "--width", "1280", "--height", "720", "--max-clients", "4"])
        let stalled = try NativeTestClient(port: camd.httpPort, receiveBuffer: 4096)
        try stalled.send(Array("GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n".utf8))
        let line = try camd.waitForLog(containing: "timeout: accepted no data for ", timeout: 8)
        #expect(line != nil, "\(camd.log)")
        #expect(stalled.drainUntilClosed(timeout: 3))
        // HTTP stream viewers count in max_clients like native ones.
        let a = try NativeTestClient(port: camd.httpPort), b = try NativeTestClient(port: camd.httpPort)
        try a.send(Array("GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n".utf8)); try b.send(Array("GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n".utf8))
        let n1 = try NativeTestClient(port: camd.port), n2 = try NativeTestClient(port: camd.port)
        _ = try n1.readFrame(); _ = try n2.readFrame()
        #expect(waitUntil(timeout: 10) { camd.state()?["viewers"] as? Int == 4 }, "\(camd.state() ?? [:])")
        let refused = try NativeTestClient(port: camd.port)
        #expect(throws: (any Error).self) { try refused.readFrame() }
        #expect(camd.stop() == 0)
    }
}
