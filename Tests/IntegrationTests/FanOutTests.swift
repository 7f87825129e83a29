// The built camd, real sockets: many viewers, a viewer that never reads, max_clients, garbage, SIGTERM, memory.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport

/// Integration tests run one at a time: each starts its own camd, and they measure frame rates.
@Suite(.serialized) struct CamdIntegrationTests {}

extension CamdIntegrationTests {
    @Test func fiftyViewersAllReceiveValidJPEGsWithStrictlyIncreasingSequences() throws {
        let camd = try CamdProcess(["--fps", "30"])
        let results = runViewers(count: 50, port: camd.port, seconds: 3)
        for (index, result) in results.enumerated() {
            #expect(result.error == nil, "viewer \(index): \(result.error ?? "")")
            #expect(result.allJPEG, "viewer \(index) got a payload that is not SOI…EOI")
            #expect(result.strictlyIncreasing, "viewer \(index) sequences: \(result.sequences.prefix(20))")
            // The rate is a debug camd's on 2 cores; under a sanitizer (2–15× slower, scripts/sanitize.sh) frames must flow.
            #expect(result.windowFrames >= (Sanitizer.running ? 1 : 75), "viewer \(index) got \(result.windowFrames) frames in 3 s at 30 fps")
        }
        let decoder = try JPEGDecoder()
        for result in results.prefix(5) {
            let decoded = try decoder.decodeRGB(result.firstPayload)
            #expect(decoded.info == JPEGInfo(width: 640, height: 480))
        }
        #expect(camd.stop() == 0)
    }

    @Test func aViewerThatNeverReadsDoesNotSlowTheOthersAndIsDisconnectedAfterTheTimeout() throws {
        let camd = try CamdProcess(["--fps", "30", "--client-timeout", "3", "--width", "1280", "--height", "720"])
        let stalled = try NativeTestClient(port: camd.port, receiveBuffer: 4096)
        // While the stalled viewer is connected (it times out after 3 s), five others must keep ≥ 90 %.
        let results = runViewers(count: 5, port: camd.port, seconds: 2.5, warmup: 0.3)
        for result in results {
            #expect(result.error == nil)
            let fps = Double(result.windowFrames) / 2.5
            // Under a sanitizer (scripts/sanitize.sh) the normal viewers must keep receiving, not keep this rate.
            #expect(fps >= (Sanitizer.running ? 0.4 : 27), "a normal viewer fell to \(fps) fps while a stalled one was connected")
        }
        let timedOut = try camd.waitForLog(containing: "timeout: accepted no data for ", timeout: 6)
        #expect(timedOut != nil, "camd log:\n\(camd.log)")
        #expect(stalled.drainUntilClosed(timeout: 5), "camd did not close the stalled viewer")
        #expect(camd.stop() == 0)
    }

    @Test func connectionsBeyondMaxClientsAreRefusedWhileTheOthersContinue() throws {
        let camd = try CamdProcess(["--max-clients", "3"])
        let viewers = try (0..<3).map { _ in try NativeTestClient(port: camd.port) }
        for viewer in viewers { _ = try viewer.readFrame() }
        let extra = try NativeTestClient(port: camd.port)
        #expect(throws: (any Error).self, "the fourth viewer must get no frame") { try extra.readFrame() }
        #expect(try camd.waitForLog(containing: "max_clients (3) reached", timeout: 2) != nil)
        for viewer in viewers {
            var last = try viewer.readFrame().header.sequence
            for _ in 0..<10 {
                let next = try viewer.readFrame().header.sequence
                #expect(next > last)
                last = next
            }
        }
        #expect(camd.stop() == 0)
    }

    @Test func garbageAndResetsFromSomeViewersDoNotDisturbTheOthers() throws {
        let camd = try CamdProcess(["--fps", "30"])
        // The noisy thread is waited for below: it must not outlive this test and send garbage to the next one's camd.
        let noisyDone = DispatchSemaphore(value: 0)
        let noisy = Thread {
            defer { noisyDone.signal() }
            for round in 0..<20 {
                guard let client = try? NativeTestClient(port: camd.port) else { continue }
                // 64 KiB of random bytes, 8 at a time, from the default generator. A SystemRandomNumberGenerator on the
                // stack passed `using: &` is miscompiled under ThreadSanitizer on Linux (swiftlang/swift#66099); the
                // sanitized test runner crashed inside TSan while this thread ran, in 2 of 3 runs. A byte at a time also
                // took seconds per round there, so the thread outlived the test.
                let garbage = (0..<8192).flatMap { _ in withUnsafeBytes(of: UInt64.random(in: .min ... .max)) { Array($0) } }
                try? client.send(Array("GET /stream HTTP/1.1\r\nHost: x\r\n".utf8) + garbage)
                if round % 2 == 0 {
                    // Reset instead of a clean close.
                    var linger = linger(l_onoff: 1, l_linger: 0)
                    setsockopt(client.socket.number, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
                }
                client.close()
                usleep(50_000)
            }
        }
        noisy.start()
        let results = runViewers(count: 5, port: camd.port, seconds: 2.5, warmup: 0.3)
        #expect(noisyDone.wait(timeout: .now() + 30) == .success, "the noisy viewers did not finish")
        for result in results {
            #expect(result.error == nil)
            #expect(result.strictlyIncreasing)
            let fps = Double(result.windowFrames) / 2.5
            // Under a sanitizer (scripts/sanitize.sh) the viewers must keep receiving, not keep this rate.
            #expect(fps >= (Sanitizer.running ? 0.4 : 27), "a viewer fell to \(fps) fps while others sent garbage")
        }
        #expect(camd.process.isRunning)
        #expect(camd.stop() == 0)
    }

    @Test func sigtermExitsZeroPromptlyWithViewersConnected() throws {
        let camd = try CamdProcess([])
        let viewers = try (0..<10).map { _ in try NativeTestClient(port: camd.port) }
        for viewer in viewers { _ = try viewer.readFrame() }
        let start = Date()
        let status = camd.stop(timeout: 3)
        #expect(status == 0)
        #expect(Date().timeIntervalSince(start) < 2, "camd took \(Date().timeIntervalSince(start)) s to stop")
        for viewer in viewers { #expect(viewer.drainUntilClosed(timeout: 2)) }
        #expect(camd.log.contains("received SIGTERM; stopping with 10 viewers connected"))
    }

    @Test(.enabled(if: which("prlimit") != nil, "needs prlimit (util-linux)"))
    func runningOutOfDescriptorsPausesAcceptingWithoutSpinning() throws {
        // 48 descriptors: about 38 viewers fit; the rest wait in the listen backlog.
        let camd = try CamdProcess(["--fps", "30"], wrapper: [which("prlimit")!, "--nofile=48"])
        var viewers: [NativeTestClient] = []
        for _ in 0..<60 { viewers.append(try NativeTestClient(port: camd.port, timeout: 1)) }
        #expect(try camd.waitForLog(containing: "pausing new viewers", timeout: 3) != nil, "\(camd.log)")
        let cpuBefore = camd.cpuSeconds
        usleep(2_000_000)
        let cpuUsed = camd.cpuSeconds - cpuBefore
        // A spinning camd burns a whole core (about 2 s here). A sanitized one (scripts/sanitize.sh) spends several times a
        // debug build's CPU on its 30 frames a second alone: 0.6 s was measured under TSan, so there the bound is 1.5 s.
        #expect(cpuUsed < (Sanitizer.running ? 1.5 : 0.6), "camd used \(cpuUsed) s of CPU in 2 s while out of descriptors: spinning?")
        // The first viewers are served throughout; the last ones are still waiting.
        for viewer in viewers.prefix(5) { _ = try viewer.readFrame(); _ = try viewer.readFrame() }
        #expect(throws: (any Error).self) { _ = try viewers.last!.readFrame() }
        // Free descriptors: waiting viewers are accepted and served.
        for viewer in viewers.prefix(30) { viewer.close() }
        try Socket.setReceiveTimeout(viewers.last!.socket, seconds: 3)
        let late = try viewers.last!.readFrame()
        #expect(late.isJPEG)
        #expect(camd.stop() == 0)
    }

    // ASan keeps freed memory in quarantine (256 MB by default) to catch use after free, so a sanitized camd's RSS
    // grows by design while viewers come and go (300 MB measured); the leak check covers the same ground there.
    @Test(.disabled(if: Sanitizer.active == "address", "ASan's quarantine holds freed memory: RSS grows by design"))
    func residentMemoryDoesNotGrowWhileViewersComeAndGo() throws {
        let camd = try CamdProcess(["--fps", "30"])
        func churn(seconds: Double) throws {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                let batch = try (0..<20).map { _ in try NativeTestClient(port: camd.port) }
                for viewer in batch { _ = try viewer.readFrame(); _ = try viewer.readFrame() }
                for viewer in batch { viewer.close() }
            }
        }
        try churn(seconds: 5)
        let baseline = camd.residentKiB
        try churn(seconds: 25)
        let final = camd.residentKiB
        print("camd RSS after 5 s of churn: \(baseline) KiB; after 25 s more: \(final) KiB")
        #expect(baseline > 0 && final > 0)
        #expect(final - baseline < 1536, "RSS grew from \(baseline) KiB to \(final) KiB over 25 s of churn")
        // Counted by camd, not from the log: beyond a few a second connects are summed up there.
        let accepted = camd.state()?["clients_accepted"] as? Int ?? 0
        #expect(accepted > 200, "only \(accepted) connections in 30 s")
        #expect(camd.stop() == 0)
    }
}
