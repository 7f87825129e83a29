// LockedValue: exclusive access across threads, and values returned from under the lock.
import Locking
import Testing

struct LockedValueTests {
    /// Two threads adding under the lock lose no increment. Under scripts/sanitize.sh thread this also pins that
    /// ThreadSanitizer sees the lock (Synchronization.Mutex's contended path it does not; see LockedValue.swift).
    @Test func contendedIncrementsAreNeitherLostNorReportedAsRaces() async {
        let counter = LockedValue(0)
        let perTask = 20_000
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask { for _ in 0..<perTask { counter.withLock { $0 += 1 } } }
            }
        }
        #expect(counter.withLock { $0 } == 2 * perTask)
    }

    @Test func withLockReturnsWhatTheBodyReturnsAndKeepsItsChanges() {
        let names = LockedValue(["a"])
        let count = names.withLock { names -> Int in
            names.append("b")
            return names.count
        }
        #expect(count == 2)
        #expect(names.withLock { $0 } == ["a", "b"])
    }
}
