// KeyframePolicy: a joining viewer forces an IDR only when none is due within 0.5 s, at most once a second.
import H264
import Testing

struct KeyframePolicyTests {
    static let second: UInt64 = 1_000_000_000

    /// `viewerJoined` outside #expect, which cannot call a mutating method.
    func join(_ policy: inout KeyframePolicy, at nowNanos: UInt64) -> Bool { policy.viewerJoined(nowNanos: nowNanos) }

    /// gop 30 at 30 fps, after `frames` pictures (the first an IDR).
    func policy(after frames: Int, gop: Int = 30, fps: Double = 30) -> KeyframePolicy {
        var policy = KeyframePolicy(gop: gop, fps: fps)
        for index in 0..<frames { policy.encoded(isKeyframe: index % gop == 0) }
        return policy
    }

    @Test func beforeTheFirstFrameNothingIsForced() {
        var policy = KeyframePolicy(gop: 30, fps: 30)
        #expect(policy.nanosUntilScheduledKeyframe == nil)
        #expect(!join(&policy, at: 5 * Self.second))
    }

    @Test func joiningEarlyInTheGOPForces() {
        var policy = policy(after: 3)   // frames 0 (IDR), 1, 2: the next IDR is 27 frames (0.9 s) away
        #expect(policy.framesSinceKeyframe == 2)
        #expect(policy.nanosUntilScheduledKeyframe == 900_000_000)
        #expect(join(&policy, at: 10 * Self.second))
        #expect(policy.lastForcedNanos == 10 * Self.second)
    }

    @Test func joiningWhenAnIDRIsDueWithinHalfASecondWaits() {
        var policy = policy(after: 16)  // 15 frames since the IDR: the next is 14 frames (0.467 s) away
        #expect(!join(&policy, at: 10 * Self.second))
        var earlier = self.policy(after: 14) // 16 frames (0.533 s) away
        #expect(join(&earlier, at: 10 * Self.second))
    }

    @Test func forcedIDRsAreAtMostOneASecond() {
        var policy = policy(after: 3)
        #expect(join(&policy, at: 10 * Self.second))
        policy.encoded(isKeyframe: true)   // the forced IDR
        for _ in 0..<3 { policy.encoded(isKeyframe: false) }
        #expect(!join(&policy, at: 10 * Self.second + 500_000_000))
        #expect(!join(&policy, at: 11 * Self.second - 1))
        #expect(join(&policy, at: 11 * Self.second))
    }

    @Test func aKeyframeRestartsTheCount() {
        var policy = policy(after: 20)
        policy.encoded(isKeyframe: true)
        #expect(policy.framesSinceKeyframe == 0)
        #expect(policy.nanosUntilScheduledKeyframe == UInt64(29.0 / 30 * 1e9))
    }

    @Test func aGOPOfOneNeverForces() {
        var policy = policy(after: 5, gop: 1)
        #expect(policy.nanosUntilScheduledKeyframe == 0)
        #expect(!join(&policy, at: Self.second))
    }

    @Test func aClockThatStepsBackDoesNotBlockForever() {
        var policy = policy(after: 3)
        #expect(join(&policy, at: 100 * Self.second))
        for _ in 0..<3 { policy.encoded(isKeyframe: false) }
        #expect(join(&policy, at: 50 * Self.second))
    }
}
