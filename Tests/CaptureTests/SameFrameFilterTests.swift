// SameFrameFilter: which pictures drop_same_frames holds back — identical ones, up to N in a row — and which it
// never does (changed ones, placeholders, anything with N = 0).
import Capture
import Testing

private func picture(_ bytes: [UInt8], placeholder: Bool = false) -> SourceFrame {
    SourceFrame(payload: bytes, width: 2, height: 2, isPlaceholder: placeholder)
}

struct SameFrameFilterTests {
    @Test func aNewPictureAndItsFirstRepeatGoOutThenNInARowAreDroppedThenOneGoesOut() {
        let filter = SameFrameFilter()
        filter.setLimit(3)
        let same = [UInt8](repeating: 7, count: 1000)
        var now: UInt64 = 1
        let verdicts = (0..<12).map { _ in
            now += 33_000_000
            // A copy each time: equal bytes, not the same buffer.
            return filter.admit(picture(Array(same)), now: now)
        }
        // The first repeat completes the new picture for browsers (its part ends at the next boundary).
        #expect(verdicts == [true, true, false, false, false, true, false, false, false, true, false, false])
        #expect(filter.account.unchanged == 8)
        #expect(filter.account.captureFPS > 29 && filter.account.captureFPS < 31, "\(filter.account.captureFPS)")
    }

    @Test func aPictureDifferingInOneByteTheSamplesMissIsStillSent() {
        let filter = SameFrameFilter()
        filter.setLimit(5)
        let a = [UInt8](repeating: 1, count: 6400)
        var b = a
        b[101] = 2 // not one of the 64 sampled positions (every 100th from the end)
        #expect(filter.admit(picture(a), now: 1))
        #expect(filter.admit(picture(b), now: 2), "a changed picture is published")
        #expect(filter.admit(picture(b), now: 3), "and its first repeat")
        #expect(!filter.admit(picture(b), now: 4))
        var shorter = b
        shorter.removeLast()
        #expect(filter.admit(picture(shorter), now: 5), "another length is another picture")
        #expect(filter.account.unchanged == 1)
    }

    @Test func placeholdersAreNeverDroppedAndOffMeansOff() {
        let filter = SameFrameFilter()
        let same: [UInt8] = [1, 2, 3]
        #expect((0..<5).allSatisfy { filter.admit(picture(same), now: UInt64($0 + 1)) }, "limit 0 drops nothing")
        filter.setLimit(100)
        #expect(filter.admit(picture(same), now: 10))
        #expect(filter.admit(picture(same), now: 11))
        #expect(!filter.admit(picture(same), now: 12))
        #expect((0..<5).allSatisfy { _ in filter.admit(picture(same, placeholder: true), now: 13) })
        // After NO SIGNAL the first live picture goes out even if it matches the one before.
        #expect(filter.admit(picture(same), now: 14))
        #expect(filter.admit(picture(same), now: 15))
        #expect(!filter.admit(picture(same), now: 16))
        filter.reset()
        #expect(filter.admit(picture(same), now: 17), "after reset (idle, restart) the next picture goes out")
        #expect(filter.account.unchanged == 2)
    }
}
