// Idle mode against the real camd: with nobody watching for idle_after, no frames are made (the test pattern is
// not drawn, a camera's frames are not taken, or with idle_camera = "stop" the camera is closed); the first
// viewer, or a snapshot, gets a live frame, never the stale one from before.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport

/// One snapshot fetched with curl: its headers (lower-case names) and body.
/// A /snapshot answer as curl got it: the status, the headers (lower-case names) and the body.
struct HTTPSnapshot {
    var status: Int32
    var headers: [String: String]
    var body: [UInt8]
}

/// One GET /snapshot with curl (up to 15 s: a snapshot may wait for a live frame), headers kept.
func curlSnapshotWithHeaders(port: UInt16) throws -> HTTPSnapshot {
    let curl = try #require(which("curl"), "curl is needed (scripts/deps.sh installs it)")
    let file = NSTemporaryDirectory() + "idle-snapshot-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: file) }
    let result = try runCommand(curl, ["-s", "--max-time", "15", "-D", "-", "-o", file, "http://127.0.0.1:\(port)/snapshot"], timeout: 20)
    var headers: [String: String] = [:]
    for line in result.stdout.split(separator: "\r\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let body = FileManager.default.contents(atPath: file).map { [UInt8]($0) } ?? []
    return HTTPSnapshot(status: result.status, headers: headers, body: body)
}

private func camctl(_ arguments: [String], socket: String) throws -> CommandResult {
    try runCommand(Binaries.path("camctl"), arguments + ["--socket", socket], timeout: 15)
}

extension CamdProcess {
    /// Waits until /state says the capture is idle (or not), and returns that state.
    fileprivate func waitForIdle(_ idle: Bool = true, timeout: Double = 20) -> [String: Any]? {
        var seen: [String: Any]?
        _ = waitUntil(timeout: timeout, interval: 0.05) {
            seen = state()
            return seen?["idle"] as? Bool == idle
        }
        return seen?["idle"] as? Bool == idle ? seen : nil
    }
}

extension CamdIntegrationTests {
    @Test func anIdleTestPatternMakesNoFramesAndTheNextViewerGetsALiveOne() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240", "--fps", "30", "--idle-after", "0.5"])
        let idle = try #require(camd.waitForIdle(), "camd never went idle: \(camd.log)")
        let lastSequence = try #require((idle["sequence"] as? NSNumber)?.uint64Value)
        #expect(idle["fps"] as? Double == 0 && idle["idle_camera"] as? String == "keep", "\(idle)")
        #expect(camd.log.contains("idle: no viewer for 0.5 s (idle_after); no frames made"), "\(camd.log)")
        // Let the idle stretch be long enough that a frame made meanwhile would show in the sequence (a condition,
        // not a sleep: /state is read until the capture has been idle for over a second).
        #expect(waitUntil(timeout: 20) { (camd.state()?["idle_seconds"] as? Double ?? 0) > 1.2 })
        let still = try #require(camd.state())
        #expect((still["sequence"] as? NSNumber)?.uint64Value == lastSequence, "frames were made while idle: \(still)")
        #expect((still["frames_captured"] as? NSNumber)?.uint64Value == (idle["frames_captured"] as? NSNumber)?.uint64Value)

        let connected = Clock.realtimeNanos()
        let viewer = try NativeTestClient(port: camd.port)
        let first = try viewer.readFrame()
        // The first frame is made after the viewer came: the next in sequence (nothing was made while idle), and
        // captured after the connect — not the stale last frame from before.
        #expect(first.header.sequence == lastSequence + 1, "first frame \(first.header.sequence), idle at \(lastSequence)")
        #expect(first.header.timestampNanos >= connected, "the first frame is older than the viewer")
        #expect(first.isJPEG && !first.header.isPlaceholder)
        let more = try (0..<10).map { _ in try viewer.readFrame().header.sequence }
        #expect(zip(more, more.dropFirst()).allSatisfy { $1 > $0 })
        #expect(camd.state()?["idle"] as? Bool == false)
        #expect(camd.log.contains("capture resumed after"), "\(camd.log)")
        // The viewer leaves: idle again after idle_after.
        viewer.close()
        #expect(camd.waitForIdle() != nil)
        #expect(camd.stop() == 0)
    }

    @Test func aSnapshotWhileIdleWaitsForALiveFrameAndAStreamStartsWithOne() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240", "--fps", "15", "--idle-after", "0.5"])
        let idle = try #require(camd.waitForIdle(), "camd never went idle: \(camd.log)")
        let lastSequence = try #require((idle["sequence"] as? NSNumber)?.uint64Value)
        let asked = Clock.realtimeNanos()
        let snapshot = try curlSnapshotWithHeaders(port: camd.httpPort)
        #expect(snapshot.status == 0 && snapshot.headers["x-stale"] == nil, "\(snapshot.headers)")
        let sequence = try #require(snapshot.headers["x-sequence"].flatMap { UInt64($0) }, "\(snapshot.headers)")
        #expect(sequence == lastSequence + 1, "the snapshot is frame \(sequence); the capture idled at \(lastSequence)")
        let stamp = try #require(snapshot.headers["x-timestamp"].flatMap { Double($0) })
        #expect(stamp * 1e9 >= Double(asked) - 1e6, "the snapshot was captured before it was asked for")
        #expect(try JPEGDecoder().info(snapshot.body) == JPEGInfo(width: 320, height: 240))
        // The snapshot counts as demand: the capture runs again, then idles after idle_after.
        #expect(camd.waitForIdle() != nil)

        // An HTTP viewer's first part is live too.
        let client = try NativeTestClient(port: camd.httpPort)
        let connected = Clock.realtimeNanos()
        try client.send(Array("GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n".utf8))
        var received: [UInt8] = []
        var partStamp: Double?
        #expect(waitUntil(timeout: 10) {
            received += client.receiveAllBytes(wait: 0.2)
            let text = String(decoding: received.prefix(4096), as: UTF8.self)
            guard let line = text.split(separator: "\r\n").first(where: { $0.hasPrefix("X-Timestamp: ") }) else { return false }
            partStamp = Double(line.dropFirst("X-Timestamp: ".count))
            return true
        })
        let first = try #require(partStamp)
        #expect(first * 1e9 >= Double(connected) - 1e6, "the stream's first part is older than the viewer")
        #expect(camd.stop() == 0)
    }

    @Test func idleSettingsChangeLiveAndZeroMeansNeverIdle() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240", "--idle-after", "0.3"])
        #expect(camd.waitForIdle() != nil)
        let status = try camctl(["status"], socket: camd.controlSocket)
        #expect(status.status == 0 && status.stdout.contains("no viewer, no frames made (camera: keep)"), "\(status)")
        // idle_after = 0: the capture wakes at once and stays awake with nobody watching.
        let set = try camctl(["set", "idle_after", "0"], socket: camd.controlSocket)
        #expect(set.status == 0, "\(set)")
        let awake = try #require(camd.waitForIdle(false))
        let before = (awake["frames_captured"] as? NSNumber)?.uint64Value ?? 0
        #expect(waitUntil(timeout: 10) { ((camd.state()?["frames_captured"] as? NSNumber)?.uint64Value ?? 0) > before + 20 })
        #expect(camd.state()?["idle"] as? Bool == false)
        #expect(try camctl(["set", "idle_camera", "off"], socket: camd.controlSocket).stderr.contains("must be one of \"keep\", \"stop\""))
        #expect(camd.stop() == 0)
    }

    @Test func aKeptCameraStreamsWhileIdleWithoutConvertingAndAStoppedOneIsClosedAndReopened() throws {
        // keep: the camera stays open and streaming; camd takes none of its frames, and none reach the ring.
        let camera = try FakeCamera()
        let kept = try CamdProcess(["--source", "v4l2:\(camera.device)", "--format", "yuyv", "--idle-after", "0.5"],
                                   environment: camera.environment())
        let keptIdle = try #require(kept.waitForIdle(), "\(kept.log)")
        #expect(keptIdle["source_state"] as? String == "streaming", "\(keptIdle)")
        #expect(kept.log.contains("camera kept streaming, its frames not taken"), "\(kept.log)")
        let keptSequence = try #require((keptIdle["sequence"] as? NSNumber)?.uint64Value)
        let connected = Clock.realtimeNanos()
        let viewer = try NativeTestClient(port: kept.port)
        let first = try viewer.readFrame()
        #expect(first.header.sequence == keptSequence + 1 && first.header.timestampNanos >= connected && !first.header.isPlaceholder)
        #expect(try JPEGDecoder().info(first.payload) == JPEGInfo(width: 640, height: 480))
        #expect(!camera.requests.contains("CLOSE"), "the kept camera was closed: \(camera.requests)")
        viewer.close()
        #expect(kept.stop() == 0)

        // stop: the camera is closed while idle (its stream stops) and reopened for the next viewer.
        let other = try FakeCamera()
        let stopped = try CamdProcess(["--source", "v4l2:\(other.device)", "--idle-after", "0.5", "--idle-camera", "stop"],
                                      environment: other.environment())
        var idle: [String: Any]?
        #expect(waitUntil(timeout: 20) {
            idle = stopped.state()
            return idle?["source_state"] as? String == "stopped"
        }, "\(idle ?? [:]) \(stopped.log)")
        #expect(idle?["idle"] as? Bool == true)
        #expect(other.requests.components(separatedBy: "CLOSE").count >= 2, "the camera was not closed: \(other.requests)")
        let opensBefore = other.requests.components(separatedBy: "OPEN").count
        let stoppedSequence = try #require((idle?["sequence"] as? NSNumber)?.uint64Value)
        let viewer2 = try NativeTestClient(port: stopped.port)
        let frame = try viewer2.readFrame()
        #expect(frame.header.sequence == stoppedSequence + 1 && !frame.header.isPlaceholder && frame.isJPEG)
        #expect(other.requests.components(separatedBy: "OPEN").count > opensBefore, "not reopened: \(other.requests)")
        #expect(waitUntil(timeout: 10) { stopped.state()?["source_state"] as? String == "streaming" })
        // A routine restart, not an outage: no "lost" or "unavailable" line.
        #expect(!stopped.log.contains("lost") && !stopped.log.contains("unavailable"), "\(stopped.log)")
        #expect(stopped.log.contains("restarted camera /dev/video-fake"), "\(stopped.log)")
        viewer2.close()
        #expect(stopped.stop() == 0)
    }

    @Test func aSnapshotThatGetsNoLiveFrameInTimeIsTheLastOneMarkedStale() throws {
        // A stopped camera that reopens but then delivers nothing (stall): after the snapshot's wait (3 s) the
        // last frame is sent, marked X-Stale, rather than nothing at all.
        let camera = try FakeCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--idle-after", "0.5", "--idle-camera", "stop",
                                    "--device-timeout", "20"], environment: camera.environment())
        var idle: [String: Any]?
        #expect(waitUntil(timeout: 20) {
            idle = camd.state()
            return idle?["source_state"] as? String == "stopped"
        }, "\(camd.log)")
        let lastSequence = try #require((idle?["sequence"] as? NSNumber)?.uint64Value)
        camera.set("stall")
        let snapshot = try curlSnapshotWithHeaders(port: camd.httpPort)
        #expect(snapshot.status == 0 && snapshot.headers["x-stale"] == "1", "\(snapshot.headers)")
        #expect(snapshot.headers["x-sequence"] == "\(lastSequence)")
        #expect(try JPEGDecoder().info(snapshot.body).width == 320)
        camera.set("ok")
        #expect(camd.stop() == 0)
    }
}
