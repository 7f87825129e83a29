// EventCounter: an eventfd that one thread bumps to wake another thread waiting in poll on it.
#if canImport(Glibc)
import Glibc
#endif
internal import CCamdLinux

/// Owns one non-blocking eventfd, closed in deinit. Sendable: signalling and draining are single syscalls on a
/// descriptor that stays open for the counter's whole life.
public final class EventCounter: Sendable {
    /// For a poll set only; the counter keeps ownership.
    public let fd: Int32

    public init() throws(SystemError) {
        fd = try syscall("eventfd") { ccamd_eventfd() }
    }

    deinit { _ = Glibc.close(fd) }

    /// Makes the descriptor readable. Never blocks: EAGAIN means the counter is already non-zero, and the waiter
    /// wakes anyway.
    public func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(fd, &one, 8)
    }

    /// Resets the counter, so the descriptor is readable again only after the next `signal`.
    public func drain() {
        var counter: UInt64 = 0
        _ = Glibc.read(fd, &counter, 8)
    }
}
