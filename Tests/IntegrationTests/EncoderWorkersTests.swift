// Encoder workers against the real camd on the fake camera: 720p60 YUYV encoded by two workers reaches a native
// viewer in increasing sequence order, every frame decodes to the camera's bars, and /state and /metrics account
// for the workers, their input drops and the capture-to-publish latency.
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport

extension CamdIntegrationTests {
    @Test func twoEncoderWorkersDeliver720p60InCaptureOrderAndEveryFrameDecodes() throws {
        let camera = try FakeCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--format", "yuyv", "--width", "1280", "--height", "720",
                                    "--fps", "60", "--encode-workers", "2"],
                                   environment: camera.environment(["FAKE_V4L2_MODE": "1280x720@60"]))
        let client = try NativeTestClient(port: camd.port)
        let frames = try (0..<120).map { _ in try client.readFrame() }
        #expect(camd.log.contains("1280x720 YUYV 60 fps, encoded at quality 80"), "\(camd.log)")
        let sequences = frames.map(\.header.sequence)
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 }, "sequences out of order: \(sequences)")
        let timestamps = frames.map(\.header.timestampNanos)
        #expect(zip(timestamps, timestamps.dropFirst()).allSatisfy { $0 < $1 }, "capture timestamps out of order")
        let decoder = try JPEGDecoder()
        // Four bars: white, red, green, blue — in every frame, whichever worker encoded it.
        let bars: [(Int, Int, Int)] = [(235, 235, 235), (235, 16, 16), (16, 235, 16), (16, 16, 235)]
        for frame in frames {
            #expect(!frame.header.isPlaceholder)
            let decoded = try decoder.decodeRGB(frame.payload)
            #expect(decoded.info == JPEGInfo(width: 1280, height: 720))
            for (index, colour) in bars.enumerated() {
                let i = (360 * 1280 + index * 320 + 160) * 3
                let pixel = (Int(decoded.rgb[i]), Int(decoded.rgb[i + 1]), Int(decoded.rgb[i + 2]))
                #expect(abs(pixel.0 - colour.0) <= 28 && abs(pixel.1 - colour.1) <= 28 && abs(pixel.2 - colour.2) <= 28,
                        "frame \(frame.header.sequence) bar \(index): \(pixel)")
            }
        }
        // Every sequence number the ring skipped is a picture dropped at the encoders' input or by this viewer:
        // the ring itself never goes backwards (it would stop camd).
        var state: [String: Any] = [:]
        #expect(waitUntil(timeout: 10) {
            state = camd.state() ?? [:]
            return (state["capture_latency_p50_ms"] as? Double) != nil
        }, "\(state)")
        #expect(state["encode_workers"] as? Int == 2, "\(state)")
        let p50 = state["capture_latency_p50_ms"] as? Double ?? 0, p99 = state["capture_latency_p99_ms"] as? Double ?? 0
        #expect(p50 > 0 && p50 <= p99, "capture latency p50 \(p50) ms, p99 \(p99) ms")
        #expect(p99 < 1000, "a frame took \(p99) ms from capture to publish")
        let dropped = state["frames_encoder_dropped"] as? Int ?? -1
        let captured = state["frames_captured"] as? Int ?? 0
        #expect(dropped >= 0 && captured >= 120, "\(state)")
        #expect(state["frames_encode_failed"] as? Int == 0, "\(state)")
        let metrics = try httpExchange(port: camd.httpPort, "GET /metrics HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n")
        #expect(metrics.contains("\ncamd_encode_workers 2\n"), "\(metrics.prefix(4000))")
        #expect(metrics.contains("\ncamd_encoder_dropped_total "))
        let count = metrics.split(separator: "\n").first { $0.hasPrefix("camd_capture_latency_seconds_count ") }
            .flatMap { Double($0.split(separator: " ")[1]) } ?? 0
        #expect(count >= 120, "camd_capture_latency_seconds_count \(count)")
        #expect(camd.stop() == 0)
    }

    @Test func aReloadChangingEncodeWorkersRestartsTheCaptureAndTheViewerGoesOnInOrder() throws {
        let camera = try FakeCamera()
        let http = try freePort()
        let path = NSTemporaryDirectory() + "workers-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        func write(workers: Int) throws {
            try ("source = \"v4l2:\(camera.device)\"\nformat = \"yuyv\"\nhttp_listen = \"127.0.0.1:\(http)\"\nencode_workers = \(workers)\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write(workers: 1)
        let camd = try CamdProcess(["--config", path], environment: camera.environment())
        let client = try NativeTestClient(port: camd.port)
        var sequences = try (0..<10).map { _ in try client.readFrame().header.sequence }
        #expect(camd.state()?["encode_workers"] as? Int == 1)
        try write(workers: 3)
        kill(camd.pid, SIGHUP)
        let applied = try #require(try camd.waitForLog(containing: "reload (SIGHUP):", timeout: 5), "\(camd.log)")
        #expect(applied.contains("capture restarted"), "\(applied)")
        #expect(waitUntil(timeout: 10) { camd.state()?["encode_workers"] as? Int == 3 }, "\(camd.state() ?? [:])")
        // The same viewer, on the same socket, goes on receiving decodable frames, numbered on from before.
        let decoder = try JPEGDecoder()
        for _ in 0..<10 {
            let frame = try client.readFrame()
            sequences.append(frame.header.sequence)
            if !frame.header.isPlaceholder { #expect(try decoder.info(frame.payload) == JPEGInfo(width: 640, height: 480)) }
        }
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 }, "sequences: \(sequences)")
        #expect(camd.log.components(separatedBy: "capture: ").count == 1, "no capture error was logged: \(camd.log)")
        #expect(camd.stop() == 0)
    }

    @Test func aQualitySetLiveReachesEveryEncoderWorker() throws {
        let camera = try FakeCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--format", "yuyv", "--quality", "95", "--encode-workers", "2"],
                                   environment: camera.environment())
        let client = try NativeTestClient(port: camd.port)
        let before = try (0..<6).map { _ in try client.readFrame().payload.count }
        let set = try runCommand(Binaries.path("camctl"), ["set", "quality", "10", "--socket", camd.controlSocket])
        #expect(set.status == 0, "\(set.stdout) \(set.stderr)")
        // The camera's picture never changes, so a quality gives one JPEG size. Once the new quality has come through,
        // every later frame — whichever worker encoded it — has the new, smaller size.
        var after: [Int] = []
        #expect(waitUntil(timeout: 10) {
            guard let frame = try? client.readFrame() else { return false }
            after.append(frame.payload.count)
            let last = after.suffix(6)
            return last.count == 6 && Set(last).count == 1 && last.first! < before.min()!
        }, "sizes at quality 95: \(before), then: \(after.prefix(20))")
        #expect(Set(before).count == 1, "at one quality every frame is the same size: \(before)")
        #expect(camd.stop() == 0)
    }

    @Test func encodeWorkersAutoIsTheOnlineCPUsUpToFourAndBadValuesExit78() throws {
        let camera = try FakeCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--format", "yuyv"], environment: camera.environment())
        var state: [String: Any] = [:]
        #expect(waitUntil(timeout: 10) {
            state = camd.state() ?? [:]
            return (state["frames_captured"] as? Int ?? 0) > 0
        }, "\(state)")
        let cpus = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #expect(state["encode_workers"] as? Int == min(max(cpus, 1), 4), "\(state)")
        #expect(camd.stop() == 0)
        for (value, shown) in [("0", "0"), ("17", "17"), ("many", "\"many\""), ("1.5", "1.5")] {
            let result = try runCommand(Binaries.path("camd"), ["--encode-workers", value], timeout: 10)
            #expect(result.status == 78, "--encode-workers \(value) exited \(result.status): \(result.stderr)")
            #expect(result.stderr == "camd: config error: encode_workers = \(shown): must be \"auto\" or an integer from 1 to 16\n",
                    "\(result.stderr)")
        }
    }
}
