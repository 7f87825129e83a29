// Waiting: how tests wait for something to become true — the condition polled against a deadline, never a
// sleep that hopes the other side is done by then.
import CamdSystem
#if canImport(Glibc)
import Glibc
#endif

/// Checks `condition` every `interval` seconds until it holds or `timeout` seconds have passed; true if it held.
/// The condition is checked once more at the deadline, so a slow machine never fails a wait that was just met.
/// Give a generous timeout (a passing wait returns as soon as the condition holds) and report the false result
/// with what was seen: `#expect(waitUntil(timeout: 10) { … }, "\(log)")`.
public func waitUntil(timeout: Double, interval: Double = 0.02, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Clock.monotonicNanos() + UInt64(timeout * 1e9)
    while true {
        if try condition() { return true }
        if Clock.monotonicNanos() >= deadline { return false }
        usleep(UInt32(interval * 1e6))
    }
}
