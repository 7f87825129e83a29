// FrameRing invariants: latest wins, one copy of each frame, references released.
import Frames
import Testing

func makeFrame(_ sequence: UInt64, size: Int = 1000) -> Frame {
    Frame(sequence: sequence, timestampNanos: sequence * 1_000_000, width: 64, height: 48,
          payload: [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: size))
}

struct FrameRingTests {
    @Test func emptyRingHasNoLatestFrame() {
        let ring = FrameRing(capacity: 4)
        #expect(ring.latest == nil)
        #expect(ring.publishedCount == 0)
    }

    @Test func latestIsAlwaysTheNewestPublishedFrame() {
        let ring = FrameRing(capacity: 4)
        for sequence in 1...10 as ClosedRange<UInt64> {
            ring.publish(makeFrame(sequence))
            #expect(ring.latest?.sequence == sequence)
        }
        #expect(ring.publishedCount == 10)
        #expect(ring.retained.map(\.sequence) == [10, 9, 8, 7])
    }

    @Test func readersShareOneCopyOfTheFrameBytes() {
        let ring = FrameRing(capacity: 3)
        let frame = makeFrame(1, size: 100_000)
        ring.publish(frame)
        let a = ring.latest!, b = ring.latest!
        #expect(a === frame && b === frame)
        let addressA = a.payload.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let addressB = b.payload.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let original = frame.payload.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        #expect(addressA == original && addressB == original)
    }

    @Test func framesAreReleasedOnceTheRingAndAllHoldersDropThem() {
        let ring = FrameRing(capacity: 2)
        weak var first: Frame?
        weak var held: Frame?
        var holder: Frame?
        do {
            let frame = makeFrame(1)
            first = frame
            ring.publish(frame)
            let second = makeFrame(2)
            held = second
            ring.publish(second)
            holder = second
        }
        #expect(first != nil)
        ring.publish(makeFrame(3))   // evicts 1
        #expect(first == nil, "the ring released the evicted frame")
        ring.publish(makeFrame(4))   // evicts 2, but a subscriber still holds it
        #expect(held != nil)
        #expect(holder?.sequence == 2)
        holder = nil
        #expect(held == nil, "the last holder released it")
    }

    @Test func memoryIsBoundedByCapacityWhateverIsPublished() {
        let ring = FrameRing(capacity: 4)
        var weakFrames: [() -> Frame?] = []
        for sequence in 1...100 as ClosedRange<UInt64> {
            let frame = makeFrame(sequence)
            weak let w = frame
            weakFrames.append { w }
            ring.publish(frame)
        }
        #expect(weakFrames.compactMap { $0() }.count == 4)
    }

    @Test func concurrentReaderNeverSeesTimeGoBackwards() async {
        let ring = FrameRing(capacity: 4)
        let count: UInt64 = 20_000
        async let writer: Void = {
            for sequence in 1...count { ring.publish(makeFrame(sequence, size: 16)) }
        }()
        async let reader: Bool = {
            var last: UInt64 = 0
            var monotonic = true
            while last < count {
                if let frame = ring.latest {
                    if frame.sequence < last { monotonic = false }
                    last = frame.sequence
                }
            }
            return monotonic
        }()
        _ = await writer
        #expect(await reader)
    }
}
