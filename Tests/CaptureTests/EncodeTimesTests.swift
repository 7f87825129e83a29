// EncodeTimes: each encode lands in the first bucket whose bound holds it; sum and count include every one.
import Capture
import Testing

struct EncodeTimesTests {
    @Test func encodesFallInTheirBucketsAndTheSlowestOnlyInTheCount() {
        var times = EncodeTimes()
        times.record(nanos: 400_000)        // 0.4 ms ≤ 0.5 ms
        times.record(nanos: 1_000_000)      // exactly 1 ms: the 1 ms bucket (le is inclusive)
        times.record(nanos: 30_000_000)     // 30 ms ≤ 50 ms
        times.record(nanos: 3_000_000_000)  // 3 s: over every bound
        let bounds = EncodeTimes.upperBounds
        #expect(times.counts[bounds.firstIndex(of: 0.0005)!] == 1)
        #expect(times.counts[bounds.firstIndex(of: 0.001)!] == 1)
        #expect(times.counts[bounds.firstIndex(of: 0.05)!] == 1)
        #expect(times.counts.reduce(0, +) == 3 && times.count == 4)
        #expect(abs(times.sumSeconds - 3.0314) < 1e-9)
        #expect(bounds == bounds.sorted() && bounds.first! <= 0.001 && bounds.last! >= 0.25)
    }

    @Test func theTestPatternTimesItsEncodes() throws {
        let source = try TestPatternSource(width: 320, height: 240, fps: 10, quality: 80)
        let frame = try #require(try source.nextFrame(index: 0, timestampNanos: 1))
        #expect((frame.encodeNanos ?? 0) > 0)
    }
}
