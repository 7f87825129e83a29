// camview's sources and outputs against the real camd: HTTP MJPEG as well as native, recordings that ffprobe
// counts and camd replays, reconnecting when camd restarts, no-signal frames, and HTTP access control.
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport

private func temporaryPath(_ suffix: String) -> String { NSTemporaryDirectory() + "camview-\(UUID().uuidString)\(suffix)" }

extension CamdIntegrationTests {
    @Test func camviewReadsHTTPMJPEGLikeTheNativeStream() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240", "--fps", "30"])
        for url in ["http://127.0.0.1:\(camd.httpPort)/stream", "http://127.0.0.1:\(camd.httpPort)/?action=stream"] {
            let counted = try runCamview([url, "--frames", "20"])
            #expect(counted.status == 0, "\(url): \(counted.stderr)")
            #expect(counted.stdout.contains("total: 20 frames") && counted.stdout.contains("dropped 0"), "\(counted.stdout)")
        }
        let stats = try runCamview(["http://127.0.0.1:\(camd.httpPort)", "--stats", "--duration", "2.5"])
        let lines = stats.stdout.split(separator: "\n").filter { $0.hasPrefix("320x240 fps ") }
        #expect(lines.count >= 2, "\(stats.stdout)")
        for line in lines.dropFirst() {
            let fps = Double(line.split(separator: " ")[2]) ?? 0
            #expect(fps > 25 && fps < 35, "\(line)")
            #expect(line.contains("latency p50"), "X-Timestamp gives the latency: \(line)")
        }

        let path = temporaryPath(".jpg")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let saved = try runCamview(["http://127.0.0.1:\(camd.httpPort)/stream", "--snapshot", path])
        #expect(saved.status == 0, "\(saved.stderr)")
        let decoded = try JPEGDecoder().decodeRGB([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(decoded.info == JPEGInfo(width: 320, height: 240))

        // The wrong protocol for the port is named, with the right URL to use.
        let native = try runCamview(["http://127.0.0.1:\(camd.port)", "--frames", "1"])
        #expect(native.status == 1 && native.stderr.contains("use tcp://127.0.0.1:\(camd.port)"), "\(native.stderr)")
        let missing = try runCamview(["http://127.0.0.1:\(camd.httpPort)/nothing", "--frames", "1"])
        #expect(missing.status == 1 && missing.stderr.contains("404 Not Found"), "\(missing.stderr)")
        #expect(camd.stop() == 0)
    }

    @Test func camviewWithAccessControlUsesTheTokenOrBasicAuthAndExplainsA401() throws {
        let hash = try #require(PasswordHash.make("s3cret"))
        let token = "0123456789abcdef0123"
        let config = temporaryPath(".toml")
        try "http_auth = \"admin:\(hash)\"\nhttp_token = \"\(token)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let camd = try CamdProcess(["--config", config, "--width", "320", "--height", "240"])
        let base = "http://127.0.0.1:\(camd.httpPort)/stream"
        let refused = try runCamview([base, "--frames", "1"])
        #expect(refused.status == 1 && refused.stderr.contains("401") && refused.stderr.contains("CAMVIEW_AUTH"), "\(refused.stderr)")
        let withToken = try runCamview([base + "?token=\(token)", "--frames", "5"])
        #expect(withToken.status == 0 && withToken.stdout.contains("total: 5 frames"), "\(withToken.stderr)")
        #expect(!withToken.stdout.contains(token) && !withToken.stderr.contains(token), "the token is not echoed")
        let withBasic = try runCamview([base, "--frames", "5"], environment: ["CAMVIEW_AUTH": "admin:s3cret"])
        #expect(withBasic.status == 0 && withBasic.stdout.contains("total: 5 frames"), "\(withBasic.stderr)")
        #expect(camd.stop() == 0)
    }

    @Test func camviewRecordsAnMJPEGFileThatFFprobeCountsAndCamdReplays() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240", "--fps", "30"])
        let recording = temporaryPath(".mjpeg")
        defer { try? FileManager.default.removeItem(atPath: recording) }
        let recorded = try runCamview(["tcp://127.0.0.1:\(camd.port)", "--stats", "--frames", "45",
                                                                  "--record", recording])
        #expect(recorded.status == 0, "\(recorded.stderr)")
        #expect(recorded.stdout.contains("recorded 45 frames"), "\(recorded.stdout)")
        #expect(camd.stop() == 0)

        if let ffprobe = which("ffprobe") {
            let probe = try runCommand(ffprobe, ["-v", "error", "-count_frames", "-show_entries",
                                                 "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", recording])
            #expect(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "mjpeg,320,240,45", "\(probe.stdout) \(probe.stderr)")
        }
        if let ffmpeg = which("ffmpeg") {
            let decode = try runCommand(ffmpeg, ["-v", "error", "-i", recording, "-f", "null", "-"])
            #expect(decode.status == 0 && decode.stderr.isEmpty, "every frame decodes: \(decode.stderr)")
        }

        // The recording is a camd source: replayed, it is 320×240 frames again.
        let replay = try CamdProcess(["--source", "file:\(recording)", "--fps", "30"])
        let snapshot = temporaryPath(".jpg")
        defer { try? FileManager.default.removeItem(atPath: snapshot) }
        let saved = try runCamview(["tcp://127.0.0.1:\(replay.port)", "--snapshot", snapshot])
        #expect(saved.status == 0, "\(saved.stderr)")
        let decoded = try JPEGDecoder().decodeRGB([UInt8](try Data(contentsOf: URL(fileURLWithPath: snapshot))))
        #expect(decoded.info == JPEGInfo(width: 320, height: 240))
        let replayed = try runCamview(["tcp://127.0.0.1:\(replay.port)", "--frames", "60"])
        #expect(replayed.stdout.contains("total: 60 frames") && replayed.stdout.contains("no-signal 0"), "\(replayed.stdout)")
        #expect(replay.log.contains("file:") && !replay.log.contains("skipped"), "\(replay.log)")
        #expect(replay.stop() == 0)
    }

    @Test func camviewKeepsRunningWhileCamdRestartsAndResumes() throws {
        let port = try freePort()
        var camd = try CamdProcess(["--listen", "127.0.0.1:\(port)", "--http-listen", "127.0.0.1:0"], listen: false)
        _ = try camd.waitForLog(containing: "native viewers", timeout: 10)
        let viewer = try BackgroundCamview(["127.0.0.1:\(port)", "--stats", "--duration", "30"])
        #expect(viewer.waitForOutput(containing: "640x480 fps", timeout: 10), "\(viewer.stdout)")
        #expect(camd.stop() == 0)
        #expect(viewer.waitForOutput(containing: "reconnecting… (attempt", timeout: 10), "\(viewer.stdout)")
        // A few failed attempts while nothing listens.
        #expect(viewer.waitForOutput(containing: "reconnecting… (attempt 3:", timeout: 10), "\(viewer.stdout)")
        #expect(viewer.process.isRunning, "camview waits for camd to come back")

        camd = try CamdProcess(["--listen", "127.0.0.1:\(port)", "--http-listen", "127.0.0.1:0"], listen: false)
        _ = try camd.waitForLog(containing: "native viewers", timeout: 10)
        #expect(viewer.waitForOutput(containing: "reconnected to tcp://127.0.0.1:\(port)", timeout: 10), "\(viewer.stdout)")
        let resumedAt = viewer.stdout.count
        #expect(viewer.waitForOutput(containing: "reconnects 1", after: resumedAt, timeout: 10), "frames again after the restart")
        kill(viewer.process.processIdentifier, SIGTERM)
        #expect(viewer.waitForExit(timeout: 5) == 0, "SIGTERM ends a stats run cleanly")
        #expect(viewer.stdout.contains("total: ") && viewer.stdout.contains("reconnects 1"), "\(viewer.stdout)")
        let attempts = viewer.stdout.split(separator: "\n").filter { $0.hasPrefix("reconnecting…") }
        #expect(attempts.count >= 2, "backoff retries: \(attempts)")
        #expect(camd.stop() == 0)
    }

    @Test func camviewShowsNoSignalFramesAsSuchAndLeavesThemOutOfARecording() throws {
        let camd = try CamdProcess(["--source", "v4l2:/dev/video99", "--width", "320", "--height", "240"])
        let recording = temporaryPath(".mjpeg")
        defer { try? FileManager.default.removeItem(atPath: recording) }
        let result = try runCamview(["tcp://127.0.0.1:\(camd.port)", "--stats", "--duration", "3.5",
                                                               "--record", recording])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("NO SIGNAL"), "\(result.stdout)")
        let total = result.stdout.split(separator: "\n").first { $0.hasPrefix("total:") }.map(String.init) ?? ""
        let noSignal = total.components(separatedBy: "no-signal ").last?.split(separator: ",").first.flatMap { Int($0) } ?? 0
        #expect(noSignal >= 2, "\(total)")
        #expect(result.stdout.contains("recorded 0 frames (0.0 MB) to \(recording), \(noSignal) no-signal frames left out"),
                "\(result.stdout)")
        #expect(camd.stop() == 0)
    }
}
