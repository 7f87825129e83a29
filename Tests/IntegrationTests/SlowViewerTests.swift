// A slow viewer gets recent frames, not a backlog: latency stays near one frame's transfer time.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import Wire
import Testing
import TestSupport

extension CamdIntegrationTests {
    @Test func aSlowViewerReceivesRecentFramesNotABacklog() throws {
        let camd = try CamdProcess(["--fps", "30", "--width", "1280", "--height", "720", "--quality", "95"])
        let rate = 300_000.0   // bytes per second this viewer reads
        let receiveBuffer = 32768
        let client = try NativeTestClient(port: camd.port, receiveBuffer: receiveBuffer)
        var parser = NativeStreamParser(keepPayload: false)
        var chunk = [UInt8](repeating: 0, count: 4096)
        var latencies: [Double] = []
        var sizes: [Int] = []
        let start = Clock.monotonicNanos()
        var read = 0
        while Clock.monotonicNanos() - start < 6_000_000_000 {
            // Pace reads to `rate`.
            let due = start + UInt64(Double(read) / rate * 1e9)
            if Clock.monotonicNanos() < due { Clock.sleepUntilMonotonic(due) }
            let n = chunk.withUnsafeMutableBytes { recv(client.socket.number, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { Issue.record("recv returned \(n)"); break }
            read += n
            let now = Clock.realtimeNanos()
            let elapsed = Clock.monotonicNanos() - start
            try chunk.withUnsafeBytes { raw in
                try parser.consume(UnsafeRawBufferPointer(rebasing: raw[0..<n])) { header, _ in
                    if elapsed > 2_000_000_000 {
                        latencies.append(Double(now - header.timestampNanos) / 1e9)
                        sizes.append(Int(header.length))
                    }
                }
            }
        }
        try #require(latencies.count >= 5, "only \(latencies.count) frames in 4 s")
        let frame = Double(sizes.max() ?? 0)
        // Two frame intervals + this frame's transfer + what the viewer's own receive buffer holds.
        let bound = 2.0 / 30 + (frame + Double(receiveBuffer)) / rate + 0.05
        let sorted = latencies.sorted()
        let p50 = sorted[sorted.count / 2]
        #expect(p50 < bound, "slow viewer latency p50 \(p50) s, bound \(bound) s (frames ~\(Int(frame)) bytes)")
        #expect(camd.stop() == 0)
    }
}
