// drop_same_frames through the real camd: a camera sending the same picture every frame (the fake camera's one
// JPEG) reaches a viewer at about fps/(N+1), while /state, /metrics and camctl keep the capture rate and count
// the unchanged frames; changing pictures (the test pattern) are all sent; camctl set turns it off live.
import CamdSystem
import Foundation
import Testing
import TestSupport

private func number(_ state: [String: Any]?, _ key: String) -> Double {
    (state?[key] as? NSNumber)?.doubleValue ?? -1
}

/// Frames a viewer received per second, between its first and last frame (at least two).
private func receivedRate(_ frames: [ReceivedFrame]) -> Double {
    guard frames.count >= 2, let first = frames.first, let last = frames.last, last.receivedNanos > first.receivedNanos else { return 0 }
    return Double(frames.count - 1) / (Double(last.receivedNanos - first.receivedNanos) / 1e9)
}

extension CamdIntegrationTests {
    @Test func aStaticCameraIsSentAtAboutFpsOverNPlusOneWhileStateKeepsTheCaptureRate() throws {
        let camera = try FakeCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--fps", "30", "--drop-same-frames", "10"],
                                   environment: camera.environment(["FAKE_V4L2_FORMATS": "MJPG"]))
        defer { camd.stop() }
        let viewer = try NativeTestClient(port: camd.port, timeout: 15)
        _ = try viewer.readFrame()
        #expect(waitUntil(timeout: 15) { number(camd.state(), "capture_fps") >= 15 }, "capture never reached speed: \(camd.state() ?? [:])")

        let before = camd.state()
        let frames = try (0..<8).map { _ in try viewer.readFrame() }
        let after = camd.state()
        let rate = receivedRate(frames)
        // 30 fps captured, 10 of every 11 identical ones dropped: 2.7 fps sent (a CPU hog may slow the capture).
        #expect(rate > 1.0 && rate < 6.0, "viewer received \(rate) fps")
        #expect(zip(frames, frames.dropFirst()).allSatisfy { $1.header.sequence == $0.header.sequence + 1 },
                "unchanged frames take no sequence number: \(frames.map(\.header.sequence))")
        #expect(frames.allSatisfy { !$0.header.isPlaceholder && $0.isJPEG })
        // Between the two samples: 10 unchanged per published frame (the window's edges cut at most one run each).
        let unchanged = number(after, "frames_unchanged") - number(before, "frames_unchanged")
        let published = (number(after, "frames_captured") - number(after, "frames_unchanged"))
            - (number(before, "frames_captured") - number(before, "frames_unchanged"))
        #expect(published >= 5 && unchanged >= 10 * (published - 1) && unchanged <= 10 * (published + 1),
                "\(published) published, \(unchanged) unchanged")
        #expect(number(after, "capture_fps") >= 15 && number(after, "fps") < 6, "\(after ?? [:])")
        #expect(number(after, "drop_same_frames") == 10)

        let metrics = try httpExchange(port: camd.httpPort, "GET /metrics HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n")
        let counter = metrics.split(separator: "\n").first { $0.hasPrefix("camd_frames_unchanged_total ") }
        #expect((counter?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= unchanged, "\(counter ?? "no camd_frames_unchanged_total")")
        let status = try runCommand(Binaries.path("camctl"), ["status", "--socket", camd.controlSocket])
        #expect(status.status == 0 && status.stdout.contains("unchanged (not published)") && status.stdout.contains("captured (target 30"),
                "\(status)")

        // Off, live: every frame is sent again, on the same connection.
        let set = try runCommand(Binaries.path("camctl"), ["set", "drop_same_frames", "0", "--socket", camd.controlSocket])
        #expect(set.status == 0, "\(set)")
        var full: [ReceivedFrame] = []
        let deadline = Clock.monotonicNanos() + 20_000_000_000
        while Clock.monotonicNanos() < deadline {
            full.append(try viewer.readFrame())
            // The first frames may still be from before the change: judge the last 30.
            if full.count > 30 && receivedRate(Array(full.suffix(30))) > 10 { break }
        }
        #expect(receivedRate(Array(full.suffix(30))) > 10, "after drop_same_frames 0: \(receivedRate(Array(full.suffix(30)))) fps")
        #expect(camd.stop() == 0)
    }

    @Test func changingPicturesAreAllSentWhateverDropSameFramesSays() throws {
        let camd = try CamdProcess(["--fps", "30", "--drop-same-frames", "10", "--width", "320", "--height", "240"])
        defer { camd.stop() }
        let viewer = try NativeTestClient(port: camd.port, timeout: 15)
        _ = try viewer.readFrame()
        let frames = try (0..<30).map { _ in try viewer.readFrame() }
        // The test pattern draws its frame number and clock: no two frames are alike, so none is held back.
        #expect(receivedRate(frames) > 10, "test pattern sent at \(receivedRate(frames)) fps")
        let state = camd.state()
        #expect(number(state, "frames_unchanged") == 0, "\(state ?? [:])")
        #expect(number(state, "frames_captured") >= number(state, "sequence"))
        #expect(camd.stop() == 0)
    }
}
