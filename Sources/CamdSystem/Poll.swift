// Poll: waiting for a few descriptors at once, for the threads that are not a reactor (camview's reader and
// display, the capture thread's camera, a writer waiting for room).
#if canImport(Glibc)
import Glibc
#endif

/// What a descriptor is ready for (poll's events and revents).
public struct PollEvents: OptionSet, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    public static let readable = PollEvents(rawValue: Int16(POLLIN))
    public static let writable = PollEvents(rawValue: Int16(POLLOUT))
    /// Priority data: for a V4L2 device, a pending event (VIDIOC_DQEVENT).
    public static let priority = PollEvents(rawValue: Int16(POLLPRI))
    /// The next three are reported whether asked for or not.
    public static let error = PollEvents(rawValue: Int16(POLLERR))
    public static let hangup = PollEvents(rawValue: Int16(POLLHUP))
    /// The descriptor is not open.
    public static let invalid = PollEvents(rawValue: Int16(POLLNVAL))
}

public enum Poll {
    /// Waits until one of `descriptors` is ready for what it asks, or `timeoutMilliseconds` pass (negative: no
    /// limit). Returns what each descriptor is ready for, in the order given, or nil when the time ran out.
    /// A negative fd is ignored (poll(2)), so a caller can leave a slot empty. EINTR waits again for the time left.
    public static func wait(_ descriptors: [(fd: Int32, events: PollEvents)],
                            timeoutMilliseconds: Int32) throws(SystemError) -> [PollEvents]? {
        var fds = descriptors.map { pollfd(fd: $0.fd, events: $0.events.rawValue, revents: 0) }
        let start = timeoutMilliseconds > 0 ? Clock.monotonicNanos() : 0
        func remaining() -> Int32 {
            guard timeoutMilliseconds > 0 else { return timeoutMilliseconds }
            let elapsed = (Clock.monotonicNanos() - start) / 1_000_000
            return elapsed >= UInt64(timeoutMilliseconds) ? 0 : timeoutMilliseconds - Int32(elapsed)
        }
        let ready = try syscall("poll") { Glibc.poll(&fds, nfds_t(fds.count), remaining()) }
        return ready == 0 ? nil : fds.map { PollEvents(rawValue: $0.revents) }
    }

    /// One descriptor: what it is ready for, or nil when `timeoutMilliseconds` passed first.
    public static func wait(_ fd: Int32, for events: PollEvents, timeoutMilliseconds: Int32) throws(SystemError) -> PollEvents? {
        try wait([(fd, events)], timeoutMilliseconds: timeoutMilliseconds)?[0]
    }
}
