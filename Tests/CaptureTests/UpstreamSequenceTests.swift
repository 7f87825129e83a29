// The sequence numbers a relay publishes: the upstream's while they increase, never backwards when it restarts.
import Capture
import Testing

struct UpstreamSequenceTests {
    @Test func upstreamNumbersKeptThenShiftedAfterARestart() {
        var numbers = UpstreamSequence()
        var last: UInt64 = 0
        var published: [UInt64] = []
        // Box frames 100, 101, 103 (102 skipped), two NO SIGNAL pictures of the relay, the box back at 250, then
        // restarted: 1, 2, 4.
        for upstream in [100, 101, 103, nil, nil, 250, 1, 2, 4] as [UInt64?] {
            last = numbers.next(for: upstream, after: last)
            published.append(last)
        }
        #expect(published == [100, 101, 103, 104, 105, 250, 251, 252, 254])
        #expect(numbers.offset == 250)
    }

    @Test func ownPicturesCountOnAndHugeUpstreamNumbersDoNotOverflow() {
        var numbers = UpstreamSequence()
        #expect(numbers.next(for: nil, after: 7) == 8)
        #expect(numbers.next(for: UInt64.max, after: 8) == UInt64.max)
        #expect(numbers.next(for: 3, after: 10) == 11 && numbers.offset == 8)
        #expect(numbers.next(for: UInt64.max - 1, after: 11) == 12, "an overflowing shift counts on from the last")
    }
}
