// Network sources against real upstreams: camd relaying camd (camd:// and http://…/stream, http+snapshot://),
// ustreamer, ffmpeg and GStreamer serving MJPEG, and hostile upstreams (wrong password, junk, endless headers,
// absurd lengths, stalls). Viewers' frames are decoded; the box's sequence, timestamp and bytes are compared.
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport
import Wire

/// A program the test starts and ends with SIGKILL (Foundation's Process leaves SIGTERM blocked in children).
private final class Upstream {
    let process = Process()
    let logPath = NSTemporaryDirectory() + "upstream-\(UUID().uuidString).log"

    init(_ path: String, _ arguments: [String]) throws {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: logPath)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

private func isCI() -> Bool { ProcessInfo.processInfo.environment["CI"] != nil }

/// Waits until camd's /state says `state` for its source; returns the last /state.
private func waitForSource(_ camd: CamdProcess, _ state: String, timeout: Double = 10) -> [String: Any]? {
    var last: [String: Any]?
    _ = waitUntil(timeout: timeout, interval: 0.05) {
        last = camd.state()
        return last?["source_state"] as? String == state
    }
    return last
}

/// GET /state of a camd started without the test's own listeners.
private func state(httpPort: UInt16) -> [String: Any]? {
    guard let answer = try? httpExchange(port: httpPort, "GET /state HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n"),
          let body = answer.components(separatedBy: "\r\n\r\n").dropFirst().first else { return nil }
    return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
}

/// The first frame a native viewer of `camd` gets that is (or is not) a placeholder, checked to decode.
private func frame(from port: UInt16, placeholder: Bool, timeout: Double = 10) throws -> ReceivedFrame {
    let client = try NativeTestClient(port: port, timeout: timeout)
    defer { client.close() }
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let frame = try client.readFrame()
        if frame.header.isPlaceholder == placeholder {
            let info = try JPEGDecoder().info(frame.payload)
            #expect(info.width == Int(frame.header.width) && info.height == Int(frame.header.height))
            return frame
        }
    }
    throw TestFailure("no \(placeholder ? "placeholder" : "camera") frame from port \(port) within \(timeout) s")
}

extension CamdIntegrationTests {
    /// camd → camd over the native protocol and over HTTP, and camd's /snapshot polled: the relays pass the box's
    /// JPEGs through with the box's sequence numbers and capture times; one upstream connection for three viewers;
    /// the box killed → NO SIGNAL on the relay with its viewers kept → the box back → recovery, each logged once.
    @Test func camdRelaysCamdKeepingSequenceTimestampAndBytesAndSurvivesTheBoxRestarting() throws {
        let boxPort = try freePort(), boxHTTP = try freePort()
        let boxArguments = ["--listen", "127.0.0.1:\(boxPort)", "--http-listen", "127.0.0.1:\(boxHTTP)",
                            "--width", "320", "--height", "240", "--fps", "10", "--idle-after", "0"]
        var box = try CamdProcess(boxArguments, listen: false)
        defer { box.terminate() }
        #expect(try box.waitForLog(containing: "native viewers: tcp://", timeout: 20) != nil)
        let relay = try CamdProcess(["--source", "camd://127.0.0.1:\(boxPort)", "--device-timeout", "1", "--device-retry-max", "0.5"])
        defer { relay.terminate() }
        let httpRelay = try CamdProcess(["--source", "http://127.0.0.1:\(boxHTTP)/stream", "--device-timeout", "1"])
        defer { httpRelay.terminate() }
        let snapshotRelay = try CamdProcess(["--source", "http+snapshot://127.0.0.1:\(boxHTTP)/snapshot", "--fps", "4"])
        defer { snapshotRelay.terminate() }
        // Idle with idle_camera = "stop": the upstream connection is released until a viewer comes.
        let idleRelay = try CamdProcess(["--source", "camd://127.0.0.1:\(boxPort)", "--idle-after", "0.5", "--idle-camera", "stop"])
        defer { idleRelay.terminate() }
        for camd in [relay, httpRelay, snapshotRelay] {
            let state = waitForSource(camd, "streaming")
            #expect(state?["source_state"] as? String == "streaming", "\(camd.log)")
            #expect(state?["width"] as? Int == 320 && state?["height"] as? Int == 240)
        }
        #expect((relay.state()?["source"] as? String) == "camd://127.0.0.1:\(boxPort)")

        // The same frame (sequence) carries the same capture time and the same bytes on the box and on both relays.
        for port in [relay.port, httpRelay.port] {
            let fromBox = try NativeTestClient(port: boxPort)
            let fromRelay = try NativeTestClient(port: port)
            var boxFrames: [UInt64: ReceivedFrame] = [:], relayFrames: [ReceivedFrame] = []
            for _ in 0..<12 {
                let b = try fromBox.readFrame(), r = try fromRelay.readFrame()
                boxFrames[b.header.sequence] = b
                relayFrames.append(r)
            }
            fromBox.close()
            fromRelay.close()
            let common = relayFrames.filter { boxFrames[$0.header.sequence] != nil }
            #expect(common.count >= 5, "relay \(relayFrames.map(\.header.sequence)) box \(boxFrames.keys.sorted())")
            for r in common {
                let b = boxFrames[r.header.sequence]!
                // X-Timestamp carries microseconds; the native header nanoseconds.
                let exact = port == relay.port ? r.header.timestampNanos == b.header.timestampNanos
                    : r.header.timestampNanos / 1000 == b.header.timestampNanos / 1000
                #expect(exact, "\(r.header.timestampNanos) vs \(b.header.timestampNanos)")
                #expect(r.payload == b.payload)
            }
            #expect(zip(relayFrames, relayFrames.dropFirst()).allSatisfy { $0.header.sequence < $1.header.sequence })
        }
        let snapshot = try frame(from: snapshotRelay.port, placeholder: false)
        #expect(snapshot.header.width == 320)

        // Three viewers on the relay, one upstream connection on the box.
        let viewers = try (0..<3).map { _ in try NativeTestClient(port: relay.port) }
        defer { viewers.forEach { $0.close() } }
        for viewer in viewers { _ = try viewer.readFrame() }
        #expect(waitUntil(timeout: 5) { state(httpPort: boxHTTP)?["clients_native"] as? Int == 1 },
                "the box serves the relay once (and the idle relay not at all)")
        #expect(idleRelay.state()?["source_state"] as? String == "stopped")
        let idleViewer = try NativeTestClient(port: idleRelay.port)
        _ = try idleViewer.readFrame()
        #expect(waitUntil(timeout: 5) { state(httpPort: boxHTTP)?["clients_native"] as? Int == 2 }, "a viewer reconnects the idle relay")
        idleViewer.close()

        // The box goes away: the relay shows NO SIGNAL to the viewers it keeps, and says why.
        box.terminate()
        let lost = waitForSource(relay, "no_signal")
        #expect(lost?["source_state"] as? String == "no_signal")
        #expect((lost?["source_error"] as? String).map { $0.contains("closed") || $0.contains("refused") } == true, "\(lost ?? [:])")
        var lastSequence: UInt64 = 0
        for viewer in viewers {
            var sawPlaceholder = false
            for _ in 0..<40 where !sawPlaceholder {
                let f = try viewer.readFrame()
                #expect(f.header.sequence > lastSequence || viewer !== viewers[0])
                if viewer === viewers[0] { lastSequence = f.header.sequence }
                sawPlaceholder = f.header.isPlaceholder && (try? JPEGDecoder().info(f.payload)) != nil
            }
            #expect(sawPlaceholder, "a kept viewer gets decodable NO SIGNAL pictures")
        }
        #expect(waitUntil(timeout: 5) { httpRelay.state()?["source_state"] as? String == "no_signal" })

        // The box is back on the same ports: the relay recovers (its sequence numbers still increase).
        box = try CamdProcess(boxArguments, listen: false)
        #expect(try box.waitForLog(containing: "native viewers: tcp://", timeout: 20) != nil)
        #expect(waitForSource(relay, "streaming")?["source_state"] as? String == "streaming", "\(relay.log)")
        var recovered = false
        for _ in 0..<60 where !recovered {
            let f = try viewers[0].readFrame()
            #expect(f.header.sequence > lastSequence, "sequence \(f.header.sequence) after \(lastSequence)")
            lastSequence = f.header.sequence
            recovered = !f.header.isPlaceholder
        }
        #expect(recovered)
        #expect(try relay.waitForLog(containing: "recovered after", timeout: 5) != nil)
        let lostLines = relay.log.split(separator: "\n").filter { $0.contains("camd://127.0.0.1:\(boxPort) lost:") }
        #expect(lostLines.count == 1, "the outage is logged once: \(lostLines)")
        #expect(waitForSource(httpRelay, "streaming")?["source_state"] as? String == "streaming")
    }

    /// Upstreams nobody here wrote: ustreamer's NO SIGNAL stream (no camera needed), ffmpeg's mpjpeg over HTTP
    /// (chunked, its boundary learned from the body), GStreamer's multipartmux into a tcpserversink (no HTTP at all).
    @Test(.enabled(if: (which("ustreamer") != nil && which("ffmpeg") != nil && which("gst-launch-1.0") != nil) || isCI(),
                   "needs ustreamer, ffmpeg and gst-launch-1.0"))
    func realMJPEGServersAsUpstreams() throws {
        let ustreamerPort = try freePort(), ffmpegPort = try freePort(), gstPort = try freePort()
        let upstreams = [
            try Upstream(which("ustreamer")!, ["--device", "/dev/camd-test-no-such-camera", "--host", "127.0.0.1", "--port", "\(ustreamerPort)"]),
            try Upstream(which("ffmpeg")!, ["-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10",
                                            "-q:v", "5", "-f", "mpjpeg", "-listen", "1", "http://127.0.0.1:\(ffmpegPort)/feed"]),
            try Upstream(which("gst-launch-1.0")!, ["-q", "videotestsrc", "is-live=true", "!", "video/x-raw,width=352,height=288,framerate=10/1",
                                                    "!", "jpegenc", "!", "multipartmux", "!", "tcpserversink", "host=127.0.0.1", "port=\(gstPort)"]),
        ]
        defer { upstreams.forEach { $0.kill() } }
        let cases: [(url: String, port: UInt16, width: Int)] = [
            ("http://127.0.0.1:\(ustreamerPort)/stream", ustreamerPort, 640),
            ("http://127.0.0.1:\(ffmpegPort)/feed", ffmpegPort, 320),
            ("http://127.0.0.1:\(gstPort)/", gstPort, 352),
        ]
        for (url, port, width) in cases {
            // Not probed first (ffmpeg -listen 1 serves one client, then exits): camd retries until it listens.
            _ = port
            let camd = try CamdProcess(["--source", url, "--device-timeout", "3", "--device-retry-max", "0.5"])
            defer { camd.terminate() }
            let state = waitForSource(camd, "streaming", timeout: 15)
            #expect(state?["source_state"] as? String == "streaming", "\(url): \(state ?? [:])\n\(camd.log)")
            let f = try frame(from: camd.port, placeholder: false)
            #expect(Int(f.header.width) == width, "\(url)")
            #expect(state?["frames_invalid"] as? Int == 0)
        }
    }

    /// A wrong password is a clear no_signal (and never logged); hostile upstreams — junk, an endless header line,
    /// too many headers, an absurd Content-Length, an endless part, a part that is not a JPEG, a stall — each end
    /// the connection with a reason naming the problem, memory stays bounded, and the kept viewer keeps getting
    /// NO SIGNAL pictures.
    @Test(.enabled(if: which("python3") != nil || isCI(), "needs python3"))
    func wrongPasswordAndHostileUpstreamsAreOutagesWithClearReasonsAndBoundedMemory() throws {
        let hash = try #require(PasswordHash.make("s3cret"))
        let config = NSTemporaryDirectory() + "netsrc-auth-\(UUID().uuidString).toml"
        try "http_auth = \"admin:\(hash)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let box = try CamdProcess(["--config", config, "--width", "320", "--height", "240", "--fps", "10"])
        defer { box.terminate() }
        let relay = try CamdProcess(["--source", "http://admin:wrong-pw@127.0.0.1:\(box.httpPort)/stream?token=tok-secret-1"])
        defer { relay.terminate() }
        let refused = waitForSource(relay, "no_signal")
        #expect((refused?["source_error"] as? String)?.hasPrefix("HTTP 401") == true, "\(refused ?? [:])")
        #expect(refused?["source"] as? String == "http://admin:***@127.0.0.1:\(box.httpPort)/stream?token=***")
        _ = try frame(from: relay.port, placeholder: true)
        #expect(!relay.log.contains("wrong-pw") && !relay.log.contains("tok-secret-1"), "no secret in the log")
        #expect(relay.log.contains("HTTP 401"))
        let status = try runCommand(Binaries.path("camctl"), ["status", "--socket", relay.controlSocket], timeout: 15).stdout
        #expect(status.contains("http://admin:***@127.0.0.1:\(box.httpPort)/stream?token=***") && status.contains("HTTP 401")
                && !status.contains("wrong-pw"), "\(status)")

        // One behaviour per connection, in turn; each connection held open up to 5 s, the server gone after 90 s.
        // device_timeout 4: even on a loaded machine the 16 MiB bound is reached before the stall timeout.
        // Two hostile servers, each giving one behaviour per connection in turn (a connection held open up to 5 s, the
        // server gone after 90 s), each with its camd: the endless part needs device_timeout 4 (16 MiB must arrive
        // before the stall timeout, even on a loaded machine); the others run at device_timeout 1, at the same time.
        let script = """
        import socket, sys, threading, time
        head = b"HTTP/1.0 200 OK\\r\\nContent-Type: multipart/x-mixed-replace; boundary=b\\r\\n\\r\\n"
        cases = [
            b"\\x00\\xff junk \\x1b[31m\\r\\n" * 10 + b"x" * 100000,
            b"HTTP/1.0 200 OK\\r\\nX-Long: " + b"a" * 3000000,
            b"HTTP/1.0 200 OK\\r\\n" + b"X-Many: 1\\r\\n" * 200,
            head + b"--b\\r\\nContent-Type: image/jpeg\\r\\nContent-Length: 99999999999\\r\\n\\r\\n",
            head + b"--b\\r\\nContent-Type: text/plain\\r\\nContent-Length: 5\\r\\n\\r\\nhello\\r\\n",
            head,
        ]
        if sys.argv[2] == "endless-part":
            cases = [head + b"--b\\r\\nContent-Type: image/jpeg\\r\\n\\r\\n\\xff\\xd8" + b"\\x00" * 20000000]
        server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", int(sys.argv[1]))); server.listen(8); server.settimeout(1)
        def serve(conn, data):
            try:
                conn.sendall(data); time.sleep(5)
            except OSError:
                pass
            conn.close()
        n = 0; end = time.time() + 90
        while time.time() < end:
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            threading.Thread(target=serve, args=(conn, cases[n % len(cases)]), daemon=True).start(); n += 1
        """
        let expected: [(cases: String, timeout: String, messages: [String])] = [
            ("some", "1", ["not an HTTP answer: \\x00\\xef\\xbf\\xbd junk \\x1b[31m", "header line longer than 4096 bytes",
                           "more than 64 response header lines", "part Content-Length 99999999999 is larger than 16777216 bytes",
                           "last part rejected: a part of type text/plain, not image/jpeg", "no complete frame for 1 s"]),
            ("endless-part", "4", ["image larger than 16777216 bytes without a boundary"]),
        ]
        var servers: [Upstream] = []
        defer { servers.forEach { $0.kill() } }
        var relays: [CamdProcess] = []
        defer { relays.forEach { $0.terminate() } }
        // Under AddressSanitizer freed memory is held back (quarantine, 256 MiB by default): counted as resident, it
        // would hide what camd itself keeps. A small quarantine keeps the bound meaningful there too.
        var environment = ProcessInfo.processInfo.environment
        if Sanitizer.active == "address" { environment["ASAN_OPTIONS", default: ""] += " quarantine_size_mb=8" }
        for (cases, timeout, _) in expected {
            let port = try freePort()
            servers.append(try Upstream(which("python3")!, ["-c", script, "\(port)", cases]))
            relays.append(try CamdProcess(["--source", "http://127.0.0.1:\(port)/", "--device-timeout", timeout,
                                           "--device-retry-max", "0.3", "--log-level", "debug"], environment: environment))
        }
        let viewer = try NativeTestClient(port: relays[0].port)
        defer { viewer.close() }
        var peakKiB = 0
        let allSeen = waitUntil(timeout: 60, interval: 0.1) {
            peakKiB = max(peakKiB, relays.map(\.residentKiB).max() ?? 0)
            return zip(relays, expected).allSatisfy { relay, expected in expected.messages.allSatisfy { relay.log.contains($0) } }
        }
        for (relay, expected) in zip(relays, expected) {
            #expect(allSeen, "missing: \(expected.messages.filter { !relay.log.contains($0) })")
            #expect(relay.state()?["source_state"] as? String == "no_signal")
            #expect(relay.log.split(separator: "\n").filter { $0.contains(" unavailable: ") }.count == 1, "the outage is announced once")
        }
        #expect(peakKiB < 200_000, "resident \(peakKiB) KiB")
        var placeholders = 0
        for _ in 0..<2 { if (try viewer.readFrame()).header.isPlaceholder { placeholders += 1 } }
        #expect(placeholders == 2, "the viewer was kept and sees NO SIGNAL")
    }

    /// A bad network source URL: exit 78, one line naming `source` and the problem, the password not in it.
    @Test func aBadUpstreamURLExits78WithOneLineAndNoPassword() throws {
        for (url, problem) in [("http://user:hunter2@/stream", "no host"),
                               ("https://user:hunter2@cam/stream", "https:// upstreams are not supported"),
                               ("camd://127.0.0.1:70000", "port must be a number from 1 to 65535")] {
            let result = try runCommand(Binaries.path("camd"), ["--source", url], timeout: 10)
            #expect(result.status == 78, "\(url): exited \(result.status): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("camd: config error: source = ") && lines[0].contains(problem),
                    "\(result.stderr)")
            #expect(!result.stderr.contains("hunter2"))
        }
    }
}
